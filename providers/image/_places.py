"""The offline painter's places on the horizon: mountain ranges, a city skyline with windows, tree lines, a room
with a window onto the sky, and, when the prompt names nothing we know, shapes coloured by its words."""

from __future__ import annotations

import itertools
from random import Random

from PIL import Image, ImageChops, ImageDraw

from providers.image._light import RGB, mix, scale
from providers.image._paint import ground_colours, radial_mask, vgradient
from providers.image._scene import Scene

NEON = ((255, 60, 200), (0, 222, 255), (255, 230, 90))
WARM_WINDOW = (255, 208, 136)


def _ridge(rng: Random, width: int, base: float, amp: float, rough: float = 0.55) -> list[tuple[float, float]]:
    """A mountain line by midpoint displacement (129 points), never below ``base``."""
    heights = [rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)]
    spread = 0.6
    while len(heights) < 129:
        out = []
        for a, b in itertools.pairwise(heights):
            out += [a, (a + b) / 2 + rng.uniform(-spread, spread)]
        heights = [*out, heights[-1]]
        spread *= rough
    return [(i / 128 * width, base - amp * max(0.0, min(1.2, v))) for i, v in enumerate(heights)]


def mountains(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Two ranges: the far one pale with haze, the near one darker; snow on the peaks when snow is named."""
    light, w, h = scene.light, scene.width, scene.height
    hz = scene.horizon * h
    near, _ = ground_colours(scene)
    draw = ImageDraw.Draw(img)
    for depth, amp in ((0.0, 0.3), (1.0, 0.2)):
        line = _ridge(rng, w, hz + 2, amp * h * (1.0 if "mountain" in scene.places else 0.45))
        colour = mix(mix(light.haze, light.sky[2], 0.3), mix(near, (0, 0, 0), 0.35), 0.25 + 0.5 * depth)
        draw.polygon([*line, (w, hz + 2), (0, hz + 2)], fill=colour)
        if "snow" in scene.places:  # the range above a wavy snow line
            top = min(y for _, y in line)
            snow_line = [(x, top + (0.08 + 0.03 * rng.random()) * h) for x, _ in line[::8]]
            above = Image.new("L", (w, h))
            ImageDraw.Draw(above).polygon([*snow_line, (w, 0), (0, 0)], fill=255)
            shape = Image.new("L", (w, h))
            ImageDraw.Draw(shape).polygon([*line, (w, hz + 2), (0, hz + 2)], fill=255)
            img.paste(mix(colour, (246, 248, 252), 0.7), (0, 0), ImageChops.multiply(above, shape))


def city(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Two rows of buildings on the horizon; windows lit as the light says (neon colours under neon)."""
    light, w, h = scene.light, scene.width, scene.height
    hz = scene.horizon * h
    draw = ImageDraw.Draw(img)
    base_far = mix(light.haze, light.sky[2], 0.3)
    base_near = mix(scale((70, 74, 86), 0.4 + 0.6 * sum(light.sky[1]) / 765), light.sky[0], 0.25)
    for depth in (0, 1):
        x = -rng.uniform(0, 0.03) * w
        while x < w:
            bw = rng.uniform(0.03, 0.08 + 0.03 * depth) * w
            bh = rng.uniform(0.06, 0.26 + 0.1 * depth) * h * (0.8 + 0.3 * depth)
            colour = mix(base_far, base_near, 0.45 + 0.55 * depth) if depth else mix(base_far, base_near, 0.35)
            draw.rectangle((x, hz - bh, x + bw, hz + 2), fill=colour)
            if rng.random() < 0.25:
                draw.line((x + bw / 2, hz - bh, x + bw / 2, hz - bh - 0.04 * h), fill=colour, width=max(1, w // 640))
            step = max(4.0, 0.011 * w * (0.7 + 0.3 * depth))
            unlit = mix(colour, light.sky[1], 0.12)
            wy = hz - bh + step
            while wy < hz - step:
                wx = x + step * 0.6
                while wx < x + bw - step * 0.6:
                    if rng.random() < light.windows:
                        lit = rng.choice(NEON) if light.neon and rng.random() < 0.15 else WARM_WINDOW
                        fill = scale(lit, 0.55 + 0.45 * depth)
                    else:
                        fill = unlit
                    draw.rectangle((wx, wy, wx + step * 0.45, wy + step * 0.55), fill=fill)
                    wx += step
                wy += step
            x += bw + rng.uniform(0, 0.012) * w


def _pine(draw: ImageDraw.ImageDraw, x: float, base: float, size: float, colour: RGB) -> None:
    draw.rectangle((x - size * 0.03, base - size * 0.2, x + size * 0.03, base), fill=colour)
    for i in range(3):
        top, bottom, half = base - size * (1 - 0.2 * i), base - size * (0.55 - 0.185 * i), size * (0.16 + 0.07 * i)
        draw.polygon([(x, top), (x + half, bottom), (x - half, bottom)], fill=colour)


def _round_tree(draw: ImageDraw.ImageDraw, rng: Random, x: float, base: float, size: float, colour: RGB) -> None:
    draw.rectangle((x - size * 0.04, base - size * 0.45, x + size * 0.04, base), fill=colour)
    for _ in range(5):
        cx, cy = x + rng.uniform(-0.18, 0.18) * size, base - size * rng.uniform(0.55, 0.85)
        r = size * rng.uniform(0.16, 0.26)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)


def forest(img: Image.Image, scene: Scene, rng: Random) -> None:
    """A hazy far tree line, nearer trees, and, in wide shots, a dark tree framing one edge of the picture."""
    light, w, h = scene.light, scene.width, scene.height
    hz = scene.horizon * h
    near, far = ground_colours(scene)
    draw = ImageDraw.Draw(img)
    leafy = bool(scene.words & {"garden", "park", "orchard", "oak"})
    for depth, count, size in ((0, w // 14, 0.07), (1, w // 60, 0.2)):
        colour = mix(light.haze, mix(far, (0, 0, 0), 0.4), 0.35 + 0.5 * depth)
        for _ in range(count):
            x, s = rng.uniform(-0.02, 1.02) * w, size * h * rng.uniform(0.6, 1.3)
            base = hz + depth * rng.uniform(0, 0.04) * h + 2
            if leafy:
                _round_tree(draw, rng, x, base, s, colour)
            else:
                _pine(draw, x, base, s, colour)
    if scene.framing.head <= 0.1:
        x = rng.choice((0.04, 0.96)) * w
        _pine(draw, x, h * 1.02, h * rng.uniform(0.8, 1.05), mix(near, (0, 0, 0), 0.75))


def interior(img: Image.Image, scene: Scene, rng: Random) -> None:
    """A wall down to the floor line, a window onto the light's sky (away from the subject), a wooden floor."""
    light, w, h = scene.light, scene.width, scene.height
    hz = round(scene.horizon * h)
    bright = sum(light.sky[1]) / (3 * 255)
    wall = scale(mix((150, 130, 110), light.haze, 0.3), 0.35 + 0.9 * bright)
    img.paste(vgradient(w, hz, ((0.0, scale(wall, 0.7)), (1.0, wall))), (0, 0))
    floor = scale(mix((112, 78, 52), light.haze, 0.2), 0.35 + 0.8 * bright)
    img.paste(vgradient(w, h - hz, ((0.0, floor), (1.0, scale(floor, 0.45)))), (0, hz))
    draw = ImageDraw.Draw(img)
    draw.line((0, hz, w, hz), fill=scale(wall, 0.5), width=max(2, h // 120))
    left = (0.12 if scene.subject_x > 0.5 else 0.62) * w + rng.uniform(-0.03, 0.03) * w
    box = (round(left), round(0.14 * h), round(left + 0.26 * w), round(hz - 0.16 * h))
    bw, bh = box[2] - box[0], box[3] - box[1]
    if bw > 2 and bh > 2:
        zenith, middle, horizon = light.sky
        img.paste(vgradient(bw, bh, ((0.0, zenith), (0.6, middle), (1.0, horizon))), box[:2])
        if light.body == "moon" or light.stars:
            r = max(2, bh // 12)
            mx, my = box[0] + bw * 0.7, box[1] + bh * 0.3
            draw.ellipse((mx - r, my - r, mx + r, my + r), fill=(232, 236, 246))
        if light.windows > 0.3:  # the city outside at night
            for _ in range(12):
                x0, y0 = box[0] + rng.random() * bw, box[1] + bh * rng.uniform(0.6, 0.95)
                draw.rectangle((x0, y0, x0 + bw * 0.02, y0 + bh * 0.03), fill=WARM_WINDOW)
        frame = scale(mix(wall, (60, 40, 28), 0.6), 0.8)
        t = max(2, w // 160)
        draw.rectangle(box, outline=frame, width=t)
        draw.line(((box[0] + box[2]) / 2, box[1], (box[0] + box[2]) / 2, box[3]), fill=frame, width=t)
        draw.line((box[0], (box[1] + box[3]) / 2, box[2], (box[1] + box[3]) / 2), fill=frame, width=t)
        if light.body == "sun" and bright > 0.4:  # the window's light falling on the floor
            spill = Image.new("L", (w, h))
            ImageDraw.Draw(spill).polygon(
                [(box[0], hz), (box[2], hz), (box[2] + 0.25 * w, h), (box[0] + 0.1 * w, h)], fill=70
            )
            img.paste(light.key, (0, 0), spill)
    if light.pool or light.windows >= 0.5:  # a lamp
        lx, ly = (0.85 if scene.subject_x < 0.5 else 0.15) * w, hz - 0.22 * h
        r = max(1, round(0.3 * h))
        img.paste(light.key, (round(lx) - r, round(ly) - r, round(lx) + r, round(ly) + r), radial_mask(r, 0.35))
        s = 0.05 * h
        draw.polygon([(lx - s, ly - s), (lx + s, ly - s), (lx + 1.4 * s, ly + 0.4 * s), (lx - 1.4 * s, ly + 0.4 * s)],
                     fill=mix(light.key, (255, 255, 255), 0.3))  # fmt: skip
        draw.line((lx, ly + 0.4 * s, lx, hz + 0.02 * h), fill=scale(wall, 0.3), width=max(2, w // 400))


def abstract(img: Image.Image, scene: Scene, rng: Random) -> None:
    """Shapes in the prompt's word colours: many small ones above the horizon for a wide shot, one large form
    filling the frame for a close one."""
    w, h = scene.width, scene.height
    f = scene.framing
    count = 12 if f.size < 0.2 else 6 if f.size < 0.8 else 3
    for i in range(count):
        colour = scene.palette[i % len(scene.palette)]
        big = i == 0 and f.size >= 0.8
        size = (f.size * 0.6 if big else f.size * rng.uniform(0.25, 0.6)) * h
        if big:
            cx, cy = scene.subject_x * w, 0.5 * h
        else:
            cx, cy = rng.uniform(0.08, 0.92) * w, rng.uniform(0.15, scene.horizon + 0.05) * h
        mask = Image.new("L", (w, h))
        draw = ImageDraw.Draw(mask)
        alpha = rng.randint(170, 235)
        kind = "circle" if big else rng.choice(("circle", "ring", "triangle", "square", "band"))
        if kind == "circle":
            draw.ellipse((cx - size, cy - size, cx + size, cy + size), fill=alpha)
        elif kind == "ring":
            draw.ellipse((cx - size, cy - size, cx + size, cy + size), outline=alpha, width=max(2, round(size * 0.18)))
        elif kind == "triangle":
            draw.polygon([(cx, cy - size), (cx + size, cy + size * 0.8), (cx - size, cy + size * 0.8)], fill=alpha)
        elif kind == "square":
            draw.rounded_rectangle((cx - size, cy - size, cx + size, cy + size), radius=size * 0.25, fill=alpha)
        else:
            draw.rectangle((cx - 2 * size, cy - size * 0.12, cx + 2 * size, cy + size * 0.12), fill=alpha // 2)
        img.paste(colour, (0, 0), mask)
        if big:  # light on the form: a highlight towards the key light
            r = max(1, round(size * 0.8))
            hx = cx + (0.35 if scene.light_x > 0.5 else -0.35) * size
            highlight = Image.new("L", (w, h))
            highlight.paste(radial_mask(r, 0.6), (round(hx) - r, round(cy - 0.35 * size) - r))
            img.paste(
                mix(colour, (255, 255, 255), 0.6), (0, 0), Image.composite(highlight, Image.new("L", (w, h)), mask)
            )
