"""``POST /api/upload/image``: a picture checked by content, stored under a name we choose, optionally
attached to a workspace (other clients get ``workspace.updated``)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import require_visible, visible
from app.api.multipart import form_project, read_upload
from app.auth import record_owner
from app.errors import AppError
from app.media import StoredImage
from app.runtime import Runtime, runtime_of
from protocol import codes
from protocol.fields import OBJECT_ID_RE
from protocol.outbound import Workspace


async def upload_image(request: Request) -> Response:
    runtime = runtime_of(request)
    data, form = await read_upload(
        request, "image", "an image file", runtime.settings.max_upload_bytes, ("workspace_id", "project")
    )
    workspace_id, project = form["workspace_id"], form_project(form["project"])
    if workspace_id is not None and (not isinstance(workspace_id, str) or not OBJECT_ID_RE.match(workspace_id)):
        raise AppError(codes.NOT_FOUND, "workspace_id: no such workspace")
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
