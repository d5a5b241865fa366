"""The offline painter, start to finish: plan the scene, paint sky, places and ground, blur them as the framing's
depth of field says, put the subject in front, then the light's finish (a pool of light, neon washes, vignette,
colour, grain) and encode. Deterministic: every choice comes from one ``Random(seed)``, every step is Pillow's."""

from __future__ import annotations

import io
from random import Random

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from providers.image import _figures, _paint, _places
from providers.image._light import mix
from providers.image._paint import glow, radial_mask
from providers.image._scene import Scene, plan
from providers.image.base import ImageRequest

DARK_LIGHTS = frozenset({"night", "moonlight", "neon", "blue_hour", "candlelight", "low_key", "rembrandt"})


def _background(scene: Scene, rng: Random) -> Image.Image:
    img = _paint.sky(scene)
    if scene.abstract:
        _paint.celestial(img, scene, rng)
        _paint.ground(img, scene, rng)
        _places.abstract(img, scene, rng)
        return img
    if "interior" in scene.places:
        _places.interior(img, scene, rng)
        return img
    _paint.celestial(img, scene, rng)
    _paint.clouds(img, scene, rng)
    if "mountain" in scene.places or ("city" not in scene.places and rng.random() < 0.5):
        _places.mountains(img, scene, rng)
    if "city" in scene.places:
        _places.city(img, scene, rng)
    if "sea" in scene.places:
        _paint.sea(img, scene, rng)
    else:
        _paint.ground(img, scene, rng)
    if "forest" in scene.places:
        _places.forest(img, scene, rng)
    if scene.framing.size <= 0.42 and scene.light.name not in DARK_LIGHTS and scene.subject != "bird":
        _birds(img, scene, rng)
    return img


def _birds(img: Image.Image, scene: Scene, rng: Random) -> None:
    """A few far birds in the sky of a wide daylight shot."""
    draw = ImageDraw.Draw(img)
    colour = mix(scene.light.sky[0], (0, 0, 0), 0.6)
    for _ in range(rng.randint(0, 5)):
        x, y = rng.uniform(0.1, 0.9) * scene.width, rng.uniform(0.15, 0.6) * scene.horizon * scene.height
        s = rng.uniform(0.004, 0.009) * scene.width
        draw.line((x - s, y - s * 0.5, x, y, x + s, y - s * 0.5), fill=colour, width=max(1, round(s / 4)))


def _bokeh(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Out-of-focus lights behind a close subject in a dark scene."""
    w, h = scene.width, scene.height
    colours = [scene.light.key, (255, 208, 136)] + ([scene.light.key2] if scene.light.key2 else [])
    for _ in range(rng.randint(8, 16)):
        r = max(1, round(rng.uniform(0.015, 0.05) * h))
        x, y = rng.uniform(0, w), rng.uniform(0.1, 0.8) * h
        img.paste(
            rng.choice(colours), (round(x) - r, round(y) - r, round(x) + r, round(y) + r), radial_mask(r, 0.45, 0.6)
        )


def _beam(img: Image.Image, scene: Scene, cx: float, floor: float, size: float) -> None:
    """A soft cone of light from above the frame down to a bright ellipse at the subject's feet."""
    w, h = scene.width, scene.height
    beam = Image.new("L", (w, h))
    draw = ImageDraw.Draw(beam)
    spread = max(size * 0.9, 0.08 * w)
    draw.polygon([(cx - 0.02 * w, 0), (cx + 0.02 * w, 0), (cx + spread, floor), (cx - spread, floor)], fill=46)
    draw.ellipse((cx - spread, floor - 0.03 * h, cx + spread, floor + 0.03 * h), fill=110)
    img.paste(scene.light.key, (0, 0), beam.filter(ImageFilter.GaussianBlur(0.01 * w)))


def _finish(img: Image.Image, scene: Scene, rng: Random) -> Image.Image:
    light, w, h = scene.light, scene.width, scene.height
    if light.pool:  # darkness around a pool of light on the subject
        cx, cy, size = _figures.subject_centre(scene)
        r = round(max(0.3 * h, size * 1.1))
        mask = Image.new("L", (w, h), 80)
        mask.paste(255, (round(cx) - r, round(cy) - r, round(cx) + r, round(cy) + r), radial_mask(r, 1.0, 0.8))
        img = ImageChops.multiply(img, Image.merge("RGB", (mask, mask, mask)))
        if scene.framing.head <= 0.1 and scene.subject is not None:  # a wide shot shows the light's source
            _beam(img, scene, cx, _figures.subject_feet(scene), size)
        glow(img, cx, cy - 0.2 * size, r * 0.7, light.key, 0.18)
    if light.neon and light.key2 is not None:
        glow(img, 0, 0.3 * h, 0.9 * h, light.key, 0.3, 1.5)
        glow(img, w, 0.45 * h, 0.9 * h, light.key2, 0.26, 1.5)
    if light.vignette > 0:
        lut = [round(255 * (1 - light.vignette * (min(1.0, v / 255) ** 2))) for v in range(256)]
        v = Image.radial_gradient("L").resize((w, h), Image.Resampling.BILINEAR).point(lut)
        img = ImageChops.multiply(img, Image.merge("RGB", (v, v, v)))
    if light.saturation != 1.0:
        img = ImageEnhance.Color(img).enhance(light.saturation)
    if light.contrast != 1.0:
        img = ImageEnhance.Contrast(img).enhance(light.contrast)
    amplitude = 7  # film grain, seeded
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(lambda v: 128 + (v - 128) * amplitude // 128)
    return ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


def render(request: ImageRequest, seed: int, *, fmt: str = "PNG") -> bytes:
    """The picture for ``request`` and ``seed``, encoded: the same arguments give the same bytes."""
    scene = plan(request, seed)
    rng = Random(seed)
    img = _background(scene, rng)
    blur = scene.framing.blur * scene.width
    if blur > 0.5 and not scene.abstract:  # abstract shapes are the subject: kept sharp
        img = img.filter(ImageFilter.GaussianBlur(blur))
        if scene.light.name in DARK_LIGHTS or "city" in scene.places:
            _bokeh(img, scene, rng)
    _figures.subject(img, scene, rng)
    img = _finish(img, scene, rng)
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", quality=90, optimize=True)
    else:
        img.save(out, "PNG", compress_level=6)
    return out.getvalue()
