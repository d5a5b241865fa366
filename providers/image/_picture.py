"""What a picture really is: its type from its magic bytes and its size from its header (Pillow, no decode), so a
provider's ``content_type``/``width``/``height`` claims are never passed on as facts."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from providers.errors import ProviderBadResponse
from providers.image._download import MAX_PICTURE_BYTES, too_large
from providers.image.base import ImageResult

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def sniff(data: bytes) -> str | None:
    """The content type named by the first bytes, or None for anything but PNG, JPEG and WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def picture_result(
    data: bytes, *, provider: str, seed: int | None = None, max_bytes: int = MAX_PICTURE_BYTES
) -> ImageResult:
    """An ``ImageResult`` for ``data``, or ``ProviderBadResponse`` when it is too large, not a PNG/JPEG/WebP, or
    a header Pillow cannot read (a decompression bomb included)."""
    if len(data) > max_bytes:
        raise too_large(provider, max_bytes)
    content_type = sniff(data)
    if content_type is None:
        raise ProviderBadResponse(f"{provider}: the answer is not a PNG, JPEG or WebP picture", provider=provider)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                real = FORMATS.get(img.format or "")
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ProviderBadResponse(f"{provider}: the picture cannot be read", provider=provider) from exc
    if real != content_type or width <= 0 or height <= 0:
        raise ProviderBadResponse(f"{provider}: the picture cannot be read", provider=provider)
    return ImageResult(data=data, content_type=content_type, width=width, height=height, seed=seed)
