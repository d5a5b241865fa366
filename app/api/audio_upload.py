"""``POST /api/upload/audio`` (PROTOCOL.md 8.4): a sound file (music for an export, ``params.music``) checked by
content and measured by ffmpeg (``app.audio``), stored through the media store under a name we choose, as
``uploads/<hex>.<ext>``, exactly as a picture upload's ``image_path`` is.

As ``POST /api/upload/image``: multipart field ``audio`` (or ``file``), optional ``project`` (a project the token
does not name is 404; the file belongs to ``project``, else ``default``); 400 no file or an empty one, 413 over
``MAX_UPLOAD_BYTES``, 415 not MP3, WAV, OGG, FLAC, M4A or AAC by content. Viewers are refused by the guard."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import visible
from app.audio import store_audio
from app.auth import record_owner
from app.auth.media import DEFAULT_PROJECT
from app.errors import PAYLOAD_TOO_LARGE, AppError
from app.runtime import runtime_of
from protocol import codes
from protocol.fields import PROJECT_RE

_MULTIPART_OVERHEAD = 64 * 1024  # what a form adds around the file, beyond which Content-Length alone refuses it


def _too_large(limit: int) -> AppError:
    return AppError(PAYLOAD_TOO_LARGE, f"the upload is larger than {limit} bytes (MAX_UPLOAD_BYTES)")


async def upload_audio(request: Request) -> Response:
    runtime = runtime_of(request)
    limit = runtime.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise _too_large(limit)
    try:
        async with request.form(max_files=2, max_fields=10, max_part_size=limit + 1) as form:
            upload = form.get("audio") or form.get("file")
            if not isinstance(upload, UploadFile):
                raise AppError(codes.INVALID_MESSAGE, "no file: send it in the form field 'audio' (or 'file')")
            data = await upload.read(limit + 1)
            project = form.get("project")
    except AppError:
        raise
    except Exception as exc:  # multipart's parser raises several kinds for a body that is no form
        raise AppError(codes.INVALID_MESSAGE, "the body must be multipart/form-data with an audio file") from exc
    if len(data) > limit:
        raise _too_large(limit)
    if project is not None and (not isinstance(project, str) or not PROJECT_RE.match(project)):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    if project is not None and not visible(request, project):  # as for pictures: 404, as if it did not exist
        raise AppError(codes.NOT_FOUND, f"project {project} does not exist")
    stored = await store_audio(runtime.media, data)
    await record_owner(runtime, stored.audio_path, project or DEFAULT_PROJECT)
    return JSONResponse(stored.answer(), status_code=201)
