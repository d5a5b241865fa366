"""Uploaded pictures (checked by content) and finished videos.

Media storage is an interface (``MediaStore``) so an S3-compatible store can follow; ``LocalMediaStore``
keeps files under DATA_DIR.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import warnings
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError
from protocol import codes

ALLOWED_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
MAX_PIXELS = 64_000_000  # ~ 8000 x 8000; bigger pictures are refused as decompression bombs


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
    """Where uploaded pictures and finished videos live, by name (``<hex>.png``, ``<workspace>-<hex>.mp4``).

    Nothing outside this module touches their files: ``LocalMediaStore`` keeps them under DATA_DIR (a shared disk
    when several processes serve one timeline); an S3-compatible store implements the same methods, with ``app``
    answering ``/uploads/<name>`` and ``/media/<name>`` by redirecting to presigned URLs.
    """

    def save_upload(self, data: bytes) -> StoredImage:
        """Check by content and store; blocking (call it in a thread)."""
        ...

    def has_upload(self, name: str) -> bool: ...

    async def read_upload(self, name: str) -> bytes | None:
        """The picture's bytes, None when there is no such upload."""
        ...

    def local_upload(self, name: str) -> Path | None:
        """The picture as a file on this machine, when it is one (the offline renderer copies it)."""
        ...

    async def save_video(self, name: str, chunks: AsyncIterable[bytes]) -> None:
        """Store a finished video, all or nothing: a failed copy leaves no file under ``name``."""
        ...

    def app(self, kind: Literal["uploads", "media"]) -> ASGIApp:
        """The ASGI app mounted at ``/uploads`` or ``/media``."""
        ...


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

    def _upload(self, name: str) -> Path:
        return self.uploads_dir / Path(name).name  # a bare name: no way out of the folder

    def has_upload(self, name: str) -> bool:
        return self._upload(name).is_file()

    async def read_upload(self, name: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._upload(name).read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            return None

    def local_upload(self, name: str) -> Path | None:
        path = self._upload(name)
        return path if path.is_file() else None

    async def save_video(self, name: str, chunks: AsyncIterable[bytes]) -> None:
        target = self.media_dir / Path(name).name
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

    def app(self, kind: Literal["uploads", "media"]) -> ASGIApp:
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
