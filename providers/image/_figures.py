"""The offline painter's subject: a person, cat, dog, bird, boat or car, drawn as up to three masks (clothes /
skin / hair and shoes; body / eyes; hull / sail; body / glass / wheels) at the framing's scale, then coloured
with the light: a lit and a shaded side, darker towards a silhouette as the light says, and a rim of the light's
colour on the edges that face it.

Shapes are data: parts in the subject's own units (a person's head height, an animal's height, a boat's mast),
x towards where the subject faces, y down from its origin (the top of a person's head, else its base)."""

from __future__ import annotations

from random import Random

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from providers.image._light import RGB, mix, scale
from providers.image._scene import Scene

# (kind, layer, flat x/y pairs, value): value is the fill (255, or 0 to cut) or, for line and arc, the width.
Part = tuple[str, int, tuple[float, ...], float]
Draws = tuple[ImageDraw.ImageDraw, ImageDraw.ImageDraw, ImageDraw.ImageDraw]
NIGHT_BLACK = (6, 6, 10)


def _mirror(parts: list[Part]) -> list[Part]:
    """Each part again with x negated: the other arm, leg, hand and foot."""
    return [
        (k, layer, tuple(-v if i % 2 == 0 else v for i, v in enumerate(xy)), value) for k, layer, xy, value in parts
    ]


_LIMBS: list[Part] = [
    ("poly", 0, (0.98, 1.55, 0.7, 1.7, 0.82, 3.85, 1.1, 3.8), 255),  # arm
    ("ellipse", 1, (0.83, 3.75, 1.09, 4.08), 255),  # hand
    ("poly", 0, (0.8, 4.1, 0.06, 4.1, 0.12, 7.25, 0.5, 7.25), 255),  # leg
]
# fmt: off
PERSON_HEAD: list[Part] = [  # in head heights, from the top of the head; 7.5 heads tall
    ("ellipse", 1, (-0.4, 0, 0.4, 1), 255), ("poly", 1, (0.3, 0.38, 0.5, 0.62, 0.33, 0.7), 255),  # head, nose
    ("rect", 1, (-0.15, 0.8, 0.15, 1.3), 255),  # neck
    ("ellipse", 2, (-0.43, -0.04, 0.39, 0.72), 255),  # hair
]
LONG_HAIR: Part = ("ellipse", 2, (-0.56, 0.05, 0.1, 1.6), 255)
FACE_CUT: Part = ("ellipse", 2, (-0.22, 0.24, 0.5, 1.08), 0)  # the face cut out of the hair
PERSON_BODY: list[Part] = [
    ("ellipse", 0, (-0.98, 1.15, 0.98, 1.95), 255),  # shoulders
    ("poly", 0, (-0.98, 1.55, 0.98, 1.55, 0.8, 4.3, -0.8, 4.3), 255),  # torso
    *_LIMBS, *_mirror(_LIMBS),
    ("ellipse", 2, (0.17, 7.12, 0.69, 7.5), 255), ("ellipse", 2, (-0.45, 7.12, 0.07, 7.5), 255),  # shoes
]
COAT: Part = ("poly", 0, (-0.98, 1.6, 0.98, 1.6, 1.15, 5.6, -1.15, 5.6), 255)
CAT: list[Part] = [  # sitting; 1 = its height
    ("ellipse", 0, (-0.28, -0.62, 0.28, 0), 255), ("ellipse", 0, (-0.19, -0.78, 0.19, -0.3), 255),
    ("ellipse", 0, (-0.14, -1.01, 0.2, -0.72), 255),
    ("poly", 0, (-0.14, -0.94, -0.09, -1.16, 0.0, -0.96), 255),  # ears
    ("poly", 0, (0.06, -0.94, 0.15, -1.16, 0.2, -0.96), 255),
    ("ellipse", 1, (-0.065, -0.89, -0.015, -0.84), 255), ("ellipse", 1, (0.075, -0.89, 0.125, -0.84), 255),
    ("arc", 0, (-0.55, -0.4, -0.05, 0.02), 0.06),  # tail
]
DOG: list[Part] = [  # standing side on; 1 = to the top of the head
    ("ellipse", 0, (-0.52, -0.7, 0.42, -0.3), 255),  # body
    ("rect", 0, (-0.44, -0.42, -0.33, 0), 255), ("rect", 0, (-0.3, -0.42, -0.19, 0), 255),  # legs
    ("rect", 0, (0.14, -0.42, 0.25, 0), 255), ("rect", 0, (0.27, -0.42, 0.38, 0), 255),
    ("poly", 0, (0.18, -0.66, 0.38, -0.92, 0.58, -0.82, 0.42, -0.46), 255),  # neck
    ("ellipse", 0, (0.32, -1.0, 0.64, -0.72), 255), ("rect", 0, (0.54, -0.9, 0.8, -0.74), 255),  # head, muzzle
    ("ellipse", 1, (0.76, -0.91, 0.83, -0.84), 255),  # nose
    ("poly", 0, (0.42, -0.98, 0.32, -0.7, 0.48, -0.78), 255),  # ear
    ("line", 0, (-0.44, -0.6, -0.58, -0.72, -0.66, -0.9), 0.05),  # tail
]
BIRD: list[Part] = [  # in flight; 1 = the wing span; origin at its centre
    ("ellipse", 0, (-0.22, -0.05, 0.22, 0.05), 255), ("ellipse", 0, (0.15, -0.07, 0.25, 0.02), 255),
    ("poly", 0, (-0.08, -0.02, -0.28, -0.2, -0.52, -0.3, -0.42, -0.12, -0.18, 0.03), 255),  # wings
    ("poly", 0, (0.02, -0.02, 0.22, -0.22, 0.46, -0.34, 0.38, -0.14, 0.12, 0.03), 255),
    ("poly", 0, (-0.2, 0, -0.34, -0.05, -0.34, 0.06), 255),  # tail
]
BOAT: list[Part] = [  # 1 = the mast; origin on the waterline
    ("poly", 0, (-0.5, -0.1, 0.5, -0.1, 0.4, 0.04, -0.38, 0.04), 255), ("line", 0, (0, -0.1, 0, -1), 0.015),
    ("poly", 1, (0.02, -0.95, 0.02, -0.16, 0.42, -0.16), 255),  # sails
    ("poly", 1, (-0.02, -0.85, -0.02, -0.18, -0.3, -0.18), 255),
]
CAR: list[Part] = [  # 1 = its length
    ("rect", 0, (-0.5, -0.3, 0.5, -0.1), 255), ("poly", 0, (-0.28, -0.29, -0.18, -0.45, 0.2, -0.45, 0.32, -0.29), 255),
    ("poly", 1, (-0.24, -0.3, -0.16, -0.42, 0.18, -0.42, 0.27, -0.3), 255),
    ("ellipse", 2, (-0.4, -0.2, -0.2, 0.0), 255), ("ellipse", 2, (0.2, -0.2, 0.4, 0.0), 255),
]
SHAPES: dict[str, list[Part]] = {"cat": CAT, "dog": DOG, "bird": BIRD, "boat": BOAT, "car": CAR}
COLOURS: dict[str, tuple[tuple[RGB, ...], tuple[RGB, ...], tuple[RGB, ...]]] = {
    "person": (((62, 64, 74), (92, 70, 58), (48, 64, 88), (110, 104, 96)),
               ((224, 186, 160), (198, 150, 118), (150, 104, 76), (104, 72, 54)),
               ((34, 26, 22), (70, 48, 30), (120, 90, 50), (20, 20, 24))),
    "cat": (((70, 60, 55), (200, 140, 80), (40, 40, 44), (150, 150, 150)), ((150, 200, 90),), ((0, 0, 0),)),
    "dog": (((120, 90, 60), (200, 170, 120), (40, 36, 34)), ((20, 16, 14),), ((0, 0, 0),)),
    "bird": (((40, 40, 46), (236, 236, 236), (90, 70, 50)), ((0, 0, 0),), ((0, 0, 0),)),
    "boat": (((236, 236, 230), (120, 40, 36), (40, 60, 110)), ((240, 236, 224),), ((0, 0, 0),)),
    "car": (((170, 34, 34), (40, 60, 120), (200, 200, 204), (30, 30, 32)), ((120, 140, 160),), ((18, 18, 20),)),
}
# fmt: on


def _draw(draws: Draws, parts: list[Part], ox: float, oy: float, unit: float, facing: int) -> None:
    """Each part onto its layer's mask, scaled by ``unit`` from the origin, mirrored when facing left."""
    for kind, layer, xy, value in parts:
        points = [(ox + facing * xy[i] * unit, oy + xy[i + 1] * unit) for i in range(0, len(xy), 2)]
        draw = draws[layer]
        if kind == "poly":
            draw.polygon(points, fill=round(value))
            continue
        if kind == "line":
            draw.line(points, fill=255, width=max(1, round(value * unit)))
            continue
        (x0, y0), (x1, y1) = points
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if kind == "ellipse":
            draw.ellipse(box, fill=round(value))
        elif kind == "rect":
            draw.rectangle(box, fill=round(value))
        else:  # the lower half of an ellipse
            draw.arc(box, 0, 180, fill=255, width=max(1, round(value * unit)))


def placement(scene: Scene, rng: Random) -> tuple[list[Part], float, float, float]:
    """The subject's parts, origin (x, y in pixels) and unit in pixels, for the scene's framing."""
    w, h, f = scene.width, scene.height, scene.framing
    cx = scene.subject_x * w
    if scene.subject == "person":  # long hair or not, a coat or not
        hair = [LONG_HAIR] if rng.random() < 0.4 else []
        coat = [COAT] if rng.random() < 0.5 else []
        return [*PERSON_HEAD, *hair, FACE_CUT, *PERSON_BODY, *coat], cx, f.top * h, f.head * h
    if scene.subject == "bird":
        return BIRD, cx, min(0.5, scene.horizon * 0.5 + f.size * 0.3) * h, f.size * h * 1.1
    size = f.size * h * (1.8 if scene.subject in ("car", "boat") else 1.0)
    base = (scene.horizon + (f.base - scene.horizon) * 0.5) * h if scene.subject == "boat" else f.base * h
    return SHAPES[scene.subject or "cat"], cx, base, size


def subject_centre(scene: Scene) -> tuple[float, float, float]:
    """The middle of the subject and its rough radius in pixels (where a pool of light falls)."""
    h, f = scene.height, scene.framing
    if scene.subject in (None, "person"):
        return scene.subject_x * scene.width, (f.top + 2 * f.head) * h, 3.5 * f.head * h
    return scene.subject_x * scene.width, (f.base - 0.5 * f.size) * h, 0.6 * f.size * h


def subject_feet(scene: Scene) -> float:
    """Where the subject stands (pixels from the top): a person's feet, else its base."""
    f = scene.framing
    if scene.subject in (None, "person"):
        return (f.top + 7.4 * f.head) * scene.height
    return f.base * scene.height


def _tones(colour: RGB, scene: Scene) -> tuple[RGB, RGB]:
    """The lit side and the shaded side of a surface of ``colour`` under the scene's light."""
    light = scene.light
    r, g, b = (min(255, round(c * (0.45 + 0.7 * k / 255))) for c, k in zip(colour, light.key, strict=True))
    shaded = mix(scale(colour, 0.5), light.sky[0], 0.25)
    return mix((r, g, b), NIGHT_BLACK, light.shade * 0.85), mix(shaded, NIGHT_BLACK, light.shade)


def _shift(mask: Image.Image, dx: int, dy: int) -> Image.Image:
    out = Image.new("L", mask.size)
    out.paste(mask, (dx, dy))
    return out


def subject(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Draw the subject's masks, colour them lit-to-shaded across the figure, then add the rim light."""
    if scene.subject is None:
        return
    w, h = scene.width, scene.height
    masks = [Image.new("L", (w, h)) for _ in range(3)]
    draws: Draws = (ImageDraw.Draw(masks[0]), ImageDraw.Draw(masks[1]), ImageDraw.Draw(masks[2]))
    parts, ox, oy, unit = placement(scene, rng)
    _draw(draws, parts, ox, oy, unit, scene.facing)
    union = ImageChops.lighter(ImageChops.lighter(masks[0], masks[1]), masks[2])
    box = union.getbbox()
    if box is None:
        return
    light_right = scene.light_x * w >= ox
    gradient = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90)  # 255 on the right
    if not light_right:
        gradient = gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    size = (box[2] - box[0], box[3] - box[1])
    gradient = gradient.resize(size)
    soft = ImageFilter.GaussianBlur(max(0.6, unit * 0.006))
    palette = COLOURS[scene.subject]
    for i, mask in enumerate(masks):
        colour = scene.accent if i == 0 and scene.accent is not None else rng.choice(palette[i])
        lit, shaded = _tones(colour, scene)
        part = Image.composite(Image.new("RGB", size, lit), Image.new("RGB", size, shaded), gradient)
        img.paste(part, box[:2], mask.crop(box).filter(soft))
    rim_width = max(1, round(min(w, h) * 0.004 + unit * 0.02))
    dx = -rim_width if light_right else rim_width
    edge = ImageChops.subtract(union, _shift(union, dx, 0))
    top = ImageChops.subtract(union, _shift(union, 0, max(1, rim_width // 2)))
    strength = 0.25 + 0.6 * scene.light.shade
    blur = ImageFilter.GaussianBlur(max(0.8, rim_width * 0.5))
    rim = ImageChops.lighter(edge, top).filter(blur).point(lambda v: round(v * strength))
    img.paste(mix(scene.light.key, (255, 255, 255), 0.3), (0, 0), rim)
    if scene.light.key2 is not None:  # neon: the second colour on the other side
        other = ImageChops.subtract(union, _shift(union, -dx, 0)).filter(blur)
        img.paste(scene.light.key2, (0, 0), other.point(lambda v: round(v * strength)))
