"""Mapping the requested width x height onto what each API accepts: the nearest of a fixed list (by aspect, on
a log scale so 2:1 and 1:2 are equally far from 1:1), or a free size rounded to a multiple and kept in range."""

from __future__ import annotations

import math
from collections.abc import Iterable


def aspect(width: int, height: int) -> float:
    return width / height if width > 0 and height > 0 else 16 / 9


def nearest(width: int, height: int, choices: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The choice whose aspect is closest to ``width:height``; on a tie, the one closest in pixel count."""
    target, pixels = aspect(width, height), max(1, width * height)
    return min(
        choices,
        key=lambda c: (round(abs(math.log(aspect(*c) / target)), 9), abs(math.log(c[0] * c[1] / pixels))),
    )


def free_size(
    width: int,
    height: int,
    *,
    multiple: int = 16,
    max_side: int,
    min_pixels: int = 0,
    max_pixels: int,
    max_aspect: float = 3.0,
) -> tuple[int, int]:
    """``width x height`` with its aspect clamped to ``1/max_aspect..max_aspect``, scaled into the pixel and side
    bounds, each side a multiple of ``multiple``."""
    ratio = min(max_aspect, max(1 / max_aspect, aspect(width, height)))
    pixels = max(width, 1) * max(height, 1)
    pixels = min(max_pixels, max(min_pixels, pixels))
    h = math.sqrt(pixels / ratio)
    w = h * ratio
    shrink = min(1.0, max_side / max(w, h))
    w, h = w * shrink, h * shrink

    def fits(c: tuple[int, int]) -> bool:
        cw, ch = c
        return (
            min_pixels <= cw * ch <= max_pixels and max(cw, ch) <= max_side and 1 / max_aspect <= cw / ch <= max_aspect
        )

    sw, sh = max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)
    if fits((sw, sh)):
        return sw, sh
    # Rounding to the multiple broke a bound by a hair: of the sizes one or two steps around, the valid one
    # closest in aspect, then in pixels.
    near = [
        (sw + i * multiple, sh + j * multiple) for i in range(-2, 3) for j in range(-2, 3)
        if sw + i * multiple > 0 and sh + j * multiple > 0
    ]  # fmt: skip
    valid = [c for c in near if fits(c)] or near
    return min(valid, key=lambda c: (round(abs(math.log(c[0] / c[1] / ratio)), 6), abs(c[0] * c[1] - pixels)))
