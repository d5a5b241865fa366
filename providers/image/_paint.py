"""The offline painter's sky and ground: gradients, sun or moon with their glow, stars, clouds, fields, dunes, snow
and the sea with the light's reflection. Each function paints into the frame in place, from a seeded ``Random``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from random import Random

from PIL import Image, ImageDraw, ImageFilter

from providers.image._light import RGB, mix, scale
from providers.image._scene import Scene

EDGE = 181  # Image.radial_gradient's value on its inscribed circle (255 is the corner)


def vgradient(width: int, height: int, stops: Sequence[tuple[float, RGB]]) -> Image.Image:
    """A vertical gradient through ``stops`` (position 0..1, colour), built as one column and stretched."""
    column: list[RGB] = []
    for y in range(height):
        t = y / max(1, height - 1)
        for (p0, c0), (p1, c1) in itertools.pairwise(stops):
            if t <= p1 or (p1 == stops[-1][0]):
                column.append(mix(c0, c1, (t - p0) / (p1 - p0) if p1 > p0 else 1.0))
                break
    strip = Image.new("RGB", (1, height))
    strip.putdata(column)
    return strip.resize((width, height), Image.Resampling.NEAREST)


def radial_mask(radius: int, strength: float, power: float = 2.0) -> Image.Image:
    """A ``2r x 2r`` mask, ``strength`` at the centre falling to 0 at the radius."""
    radius = max(1, radius)
    lut = [round(255 * strength * max(0.0, 1 - v / EDGE) ** power) for v in range(256)]
    return Image.radial_gradient("L").resize((2 * radius, 2 * radius), Image.Resampling.BILINEAR).point(lut)


def glow(img: Image.Image, x: float, y: float, radius: float, colour: RGB, strength: float, power: float = 2.0) -> None:
    r = max(1, round(radius))
    img.paste(colour, (round(x) - r, round(y) - r, round(x) + r, round(y) + r), radial_mask(r, strength, power))


def sky(scene: Scene) -> Image.Image:
    zenith, middle, horizon = scene.light.sky
    h = scene.horizon
    return vgradient(scene.width, scene.height, ((0.0, zenith), (0.55 * h, middle), (h, horizon), (1.0, horizon)))


def celestial(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Stars, then the sun or the moon with its halo, at ``light_x`` and the preset's height."""
    light, w, h = scene.light, scene.width, scene.height
    hz = scene.horizon * h
    if light.stars:
        draw = ImageDraw.Draw(img)
        for _ in range(int(w * hz / 2400)):
            x, y = rng.random() * w, hz * rng.random() ** 1.6
            c = mix((255, 255, 255), light.key, 0.3)
            c = scale(c, rng.uniform(0.35, 1.0) * min(1.0, (hz - y) / (0.3 * hz) + 0.2))
            if rng.random() < 0.08:
                draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=c)
            else:
                draw.point((x, y), fill=c)
    if light.body == "none":
        return
    x, y = scene.light_x * w, hz - light.body_height * hz * 0.9
    if light.body == "sun":
        glow(img, x, y, 0.6 * h, light.key, 0.55, 2.2)
        glow(img, x, y, 0.14 * h, mix(light.key, (255, 255, 255), 0.5), 0.85)
        r = 0.032 * h
        ImageDraw.Draw(img).ellipse((x - r, y - r, x + r, y + r), fill=mix(light.key, (255, 255, 255), 0.75))
    else:
        glow(img, x, y, 0.2 * h, light.key, 0.32)
        r = 0.03 * h
        draw = ImageDraw.Draw(img)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(232, 236, 246))
        for _ in range(3):
            cx, cy, cr = x + rng.uniform(-0.5, 0.5) * r, y + rng.uniform(-0.5, 0.5) * r, r * rng.uniform(0.12, 0.25)
            draw.ellipse((cx - cr, cy - cr, cx + cr, cy + cr), fill=(206, 212, 226))


def clouds(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Soft clusters of ellipses, drawn at a quarter of the size and blurred, tinted by the light."""
    light = scene.light
    if light.clouds <= 0:
        return
    w, hz = scene.width, max(4, round(scene.horizon * scene.height))
    small = Image.new("L", (max(1, w // 4), max(1, hz // 4)))
    draw = ImageDraw.Draw(small)
    sw, sh = small.size
    for _ in range(2 + round(light.clouds * 12)):
        cx, cy = rng.uniform(-0.1, 1.1) * sw, rng.uniform(0.05, 0.85) * sh
        span = rng.uniform(0.08, 0.3) * sw * (0.6 + light.clouds)
        for _ in range(rng.randint(4, 8)):
            ex, ey = cx + rng.uniform(-0.5, 0.5) * span, cy + rng.uniform(-0.12, 0.05) * span
            rx, ry = rng.uniform(0.15, 0.35) * span, rng.uniform(0.06, 0.14) * span
            draw.ellipse((ex - rx, ey - ry, ex + rx, ey + ry), fill=rng.randint(150, 230))
    small = small.filter(ImageFilter.GaussianBlur(max(1.0, sw / 160)))
    mask = small.resize((w, hz), Image.Resampling.BILINEAR).point(lambda v: round(v * min(1.0, 0.45 + light.clouds)))
    colour = mix(light.cloud, light.sky[1], 0.25)
    shadow = mix(colour, light.sky[0], 0.35)
    drop = max(1, hz // 60)
    img.paste(shadow, (0, drop, w, hz + drop), mask)  # the clouds' darker undersides
    img.paste(colour, (0, 0, w, hz), mask)


def ground_colours(scene: Scene) -> tuple[RGB, RGB]:
    near, far = scene.light.ground
    if "snow" in scene.places:
        near, far = mix(near, (236, 240, 248), 0.7), mix(far, (196, 204, 218), 0.6)
    elif "desert" in scene.places:
        near, far = mix(near, (226, 186, 128), 0.55), mix(far, (150, 104, 60), 0.5)
    elif "city" in scene.places or "interior" in scene.places:
        near, far = mix(near, (72, 72, 78), 0.8), mix(far, (30, 30, 34), 0.8)
    return near, far


def _curve(
    rng: Random, width: int, base: float, amp: float, waves: int = 3, freq: float = 1.0
) -> list[tuple[float, float]]:
    """A smooth hill line: a few seeded sines (``freq`` below 1 for gentler ones)."""
    parts = [
        (freq * rng.uniform(1, 3.5) * (i + 1), rng.uniform(0, math.tau), rng.uniform(0.3, 1) / (i + 1))
        for i in range(waves)
    ]
    total = sum(p[2] for p in parts)
    points = []
    for i in range(65):
        t = i / 64
        y = sum(a * math.sin(f * math.tau * t + ph) for f, ph, a in parts) / total
        points.append((t * width, base - amp * (0.5 + 0.5 * y)))
    return points


def ground(img: Image.Image, scene: Scene, rng: Random) -> None:
    """The land below the horizon: a gradient, a far line of hills, and grass, dunes or snow in front."""
    w, h = scene.width, scene.height
    hz = round(scene.horizon * h)
    near, far = ground_colours(scene)
    img.paste(vgradient(w, h - hz, ((0.0, near), (1.0, far))), (0, hz))
    draw = ImageDraw.Draw(img)
    if "city" in scene.places or "interior" in scene.places:
        return
    hills = _curve(rng, w, hz + 1, (0.05 if "desert" in scene.places else 0.035) * h)
    draw.polygon([*hills, (w, hz + 2), (0, hz + 2)], fill=mix(near, scene.light.haze, 0.45))
    if "desert" in scene.places:
        for i in range(3):  # dunes: a lit and a shaded face each
            top = hz + (0.08 + 0.12 * i) * (h - hz) * 2
            line = _curve(rng, w, top, 0.09 * h, 2)
            shade = mix(near, far, 0.25 + 0.2 * i)
            draw.polygon([*line, (w, h), (0, h)], fill=mix(shade, scene.light.key, 0.12))
            draw.line(line, fill=mix(shade, (20, 14, 10), 0.25), width=max(1, h // 300))
    elif "snow" not in scene.places and "sea" not in scene.places:
        for _ in range(w // 4):  # grass, longer towards the camera
            x, t = rng.random() * w, rng.random() ** 0.7
            y = hz + t * (h - hz)
            length = (2 + 0.05 * h * t) * rng.uniform(0.5, 1.2)
            c = mix(near, far, t) if rng.random() < 0.5 else mix(far, (0, 0, 0), 0.25)
            draw.line((x, y, x + rng.uniform(-0.4, 0.4) * length, y - length), fill=c, width=max(1, round(t * h / 360)))


def sea(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Water from the horizon down, the light's glitter path on it, wave lines, and a beach when one is named."""
    light, w, h = scene.light, scene.width, scene.height
    hz = round(scene.horizon * h)
    top, bottom = mix(light.sky[2], (36, 78, 110), 0.35), mix(light.sky[0], (6, 20, 36), 0.45)
    img.paste(vgradient(w, h - hz, ((0.0, top), (1.0, bottom))), (0, hz))
    draw = ImageDraw.Draw(img)
    for _ in range(w // 6):  # waves, longer and thicker near the camera
        t = rng.random() ** 1.5
        y, x = hz + t * (h - hz), rng.random() * w
        length = (0.01 + 0.08 * t) * w * rng.uniform(0.4, 1)
        c = mix(top, bottom, t)
        c = mix(c, (255, 255, 255), 0.12) if rng.random() < 0.5 else mix(c, (0, 0, 0), 0.18)
        draw.line((x, y, x + length, y), fill=c, width=max(1, round(t * h / 240)))
    if light.body != "none":  # the glitter path under the sun or moon
        path = Image.new("L", (w, h - hz))
        pd = ImageDraw.Draw(path)
        strength = 255 if light.body == "sun" else 170
        for _ in range(w // 5):
            t = rng.random() ** 1.3
            y = t * (h - hz)
            x = scene.light_x * w + rng.gauss(0, (0.015 + 0.06 * t) * w)
            half = (0.004 + 0.03 * t) * w * rng.uniform(0.3, 1)
            pd.line((x - half, y, x + half, y), fill=round(strength * rng.uniform(0.4, 1)), width=max(1, round(t * 3)))
        img.paste(mix(light.key, (255, 255, 255), 0.35), (0, hz), path)
    if scene.words & {"beach", "shore", "sand", "coast", "coastline", "seaside"}:
        sand = mix((214, 190, 150), light.ground[0], 0.45)
        shore = _curve(rng, w, h * 0.97, 0.1 * h, 2, freq=0.3)
        draw.polygon([*shore, (w, h), (0, h)], fill=sand)
        draw.line(shore, fill=mix(sand, (255, 255, 255), 0.5), width=max(2, h // 200))
