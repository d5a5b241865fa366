"""The one reader of the upload routes' multipart forms (``POST /api/upload/image`` and ``/audio``): one file in
the form field ``field`` (or ``file``) plus a few plain fields, at most ``MAX_UPLOAD_BYTES`` (413: refused from
``Content-Length`` before reading when the body is clearly larger, else once the file is read), 400 for no file
or a body that is no form."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request

from app.errors import PAYLOAD_TOO_LARGE, AppError
from protocol import codes
from protocol.fields import PROJECT_RE

MULTIPART_OVERHEAD = 64 * 1024  # what a form adds around the file, beyond which Content-Length alone refuses it


def too_large(limit: int) -> AppError:
    return AppError(PAYLOAD_TOO_LARGE, f"the upload is larger than {limit} bytes (MAX_UPLOAD_BYTES)")


async def read_upload(
    request: Request, field: str, what: str, limit: int, fields: tuple[str, ...]
) -> tuple[bytes, dict[str, object]]:
    """The file's bytes and the plain ``fields`` of the form (None when absent); ``what`` names the file in
    errors ("an image file")."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)
    try:
        async with request.form(max_files=2, max_fields=10, max_part_size=limit + 1) as form:
            upload = form.get(field) or form.get("file")
            if not isinstance(upload, UploadFile):
                raise AppError(codes.INVALID_MESSAGE, f"no file: send it in the form field '{field}' (or 'file')")
            data = await upload.read(limit + 1)
            values: dict[str, object] = {name: form.get(name) for name in fields}
    except AppError:
        raise
    except Exception as exc:  # multipart's parser raises several kinds for a body that is no form
        raise AppError(codes.INVALID_MESSAGE, f"the body must be multipart/form-data with {what}") from exc
    if len(data) > limit:
        raise too_large(limit)
    return data, values


def form_project(value: object) -> str | None:
    """The form's optional ``project``, checked as everywhere (400 otherwise)."""
    if value is not None and (not isinstance(value, str) or not PROJECT_RE.match(value)):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return value
