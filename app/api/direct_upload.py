"""``POST /api/upload/presign`` and ``POST /api/upload/commit`` (PROTOCOL.md 9.2): a client uploads straight to
the bucket, then asks us to check the object. Only stores with direct uploads (``MEDIA_STORE=s3``) offer them;
with ``MEDIA_STORE=disk`` both answer 404.

The presigned PUT goes to a waiting key, never to ``uploads/``: until commit has checked it by content and size,
nothing of it is served, and what commit keeps is its own copy of the bytes it checked, with the content type it
found (not the one the client sent).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import require_visible, visible
from app.api.body import read_json
from app.api.uploads import attach_and_answer
from app.audio import StoredAudio, check_audio
from app.auth import record_owner
from app.auth.media import DEFAULT_PROJECT
from app.errors import PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, AppError
from app.media import DIRECT_TYPES, DirectObject, DirectUploads, StoredImage, inspect_image
from app.runtime import Runtime, runtime_of
from protocol import codes
from protocol.fields import OBJECT_ID_RE, PROJECT_RE

_AUDIO_EXTS = frozenset(DIRECT_TYPES["audio"].values())
_EXTS = "|".join(ext for types in DIRECT_TYPES.values() for ext in types.values())
_PATH_RE = re.compile(rf"^uploads/([0-9a-f]{{24}}\.(?:{_EXTS}))$")


def _direct(runtime: Runtime) -> DirectUploads:
    media = runtime.media
    if not isinstance(media, DirectUploads):
        raise AppError(codes.NOT_FOUND, "direct uploads need MEDIA_STORE=s3; use POST /api/upload/image")
    return media


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise AppError(codes.INVALID_MESSAGE, "the body must be a JSON object")
    return body


def _project(body: dict[str, Any]) -> str | None:
    project = body.get("project")
    if project is not None and (not isinstance(project, str) or not PROJECT_RE.match(project)):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return project


def _too_large(limit: int, what: str = "the upload") -> AppError:
    return AppError(PAYLOAD_TOO_LARGE, f"{what} is larger than {limit} bytes (MAX_UPLOAD_BYTES)")


async def presign_upload(request: Request) -> Response:
    runtime = runtime_of(request)
    direct = _direct(runtime)
    body = _object(await read_json(request))
    kind = body.get("kind")
    if kind not in DIRECT_TYPES:
        raise AppError(codes.INVALID_MESSAGE, 'kind: must be "image" or "audio"')
    content_type = body.get("content_type")
    if not isinstance(content_type, str) or content_type not in DIRECT_TYPES[kind]:
        raise AppError(UNSUPPORTED_MEDIA_TYPE, f"content_type: one of {', '.join(DIRECT_TYPES[kind])}")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise AppError(codes.INVALID_MESSAGE, "size: the file's size in bytes, a positive integer")
    limit = runtime.settings.max_upload_bytes
    if size > limit:
        raise _too_large(limit)
    project = _project(body)
    if project is not None and not visible(request, project):  # as POST /api/upload/image
        raise AppError(codes.NOT_FOUND, f"project {project} does not exist")
    name = f"{secrets.token_hex(12)}.{DIRECT_TYPES[kind][content_type]}"
    put = await direct.presign_put(name, content_type, size, project)  # the project travels in the key
    body = {"upload_url": put.url, "method": put.method, "headers": put.headers, "path": f"uploads/{name}"}
    return JSONResponse(body)


async def commit_upload(request: Request) -> Response:
    runtime = runtime_of(request)
    direct = _direct(runtime)
    body = _object(await read_json(request))
    path = body.get("path")
    if not isinstance(path, str):
        raise AppError(codes.INVALID_MESSAGE, "path: the path presign answered, uploads/<name>")
    match = _PATH_RE.match(path)
    if match is None:
        raise AppError(codes.NOT_FOUND, "path: no such upload")
    name = match.group(1)
    workspace_id = body.get("workspace_id")
    if workspace_id is not None and (not isinstance(workspace_id, str) or not OBJECT_ID_RE.match(workspace_id)):
        raise AppError(codes.NOT_FOUND, "workspace_id: no such workspace")
    project = _project(body)
    if project is not None and not visible(request, project):
        raise AppError(codes.NOT_FOUND, f"project {project} does not exist")
    if name.rpartition(".")[2] in _AUDIO_EXTS:  # answered as POST /api/upload/audio would
        if workspace_id is not None:
            raise AppError(codes.INVALID_MESSAGE, "workspace_id: only a picture is attached to a workspace")
        audio, presigned_for, fresh = await _check_audio(runtime, direct, name)
        if presigned_for is not None and not visible(request, presigned_for):
            raise AppError(codes.NOT_FOUND, "path: no such upload")
        if fresh:
            await record_owner(runtime, audio.audio_path, project or presigned_for or DEFAULT_PROJECT)
        return JSONResponse(audio.answer(), status_code=201)
    workspace = await runtime.workspaces.get(project, workspace_id) if workspace_id else None  # 404 first
    if workspace is not None:
        require_visible(request, workspace.project, workspace.id)
    stored, presigned_for, fresh = await _check(runtime, direct, name)
    if presigned_for is not None and not visible(request, presigned_for):  # not this token's file
        raise AppError(codes.NOT_FOUND, "path: no such upload")
    if fresh:  # as POST /api/upload/image does (a retried commit keeps the owner recorded first)
        owner = project or presigned_for or (workspace.project if workspace else DEFAULT_PROJECT)
        await record_owner(runtime, stored.image_path, owner)
    return await attach_and_answer(runtime, stored, workspace)


async def _check(runtime: Runtime, direct: DirectUploads, name: str) -> tuple[StoredImage, str | None, bool]:
    """The waiting object checked and kept as the upload ``name``, the project named at presign, and whether it
    was kept now (False: by an earlier commit); one that fails is deleted."""
    limit = runtime.settings.max_upload_bytes
    ext = name.rpartition(".")[2]
    obj = await direct.take_direct(name, limit)
    kept = await runtime.media.read_upload(name)
    if kept is not None:  # committed before (a retried commit): the upload stays as it was checked
        if obj is not None:
            await direct.drop_direct(name)
        found = await asyncio.to_thread(inspect_image, kept)
        return StoredImage(name, found[1], found[2], found[3], len(kept)), obj.project if obj else None, False
    if obj is None:
        raise AppError(codes.NOT_FOUND, "path: nothing was uploaded there (or the upload URL was not used yet)")
    try:
        _check_size(obj, limit)
        found_ext, content_type, width, height = await asyncio.to_thread(inspect_image, obj.data)
        if found_ext != ext:
            raise AppError(UNSUPPORTED_MEDIA_TYPE, f"the file is a {content_type} image, not the type declared")
    except AppError:
        await direct.drop_direct(name)
        raise
    await direct.accept_direct(name, obj.data, content_type)
    return StoredImage(name, content_type, width, height, obj.size), obj.project, True


def _check_size(obj: DirectObject, limit: int) -> None:
    if obj.size > limit:
        raise _too_large(limit)
    if obj.size > obj.declared:
        raise AppError(PAYLOAD_TOO_LARGE, f"the object is larger than the {obj.declared} bytes declared")


async def _check_audio(runtime: Runtime, direct: DirectUploads, name: str) -> tuple[StoredAudio, str | None, bool]:
    """As ``_check``, for a sound: checked by content (``app.audio``) and measured; one that fails is deleted."""
    ext = name.rpartition(".")[2]
    obj = await direct.take_direct(name, runtime.settings.max_upload_bytes)
    kept = await runtime.media.read_upload(name)
    if kept is not None:  # committed before: measured again, as it was kept
        if obj is not None:
            await direct.drop_direct(name)
        fmt, duration = await check_audio(kept)
        return StoredAudio(name, fmt.content_type, duration, len(kept)), obj.project if obj else None, False
    if obj is None:
        raise AppError(codes.NOT_FOUND, "path: nothing was uploaded there (or the upload URL was not used yet)")
    try:
        _check_size(obj, runtime.settings.max_upload_bytes)
        fmt, duration = await check_audio(obj.data)
        if fmt.ext != ext:
            raise AppError(UNSUPPORTED_MEDIA_TYPE, f"the file is {fmt.label} audio, not the type declared")
    except AppError:
        await direct.drop_direct(name)
        raise
    await direct.accept_direct(name, obj.data, fmt.content_type)
    return StoredAudio(name, fmt.content_type, duration, obj.size), obj.project, True
