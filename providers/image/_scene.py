"""What the offline painter will paint, decided before any pixel: the framing from ``shot_size``, the light from
``lighting``, the places and the subject from the prompt's words, positions from the seed. Pure; ``_render``
paints it."""

from __future__ import annotations

import colorsys
import hashlib
import re
from dataclasses import dataclass
from random import Random

from providers.image._light import RGB, Light, light_for, mix
from providers.image.base import ImageRequest


@dataclass(frozen=True)
class Framing:
    """A shot size as geometry, in fractions of the frame height: a person's head height and where the top of the
    head sits; other subjects' height and where their base sits; the horizon; the background's blur (depth of
    field, a fraction of the width)."""

    name: str
    head: float
    top: float
    size: float
    base: float
    horizon: float
    blur: float
    centred: bool


FRAMINGS: dict[str, Framing] = {
    f.name: f
    for f in (
        Framing("extreme_wide", 0.012, 0.66, 0.05, 0.75, 0.58, 0.0, False),
        Framing("wide", 0.035, 0.56, 0.14, 0.82, 0.62, 0.0, False),
        Framing("full", 0.1, 0.18, 0.42, 0.92, 0.64, 0.001, False),
        Framing("medium_wide", 0.15, 0.1, 0.55, 0.95, 0.66, 0.002, False),
        Framing("medium", 0.21, 0.1, 0.7, 1.0, 0.68, 0.004, False),
        Framing("medium_close_up", 0.29, 0.1, 0.85, 1.05, 0.7, 0.006, True),
        Framing("close_up", 0.44, 0.1, 1.0, 1.12, 0.72, 0.009, True),
        Framing("extreme_close_up", 1.0, -0.12, 1.6, 1.35, 0.72, 0.013, True),
    )
}

_SHOT_WORDS: tuple[tuple[str, str], ...] = (  # first match wins
    (r"extreme(ly)? close|ecu|macro|detail|insert", "extreme_close_up"),
    (r"medium close|mcu|over the shoulder|ots", "medium_close_up"),
    (r"close|cu|tight|portrait|headshot", "close_up"),
    (r"extreme(ly)? (wide|long)|establishing|aerial|drone|panorama|vista|bird s eye", "extreme_wide"),
    (r"medium (wide|long|full)|cowboy|american|knee", "medium_wide"),
    (r"medium|mid|waist|ms", "medium"),
    (r"full|head to toe", "full"),
    (r"wide|long|ws|ls", "wide"),
)
_SHOT_PATTERNS = tuple((re.compile(rf"\b(?:{words})\b"), name) for words, name in _SHOT_WORDS)

PLACES: dict[str, tuple[str, ...]] = {
    "sea": ("sea", "ocean", "beach", "shore", "coast", "coastline", "wave", "harbour", "harbor", "lake", "river",
            "water", "bay", "island", "seaside", "pier", "surf", "port", "lighthouse"),
    "forest": ("forest", "tree", "wood", "woods", "jungle", "garden", "park", "grove", "orchard", "pine", "oak",
               "woodland"),
    "city": ("city", "street", "skyline", "building", "town", "downtown", "rooftop", "alley", "traffic",
             "skyscraper", "avenue", "metropolis", "tower", "village", "market"),
    "mountain": ("mountain", "peak", "cliff", "valley", "alps", "summit", "ridge", "glacier", "volcano"),
    "desert": ("desert", "dune", "sand", "canyon", "wasteland", "savanna"),
    "interior": ("room", "kitchen", "office", "bar", "cafe", "bedroom", "hall", "corridor", "library", "indoors",
                 "inside", "apartment", "classroom", "restaurant", "church", "shop", "store", "lab", "hallway",
                 "attic", "basement", "home", "house", "window"),
    "field": ("field", "meadow", "farm", "grass", "prairie", "road", "countryside", "hill", "plain"),
    "snow": ("snow", "snowy", "winter", "ice", "frozen", "arctic"),
}  # fmt: skip
SUBJECTS: dict[str, tuple[str, ...]] = {
    "person": ("man", "woman", "girl", "boy", "child", "kid", "person", "people", "figure", "he", "she", "hero",
               "heroine", "detective", "soldier", "dancer", "king", "queen", "stranger", "traveler", "traveller",
               "runner", "astronaut", "knight", "wizard", "lady", "father", "mother", "friend", "couple", "worker",
               "farmer", "fisherman", "sailor", "pilot", "doctor", "student", "musician", "singer", "chef",
               "warrior", "princess", "prince", "face", "character", "grandmother", "grandfather", "teenager",
               "climber", "hiker", "walker", "rider", "guard", "thief", "spy", "officer", "nurse", "artist",
               "writer", "boxer", "player", "athlete", "explorer", "monk", "priest", "witch", "we", "i"),
    "cat": ("cat", "kitten", "kitty", "tiger", "lion", "panther"),
    "dog": ("dog", "puppy", "hound", "wolf", "fox"),
    "bird": ("bird", "eagle", "crow", "raven", "seagull", "gull", "owl", "hawk", "dove", "pigeon", "kite",
             "swallow", "heron", "parrot"),
    "boat": ("boat", "ship", "sailboat", "yacht", "canoe", "kayak", "ferry", "vessel", "sail"),
    "car": ("car", "truck", "taxi", "van", "bus", "jeep", "vehicle"),
}  # fmt: skip
COLOURS: dict[str, RGB] = {
    "red": (200, 40, 40), "crimson": (170, 20, 50), "scarlet": (220, 36, 30), "orange": (232, 122, 32),
    "yellow": (232, 202, 44), "green": (52, 150, 62), "blue": (40, 90, 200), "navy": (24, 36, 96),
    "purple": (120, 50, 160), "violet": (132, 70, 190), "pink": (230, 112, 162), "white": (236, 236, 236),
    "black": (24, 24, 28), "brown": (122, 80, 50), "grey": (128, 128, 132), "gray": (128, 128, 132),
    "silver": (190, 192, 198), "teal": (30, 150, 150), "turquoise": (48, 200, 190),
}  # fmt: skip


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    light: Light
    framing: Framing
    places: frozenset[str]
    words: frozenset[str]  # the prompt's words, singular
    subject: str | None  # person, cat, dog, bird, boat, car
    accent: RGB | None  # a colour the prompt names, for the subject
    palette: tuple[RGB, ...]  # word-seeded colours, for abstract shapes
    abstract: bool  # no place or subject named: shapes instead
    horizon: float  # fraction of the height
    subject_x: float  # fraction of the width
    facing: int  # +1 looks right, -1 left
    light_x: float  # where the key light is, fraction of the width


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def framing_for(shot_size: str | None) -> Framing:
    words = " ".join(_words(shot_size or ""))
    name = next((n for pattern, n in _SHOT_PATTERNS if pattern.search(words)), "wide")
    return FRAMINGS[name]


def _first(words: list[str], table: dict[str, tuple[str, ...]]) -> list[str]:
    """The table's keys named in ``words``, in the order the prompt first names them."""
    stems = [_stem(w) for w in words]
    found: dict[str, int] = {}
    for key, names in table.items():
        hits = [i for i, (w, s) in enumerate(zip(words, stems, strict=True)) if w in names or s in names]
        if hits:
            found[key] = hits[0]
    return sorted(found, key=found.__getitem__)


def _palette(words: list[str], light: Light) -> tuple[RGB, ...]:
    """Colours seeded by the distinct words (sha256, stable across runs, unlike ``hash``), three per word in
    related hues, pulled towards the light's haze so the lighting still rules."""
    colours = []
    for word in dict.fromkeys(w for w in words if len(w) > 2) or ("untitled",):
        digest = hashlib.sha256(word.encode()).digest()
        for i in range(3):
            hue = (digest[0] / 255 + (digest[3 + i] / 255 - 0.5) * 0.5) % 1.0
            r, g, b = colorsys.hsv_to_rgb(hue, 0.4 + digest[1 + i] / 255 * 0.45, 0.55 + digest[2 + i] / 255 * 0.4)
            colours.append(mix((round(r * 255), round(g * 255), round(b * 255)), light.haze, 0.3))
    return tuple(colours[:9])


def plan(request: ImageRequest, seed: int) -> Scene:
    rng = Random(seed)
    words = _words(request.prompt)
    light = light_for(request.lighting, request.prompt)
    framing = framing_for(request.shot_size)
    places = _first(words, PLACES)
    subjects = _first(words, SUBJECTS)
    subject = subjects[0] if subjects else None
    abstract = not places and subject is None
    if subject is None and not abstract and framing.head >= FRAMINGS["full"].head:
        subject = "person"  # a shot this close is of someone
    if subject == "boat" and "sea" not in places:
        places.append("sea")
    if not places and not abstract:
        places.append("field")
    accent = next((COLOURS[w] for w in words if w in COLOURS), None)

    horizon = framing.horizon
    camera = request.camera_movement or ""
    if camera in ("tilt_up", "crane_down"):
        horizon += 0.1  # looking up: less ground
    elif camera in ("tilt_down", "crane_up"):
        horizon -= 0.12  # looking down: more ground
    if "interior" in places:
        horizon = 0.72  # the floor line
    if framing.centred:
        subject_x = 0.5 + rng.uniform(-0.05, 0.05)
        facing = rng.choice((-1, 1))
    else:
        subject_x = rng.choice((1 / 3, 2 / 3)) + rng.uniform(-0.04, 0.04)
        facing = 1 if subject_x < 0.5 else -1
    if light.name == "backlit" or light.pool:
        light_x = subject_x + rng.uniform(-0.06, 0.06)
    else:  # the sun or moon across the frame from the subject
        light_x = min(0.9, max(0.1, 1 - subject_x + rng.uniform(-0.12, 0.12)))
    return Scene(
        width=request.width,
        height=request.height,
        light=light,
        framing=framing,
        places=frozenset(places),
        words=frozenset(_stem(w) for w in words),
        subject=subject,
        accent=accent,
        palette=_palette(words, light),
        abstract=abstract,
        horizon=min(0.85, max(0.25, horizon)),
        subject_x=subject_x,
        facing=facing,
        light_x=light_x,
    )
