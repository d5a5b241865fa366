"""The offline painter's lighting: a preset per kind of light (sky, ground, haze and key colours, where the sun or
moon is, how dark a subject against it reads), chosen from the form's ``lighting`` words, else the prompt's."""

from __future__ import annotations

import re
from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Light:
    name: str
    sky: tuple[RGB, RGB, RGB]  # zenith, middle, horizon
    ground: tuple[RGB, RGB]  # at the horizon, at the bottom of the frame
    haze: RGB  # what far layers fade towards
    key: RGB  # the light's colour: sun, moon or lamp; rim light and glows
    body: str = "none"  # "sun" | "moon" | "none"
    body_height: float = 0.5  # 0 at the horizon, 1 at the top of the frame
    shade: float = 0.4  # 0: a subject shows its own colours, 1: a black silhouette
    clouds: float = 0.0  # 0..1, how much of the sky
    cloud: RGB = (255, 255, 255)
    stars: bool = False
    windows: float = 0.1  # share of lit windows
    pool: bool = False  # a pool of light on the subject, darkness around it (low key)
    neon: bool = False
    key2: RGB | None = None  # a second rim colour (neon)
    vignette: float = 0.25
    saturation: float = 1.0
    contrast: float = 1.0


# fmt: off
# name, (zenith, middle, horizon), (ground at horizon, at bottom), haze, key, then what differs from the defaults.
_TABLE: tuple[Light, ...] = (
    Light("golden_hour", ((84, 82, 138), (238, 152, 92), (255, 212, 142)), ((128, 88, 52), (52, 34, 24)),
          (250, 192, 132), (255, 198, 122), body="sun", body_height=0.14, shade=0.7, clouds=0.35,
          cloud=(255, 176, 122), windows=0.15, vignette=0.35),
    Light("sunset", ((66, 42, 104), (222, 94, 72), (255, 164, 84)), ((96, 54, 42), (32, 20, 22)),
          (240, 132, 92), (255, 152, 82), body="sun", body_height=0.04, shade=0.85, clouds=0.4,
          cloud=(238, 112, 92), windows=0.3, vignette=0.4),
    Light("dawn", ((112, 132, 192), (240, 182, 172), (255, 222, 184)), ((122, 112, 92), (52, 52, 46)),
          (240, 212, 202), (255, 222, 182), body="sun", body_height=0.1, shade=0.55, clouds=0.3,
          cloud=(255, 204, 194)),
    Light("blue_hour", ((18, 28, 72), (52, 72, 132), (124, 134, 184)), ((40, 46, 72), (12, 14, 26)),
          (92, 102, 152), (255, 192, 122), shade=0.85, windows=0.6, vignette=0.4),
    Light("night", ((4, 6, 20), (12, 20, 48), (30, 44, 82)), ((18, 22, 36), (5, 6, 12)),
          (40, 52, 88), (192, 212, 255), body="moon", body_height=0.72, shade=0.9, stars=True, windows=0.5,
          vignette=0.5),
    Light("moonlight", ((8, 12, 34), (22, 34, 70), (52, 70, 112)), ((28, 34, 52), (8, 10, 18)),
          (64, 80, 120), (212, 226, 255), body="moon", body_height=0.6, shade=0.8, clouds=0.15,
          cloud=(70, 84, 120), stars=True, windows=0.4, vignette=0.45),
    Light("neon", ((10, 4, 26), (42, 10, 64), (92, 22, 94)), ((30, 10, 42), (8, 4, 14)),
          (122, 42, 142), (255, 60, 200), shade=0.85, windows=0.7, neon=True, key2=(0, 222, 255),
          vignette=0.45, saturation=1.2),
    Light("overcast", ((150, 156, 164), (178, 182, 188), (202, 204, 208)), ((112, 118, 108), (70, 74, 70)),
          (196, 198, 202), (222, 224, 230), shade=0.45, clouds=0.9, cloud=(206, 208, 212), vignette=0.2,
          saturation=0.55, contrast=0.9),
    Light("high_key", ((226, 236, 246), (242, 246, 250), (255, 255, 255)), ((238, 236, 230), (222, 220, 214)),
          (250, 250, 252), (255, 255, 255), shade=0.05, clouds=0.1, vignette=0.0, contrast=0.85),
    Light("low_key", ((16, 16, 22), (28, 28, 36), (46, 42, 48)), ((36, 32, 34), (12, 12, 14)),
          (46, 42, 50), (255, 216, 162), shade=0.3, pool=True, vignette=0.6),
    Light("rembrandt", ((24, 16, 12), (42, 30, 22), (58, 42, 32)), ((40, 30, 24), (12, 9, 8)),
          (60, 44, 34), (255, 202, 142), shade=0.25, pool=True, vignette=0.65),
    Light("candlelight", ((16, 10, 8), (30, 18, 12), (48, 28, 18)), ((36, 22, 14), (10, 6, 5)),
          (50, 30, 20), (255, 152, 62), shade=0.3, pool=True, windows=0.3, vignette=0.7, saturation=1.1),
    Light("high_contrast", ((40, 90, 190), (110, 160, 230), (200, 226, 250)), ((190, 170, 120), (70, 60, 40)),
          (200, 220, 240), (255, 250, 236), body="sun", body_height=0.85, shade=0.85, clouds=0.2,
          vignette=0.3, saturation=1.3, contrast=1.35),
    Light("backlit", ((82, 92, 132), (222, 192, 162), (255, 242, 212)), ((110, 96, 80), (36, 30, 26)),
          (250, 230, 205), (255, 236, 200), body="sun", body_height=0.22, shade=1.0, clouds=0.2,
          cloud=(255, 220, 190), vignette=0.35),
    Light("soft_daylight", ((84, 140, 214), (142, 188, 236), (202, 226, 246)), ((112, 150, 82), (60, 96, 48)),
          (192, 212, 232), (255, 248, 232), body="sun", body_height=0.9, shade=0.3, clouds=0.45,
          vignette=0.15),
)
# fmt: on
PRESETS: dict[str, Light] = {light.name: light for light in _TABLE}

DEFAULT = "soft_daylight"

# (pattern, preset), first match wins: specific words before the general ones they contain.
_WORDS: tuple[tuple[str, str], ...] = (
    (r"golden|magic hour", "golden_hour"),
    (r"sunset|dusk|sundown|evening", "sunset"),
    (r"sunrise|dawn|daybreak|morning", "dawn"),
    (r"blue hour|twilight", "blue_hour"),
    (r"neon|cyberpunk|synthwave", "neon"),
    (r"moon\w*", "moonlight"),
    (r"night\w*|midnight|nocturnal|starry|stars", "night"),
    (r"overcast|cloudy|clouds|rain\w*|fog\w*|mist\w*|grey|gray|storm\w*|snow\w*", "overcast"),
    (r"high key|bright|airy|white|studio", "high_key"),
    (r"rembrandt", "rembrandt"),
    (r"candle\w*|fire\w*|torch\w*|lamp\w*|lantern\w*", "candlelight"),
    (r"low key|dark\w*|noir|moody|shadow\w*|chiaroscuro|gloom\w*", "low_key"),
    (r"high contrast|hard|harsh|midday|noon|desert sun", "high_contrast"),
    (r"back ?lit|backlight\w*|silhouett\w*|rim light", "backlit"),
    (r"soft|daylight|natural|day|sunny|sun\w*|overhead", "soft_daylight"),
)
_PATTERNS = tuple((re.compile(rf"\b(?:{words})\b"), name) for words, name in _WORDS)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def match(text: str | None) -> str | None:
    if not text:
        return None
    words = _normalise(text)
    return next((name for pattern, name in _PATTERNS if pattern.search(words)), None)


def light_for(lighting: str | None, prompt: str) -> Light:
    """The preset the form's ``lighting`` names; without one, what the prompt says ("at night"); else daylight."""
    return PRESETS[match(lighting) or match(prompt) or DEFAULT]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """``a`` moved ``t`` (0..1) of the way to ``b``."""
    t = min(1.0, max(0.0, t))
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def scale(colour: RGB, factor: float) -> RGB:
    return (
        min(255, max(0, round(colour[0] * factor))),
        min(255, max(0, round(colour[1] * factor))),
        min(255, max(0, round(colour[2] * factor))),
    )
