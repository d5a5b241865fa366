"""Files on disk: uploaded pictures (checked by content) and downloaded videos.

Media storage is an interface (``MediaStore``) so an S3-compatible store can follow; ``LocalMediaStore``
keeps files under DATA_DIR.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image

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
    def save_upload(self, data: bytes) -> StoredImage: ...

    def upload_path(self, name: str) -> Path: ...

    def media_path(self, name: str) -> Path: ...


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

    def upload_path(self, name: str) -> Path:
        return self.uploads_dir / Path(name).name

    def media_path(self, name: str) -> Path:
        return self.media_dir / Path(name).name
