"""``POST /api/upload/image``: a picture checked by content, stored under a name we choose, optionally
attached to a workspace (other clients get ``workspace.updated``)."""

from __future__ import annotations

import asyncio

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import require_visible, visible
from app.auth import record_owner
from app.errors import AppError
from app.media import StoredImage
from app.runtime import Runtime, runtime_of
from protocol import codes
from protocol.fields import OBJECT_ID_RE, PROJECT_RE
from protocol.outbound import Workspace

_MULTIPART_OVERHEAD = 64 * 1024


def _too_large(limit: int) -> AppError:
    return AppError("payload_too_large", f"the upload is larger than {limit} bytes (MAX_UPLOAD_BYTES)")


async def upload_image(request: Request) -> Response:
    runtime = runtime_of(request)
    limit = runtime.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise _too_large(limit)
    try:
        async with request.form(max_files=2, max_fields=10, max_part_size=limit + 1) as form:
            upload = form.get("image") or form.get("file")
            if not isinstance(upload, UploadFile):
                raise AppError(codes.INVALID_MESSAGE, "no file: send it in the form field 'image' (or 'file')")
            data = await upload.read(limit + 1)
            workspace_id = form.get("workspace_id")
            project = form.get("project")
    except AppError:
        raise
    except Exception as exc:
        raise AppError(codes.INVALID_MESSAGE, "the body must be multipart/form-data with an image file") from exc
    if len(data) > limit:
        raise _too_large(limit)
    if workspace_id is not None and (not isinstance(workspace_id, str) or not OBJECT_ID_RE.match(workspace_id)):
        raise AppError(codes.NOT_FOUND, "workspace_id: no such workspace")
    if project is not None and (not isinstance(project, str) or not PROJECT_RE.match(project)):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    workspace = None
    # only into projects the token names (else 404, as if absent); the file is recorded as the
    # upload's project's, else the workspace's, else default's
    if project is not None and not visible(request, project):
        raise AppError(codes.NOT_FOUND, f"project {project} does not exist")
    if workspace_id:
        workspace = await runtime.workspaces.get(project, workspace_id)  # 404 before anything is stored
        require_visible(request, workspace.project, workspace.id)
    stored = await asyncio.to_thread(runtime.media.save_upload, data)
    await record_owner(runtime, stored.image_path, project or (workspace.project if workspace else "default"))
    return await attach_and_answer(runtime, stored, workspace)


async def attach_and_answer(runtime: Runtime, stored: StoredImage, workspace: Workspace | None) -> Response:
    """The answer of an upload (this route's, and ``POST /api/upload/commit``'s), after attaching it to the
    workspace when there is one (other clients get ``workspace.updated``)."""
    if workspace is not None:
        await runtime.workspaces.update(
            workspace.project, workspace.id, {"image_path": stored.image_path, "image_url": stored.image_url}
        )
    body = {
        "image_path": stored.image_path,
        "image_url": stored.image_url,
        "content_type": stored.content_type,
        "width": stored.width,
        "height": stored.height,
        "size": stored.size,
    }
    return JSONResponse(body, status_code=201)
