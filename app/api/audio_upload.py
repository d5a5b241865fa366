"""``POST /api/upload/audio`` (PROTOCOL.md 8.4): a sound file (music for an export, ``params.music``) checked by
content and measured by ffmpeg (``app.audio``), stored through the media store under a name we choose, as
``uploads/<hex>.<ext>``, exactly as a picture upload's ``image_path`` is.

As ``POST /api/upload/image``: multipart field ``audio`` (or ``file``), optional ``project`` (a project the token
does not name is 404; the file belongs to ``project``, else ``default``); 400 no file or an empty one, 413 over
``MAX_UPLOAD_BYTES``, 415 not MP3, WAV, OGG, FLAC, M4A or AAC by content. Viewers are refused by the guard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import visible
from app.api.multipart import form_project, read_upload
from app.audio import store_audio
from app.auth import record_owner
from app.auth.media import DEFAULT_PROJECT
from app.errors import AppError
from app.runtime import runtime_of
from protocol import codes


async def upload_audio(request: Request) -> Response:
    runtime = runtime_of(request)
    data, form = await read_upload(request, "audio", "an audio file", runtime.settings.max_upload_bytes, ("project",))
    project = form_project(form["project"])
    if project is not None and not visible(request, project):  # as for pictures: 404, as if it did not exist
        raise AppError(codes.NOT_FOUND, f"project {project} does not exist")
    stored = await store_audio(runtime.media, data)
    await record_owner(runtime, stored.audio_path, project or DEFAULT_PROJECT)
    return JSONResponse(stored.answer(), status_code=201)
