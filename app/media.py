"""Uploaded pictures (checked by content) and finished videos.

Media storage is an interface (``MediaStore``): ``LocalMediaStore`` keeps files under DATA_DIR, ``S3MediaStore``
(app/media_s3, ``MEDIA_STORE=s3``, the ``s3`` extra) in a bucket; ``open_media_store`` picks one from the settings.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import shutil
import warnings
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from PIL import Image
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError
from protocol import codes

if TYPE_CHECKING:
    from app.settings import Settings

ALLOWED_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
MAX_PIXELS = 64_000_000  # ~ 8000 x 8000; bigger pictures are refused as decompression bombs
# Content types a client may upload straight to the bucket (PROTOCOL.md 9.2), with the extension of the name.
DIRECT_TYPES = {
    "image": {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"},
    "audio": {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/ogg": "ogg", "audio/flac": "flac", "audio/mp4": "m4a"},
}

Kind = Literal["uploads", "media"]  # uploads: what clients send (pictures, later audio); media: what we make


@dataclass(frozen=True)
class StoredImage:
    name: str
    content_type: str
    width: int
    height: int
    size: int

    @property
    def image_path(self) -> str:
        return f"uploads/{self.name}"

    @property
    def image_url(self) -> str:
        return f"/uploads/{self.name}"


def inspect_image(data: bytes) -> tuple[str, str, int, int]:
    """(extension, content type, width, height) decided by content; ``AppError`` (415/400) otherwise."""
    if not data:
        raise AppError(codes.INVALID_MESSAGE, "the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise AppError(codes.INVALID_MESSAGE, f"the picture is too large ({width}x{height} pixels)")
                if fmt not in ALLOWED_FORMATS:
                    raise AppError(
                        "unsupported_media_type", f"{fmt or 'this'} images are not accepted; use PNG, JPEG or WebP"
                    )
                probe.verify()
        except AppError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise AppError(codes.INVALID_MESSAGE, "the picture has too many pixels") from exc
        except Exception as exc:  # Pillow raises many kinds for files that are no image
            raise AppError("unsupported_media_type", "the file is not a PNG, JPEG or WebP image") from exc
    ext, content_type = ALLOWED_FORMATS[fmt]
    return ext, content_type, width, height


class MediaStore(Protocol):
    """Where uploaded pictures and finished videos live, by kind and name (``uploads``/``<hex>.png``,
    ``media``/``<workspace>-<hex>.mp4``).

    Nothing outside the store touches their files or objects. ``app`` answers ``/uploads/<name>`` and
    ``/media/<name>``: files from DATA_DIR, or a 307 to a presigned URL of the object.
    """

    async def save(self, kind: Kind, name: str, chunks: AsyncIterable[bytes], content_type: str) -> None:
        """Store a file, all or nothing: a failed copy leaves nothing under ``name``."""
        ...

    async def read(self, kind: Kind, name: str) -> bytes | None:
        """The file's bytes, None when there is no such file."""
        ...

    async def copy_to(self, kind: Kind, name: str, target: Path) -> bool:
        """Copy the file to ``target`` a piece at a time (never whole in memory); False when there is none."""
        ...

    async def presign_get(self, kind: Kind, name: str) -> str | None:
        """A URL that serves the file for a while without our server (None: the store has no such URLs, or
        there is no such file)."""
        ...

    def save_upload(self, data: bytes) -> StoredImage:
        """Check by content and store; blocking (call it in a thread)."""
        ...

    async def has_upload(self, name: str) -> bool: ...

    async def read_upload(self, name: str) -> bytes | None:
        """The picture's bytes, None when there is no such upload."""
        ...

    def local_upload(self, name: str) -> Path | None:
        """The picture as a file on this machine, when it is one (the offline renderer copies it; else it
        writes the bytes of ``read_upload`` into its task folder)."""
        ...

    async def save_video(self, name: str, chunks: AsyncIterable[bytes]) -> None:
        """``save("media", name, chunks, "video/mp4")``."""
        ...

    def app(self, kind: Kind) -> ASGIApp:
        """The ASGI app mounted at ``/uploads`` or ``/media``."""
        ...


@dataclass(frozen=True)
class PresignedPut:
    url: str
    method: str
    headers: dict[str, str]


@dataclass(frozen=True)
class DirectObject:
    """An object a client put straight into the store, not yet checked: its first bytes and sizes."""

    data: bytes  # at most the ``limit`` + 1 bytes asked for
    size: int
    declared: int
    project: str | None  # the one named at presign


@runtime_checkable
class DirectUploads(Protocol):
    """A store clients can upload to without our server (``POST /api/upload/presign`` + ``/commit``). The
    object waits outside ``uploads`` until it is checked: nothing unchecked is ever served as an upload."""

    async def presign_put(self, name: str, content_type: str, size: int, project: str | None) -> PresignedPut: ...

    async def take_direct(self, name: str, limit: int) -> DirectObject | None:
        """The waiting object under ``name`` (None when there is none)."""
        ...

    async def accept_direct(self, name: str, data: bytes, content_type: str) -> None:
        """Keep the checked bytes as the upload ``name`` (served with ``content_type``); the waiting one goes."""
        ...

    async def drop_direct(self, name: str) -> None: ...


def open_media_store(settings: Settings) -> MediaStore:
    """The store ``MEDIA_STORE`` names. Neither holds an open resource: the S3 client is not bound to an event
    loop and keeps no connection that needs closing (obstore pools them on its own runtime)."""
    if settings.media_store == "s3":
        from app.media_s3 import S3MediaStore  # the ``s3`` extra: imported only when chosen

        return S3MediaStore.from_settings(settings)
    return LocalMediaStore(settings.uploads_dir, settings.media_dir)


class LocalMediaStore:
    def __init__(self, uploads_dir: Path, media_dir: Path) -> None:
        self.uploads_dir = uploads_dir
        self.media_dir = media_dir
        uploads_dir.mkdir(parents=True, exist_ok=True)
        media_dir.mkdir(parents=True, exist_ok=True)

    def save_upload(self, data: bytes) -> StoredImage:
        ext, content_type, width, height = inspect_image(data)
        name = f"{secrets.token_hex(12)}.{ext}"
        target = self.uploads_dir / name
        tmp = target.with_suffix(".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
        return StoredImage(name, content_type, width, height, len(data))

    def _file(self, kind: Kind, name: str) -> Path:
        return (self.uploads_dir if kind == "uploads" else self.media_dir) / Path(name).name  # no way out

    def _upload(self, name: str) -> Path:
        return self._file("uploads", name)

    async def read(self, kind: Kind, name: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._file(kind, name).read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            return None

    async def copy_to(self, kind: Kind, name: str, target: Path) -> bool:
        try:
            await asyncio.to_thread(shutil.copyfile, self._file(kind, name), target)
            return True
        except (FileNotFoundError, IsADirectoryError):
            return False

    async def presign_get(self, kind: Kind, name: str) -> str | None:
        return None

    async def has_upload(self, name: str) -> bool:
        return self._upload(name).is_file()  # one stat of a local file: not worth a thread

    async def read_upload(self, name: str) -> bytes | None:
        return await self.read("uploads", name)

    def local_upload(self, name: str) -> Path | None:
        path = self._upload(name)
        return path if path.is_file() else None

    async def save_video(self, name: str, chunks: AsyncIterable[bytes]) -> None:
        await self.save("media", name, chunks, "video/mp4")

    async def save(self, kind: Kind, name: str, chunks: AsyncIterable[bytes], content_type: str) -> None:
        target = self._file(kind, name)
        tmp = target.with_suffix(".part")
        fh = await asyncio.to_thread(tmp.open, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(fh.write, chunk)
            await asyncio.to_thread(os.fsync, fh.fileno())
        except BaseException:
            await asyncio.to_thread(fh.close)
            tmp.unlink(missing_ok=True)
            raise
        await asyncio.to_thread(fh.close)
        os.replace(tmp, target)

    def app(self, kind: Kind) -> ASGIApp:
        files = StaticFiles(directory=self.uploads_dir if kind == "uploads" else self.media_dir, check_dir=False)
        return ServedFileHeaders(files)


# Served files (PROTOCOL.md 9.5) are pictures and videos, shown by <img>/<video> (a subresource ignores the CSP) or
# opened directly. Opened directly, nothing in them may run: no scripts (default-src 'none', and a sandbox without
# allow-scripts, which also gives the document an opaque origin: no cookies, storage or same-origin requests), no
# plugins, forms or frames; only the file itself (img-src/media-src 'self') and the browser's own inline styling
# of its image and video viewers (style-src 'unsafe-inline'). nosniff: the type is the one we chose by content.
SERVED_FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
SERVED_FILE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", SERVED_FILE_CSP.encode()),
]


class ServedFileHeaders:
    """Adds ``SERVED_FILE_HEADERS`` to every response of the wrapped app (404s, 304s and ranges included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SERVED_FILE_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *SERVED_FILE_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:  # StaticFiles' 404/405: answered by the app's handler, with our headers
            headers = {**(exc.headers or {}), **{k.decode(): v.decode() for k, v in SERVED_FILE_HEADERS}}
            raise HTTPException(exc.status_code, exc.detail, headers=headers) from None
