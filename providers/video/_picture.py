"""The picture the local renderer gives ffmpeg: upright, cropped to the frame's shape, at most ``HEADROOM`` frames
wide, never enlarged (ffmpeg decodes its input again for every frame; a 64 MP picture took ~25 s and 1.3 GB a
render). Pure Pillow work, called in a thread by ``providers.video.local``."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageOps

HEADROOM = 2  # the prepared picture is at most this many frames wide; the filter's base is MARGIN (1.25) frames,
# so none of what it uses is lost (MARGIN times the deepest zoom, 1.35, is 1.69)


def cover_box(size: tuple[int, int], frame: tuple[int, int]) -> tuple[int, int, int, int]:
    """The centred crop of a picture of ``size`` with the frame's aspect ratio (what the filter's cover-scale and
    crop keep anyway)."""
    (sw, sh), (w, h) = size, frame
    cw, ch = (max(1, round(sh * w / h)), sh) if sw * h > sh * w else (sw, max(1, round(sw * h / w)))
    left, top = (sw - cw) // 2, (sh - ch) // 2
    return left, top, left + cw, top + ch


def prepared_size(size: tuple[int, int], frame: tuple[int, int]) -> tuple[int, int]:
    """The size ffmpeg is given: the cover crop (the frame's shape, so both bounds bite or neither), shrunk to at
    most HEADROOM x the frame, never enlarged."""
    left, top, right, bottom = cover_box(size, frame)
    return min(right - left, HEADROOM * frame[0]), min(bottom - top, HEADROOM * frame[1])


def _open_reduced(src: Path, frame: tuple[int, int]) -> Image.Image:
    """The picture opened lazily; a JPEG is told to decode at the smallest 1/2, 1/4 or 1/8 scale still large enough.
    Raises ``Image.DecompressionBombError`` past Pillow's limit, ``OSError`` when it is no picture."""
    img = Image.open(src)
    if img.format == "JPEG":
        target, crop = prepared_size(img.size, frame), cover_box(img.size, frame)
        scale = max(target[0] / (crop[2] - crop[0]), target[1] / (crop[3] - crop[1]))
        img.draft(None, (math.ceil(img.size[0] * scale), math.ceil(img.size[1] * scale)))
    return img


def decoded_pixels(src: Path, frame: tuple[int, int]) -> int | None:
    """How many pixels preparing the picture decodes (read from its header), or None when Pillow cannot read it."""
    try:
        with _open_reduced(src, frame) as img:
            return img.size[0] * img.size[1]
    except OSError:  # UnidentifiedImageError included
        return None


def prepare_picture(src: Path, dst: Path, frame: tuple[int, int]) -> tuple[int, int]:
    """Write the picture ffmpeg renders from (upright, cover-cropped, at most HEADROOM x the frame) as a PNG."""
    with _open_reduced(src, frame) as img:
        ImageOps.exif_transpose(img, in_place=True)  # ffmpeg turns pictures upright by their EXIF orientation too
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA" if img.has_transparency_data else "RGB")
        box = cover_box(img.size, frame)
        out = img.resize(prepared_size(img.size, frame), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
        out.save(dst, "PNG", compress_level=1)
        return out.size
