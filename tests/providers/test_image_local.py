"""The offline keyframe painter: deterministic, the right size, a real picture (not a flat card), and shot form
and prompt visibly steering it. Measured on the decoded pixels; no network, no sleeps."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from providers.base import ProviderConfig
from providers.errors import ProviderInvalidRequest
from providers.image import ImageProvider, ImageRequest, ImageResult
from providers.image._light import light_for
from providers.image._scene import framing_for, plan
from providers.image.local import LocalImageProvider, derived_seed


def make_request(**overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {"prompt": "A man waits on a hill", "shot_size": "wide", "lighting": "golden_hour"}
    return ImageRequest(**(values | overrides))


@pytest.fixture
def provider() -> LocalImageProvider:
    return LocalImageProvider(ProviderConfig(name="local", base_url=""))


async def paint(provider: LocalImageProvider, **overrides: Any) -> tuple[ImageResult, Image.Image]:
    result = await provider.generate(make_request(**({"seed": 11} | overrides)))
    return result, Image.open(io.BytesIO(result.data)).convert("RGB")


def centre_dark_share(img: Image.Image) -> float:
    """The share of the picture's middle (a third wide, half high) darker than 70 of 255."""
    w, h = img.size
    middle = img.crop((w // 3, h // 4, 2 * w // 3, 3 * h // 4)).convert("L")
    return sum(middle.histogram()[:70]) / (middle.size[0] * middle.size[1])


def saturation(img: Image.Image) -> float:
    """Mean HSV saturation, 0..1."""
    return ImageStat.Stat(img.convert("HSV")).mean[1] / 255


# --- determinism and size -----------------------------------------------------------------------------------------


async def test_the_same_request_and_seed_give_the_same_bytes(provider):
    first, _ = await paint(provider, seed=123)
    second, _ = await paint(provider, seed=123)
    assert first.data == second.data
    assert first.seed == second.seed == 123


async def test_another_seed_gives_another_picture(provider):
    first, a = await paint(provider, seed=1)
    second, b = await paint(provider, seed=2)
    assert first.data != second.data
    small = (64, 36)  # averages the film grain away: what differs is the layout
    assert sum(ImageStat.Stat(ImageChops.difference(a.resize(small), b.resize(small))).mean) / 3 > 3


async def test_without_a_seed_one_is_derived_from_the_request(provider):
    """No seed: the same request still paints the same picture, and says which seed it used."""
    first = await provider.generate(make_request())
    second = await provider.generate(make_request())
    assert first.data == second.data
    assert first.seed == derived_seed(make_request())
    other = await provider.generate(make_request(prompt="A woman waits on a hill"))
    assert other.seed != first.seed


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (1024, 1024), (640, 272), (64, 48)])
async def test_the_picture_has_the_requested_size(provider, size):
    result, img = await paint(provider, width=size[0], height=size[1])
    assert (result.width, result.height) == size == img.size
    assert result.content_type == "image/jpeg"


async def test_png_on_request():
    provider = LocalImageProvider(ProviderConfig(name="local", base_url=""), image_format="png")
    result = await provider.generate(make_request(seed=3, width=320, height=180))
    assert result.content_type == "image/png" and result.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("size", [(0, 720), (1280, 8), (5000, 720), (4096, 4096)])
async def test_sizes_out_of_range_are_refused(provider, size):
    with pytest.raises(ProviderInvalidRequest):
        await provider.generate(make_request(width=size[0], height=size[1]))


# --- a real picture -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "shot", "lighting"),
    [
        ("A man waits on a hill", "wide", "golden_hour"),
        ("A detective in a rainy city street", "medium", "neon"),
        ("An old woman by the window of her kitchen", "close_up", "low_key"),
        ("A boat on the sea under the moon", "wide", "night"),
        ("Memories of a forgotten promise", "close_up", "high_key"),
        ("A dog runs through a field", "extreme_wide", "overcast"),
    ],
)
async def test_the_picture_is_not_flat(provider, prompt, shot, lighting):
    """Every kind of frame has real tonal range and thousands of distinct colours: no grey card."""
    _, img = await paint(provider, prompt=prompt, shot_size=shot, lighting=lighting)
    spread = sum(ImageStat.Stat(img.convert("L")).stddev)
    colours = img.getcolors(maxcolors=1 << 22)
    assert spread > 12, spread
    assert colours is not None and len(colours) > 500


async def test_a_daylight_frame_has_strong_contrast(provider):
    _, img = await paint(provider, lighting="soft_daylight")
    assert ImageStat.Stat(img.convert("L")).stddev[0] > 25


# --- the shot form steers it --------------------------------------------------------------------------------------


async def test_night_is_darker_than_high_key(provider):
    _, night = await paint(provider, lighting="night")
    _, bright = await paint(provider, lighting="high_key")
    assert ImageStat.Stat(night.convert("L")).mean[0] + 100 < ImageStat.Stat(bright.convert("L")).mean[0]


async def test_golden_hour_is_warm_and_night_is_blue(provider):
    _, golden = await paint(provider, lighting="golden_hour")
    _, night = await paint(provider, lighting="night")
    r, _, b = ImageStat.Stat(golden).mean
    assert r > b + 30
    r, _, b = ImageStat.Stat(night).mean
    assert b > r + 10


async def test_neon_is_magenta_and_cyan_not_green(provider):
    _, img = await paint(provider, prompt="A street in the city", lighting="neon")
    r, g, b = ImageStat.Stat(img).mean
    assert r > g and b > g


async def test_overcast_is_greyer_than_daylight(provider):
    _, grey = await paint(provider, lighting="overcast")
    _, sunny = await paint(provider, lighting="soft_daylight")
    assert saturation(grey) < saturation(sunny) - 0.1


async def test_low_key_is_dark_around_a_pool_of_light(provider):
    """Low key: dark overall, but the subject's pool is much brighter than the frame's corners."""
    _, img = await paint(provider, shot_size="close_up", lighting="low_key")
    grey = img.convert("L")
    w, h = grey.size
    corners = [grey.crop(box) for box in ((0, 0, w // 8, h // 8), (w - w // 8, 0, w, h // 8))]
    corner = sum(ImageStat.Stat(c).mean[0] for c in corners) / 2
    middle = ImageStat.Stat(grey.crop((w * 2 // 5, h // 4, w * 3 // 5, h // 2))).mean[0]
    assert ImageStat.Stat(grey).mean[0] < 80
    assert middle > corner + 40


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_wide_and_close_up_are_composed_differently(provider, seed):
    """Against a golden-hour sky, a wide shot's middle is mostly sky and land; a close-up's is the subject's dark
    silhouette filling the frame."""
    _, wide = await paint(provider, shot_size="wide", seed=seed)
    _, close = await paint(provider, shot_size="close_up", seed=seed)
    assert centre_dark_share(wide) < 0.1
    assert centre_dark_share(close) > 0.4


async def test_the_prompts_words_change_the_scene(provider):
    """Sea, city and forest prompts at the same seed and light paint different scenes; a sea's lower half is
    bluer than a desert's."""
    pictures = {}
    for prompt in ("A lighthouse by the sea", "A tall city skyline", "A path through the forest", "A desert road"):
        _, pictures[prompt] = await paint(provider, prompt=prompt, lighting="soft_daylight")
    assert len({img.tobytes() for img in pictures.values()}) == 4
    w, h = pictures["A desert road"].size
    lower = (0, h * 3 // 4, w, h)
    sea_r, _, sea_b = ImageStat.Stat(pictures["A lighthouse by the sea"].crop(lower)).mean
    sand_r, _, sand_b = ImageStat.Stat(pictures["A desert road"].crop(lower)).mean
    assert sea_b - sea_r > sand_b - sand_r + 30


async def test_unknown_words_paint_word_coloured_shapes(provider):
    """A prompt naming no place or subject still paints something, coloured by its own words."""
    _, a = await paint(provider, prompt="Memories of a forgotten promise", shot_size="close_up")
    _, b = await paint(provider, prompt="Thoughts about tomorrow", shot_size="close_up")
    assert a.tobytes() != b.tobytes()


# --- the planner (pure) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "framing"),
    [
        ("close_up", "close_up"),
        ("Close-Up", "close_up"),
        ("extreme close up", "extreme_close_up"),
        ("ECU", "extreme_close_up"),
        ("MCU", "medium_close_up"),
        ("medium", "medium"),
        ("medium wide", "medium_wide"),
        ("extreme_wide", "extreme_wide"),
        ("establishing shot", "extreme_wide"),
        ("full shot", "full"),
        (None, "wide"),
        ("something else", "wide"),
    ],
)
def test_shot_sizes_are_read_from_their_words(text, framing):
    assert framing_for(text).name == framing


@pytest.mark.parametrize(
    ("lighting", "prompt", "preset"),
    [
        ("golden_hour", "", "golden_hour"),
        ("Golden Hour", "", "golden_hour"),
        ("blue_hour", "", "blue_hour"),
        ("soft_daylight", "", "soft_daylight"),
        ("low_key", "", "low_key"),
        ("high key", "", "high_key"),
        ("rembrandt", "", "rembrandt"),
        ("neon", "", "neon"),
        (None, "a street at night", "night"),
        (None, "a knight rides out", "soft_daylight"),  # a word, not a substring
        (None, "dawn over the sea", "dawn"),
        ("high_contrast", "at night", "high_contrast"),  # the form wins over the prompt
    ],
)
def test_lighting_comes_from_the_form_then_the_prompt(lighting, prompt, preset):
    assert light_for(lighting, prompt).name == preset


def test_the_planner_reads_places_and_the_first_named_subject():
    scene = plan(make_request(prompt="A cat watches a dog on the beach near the city", seed=1), 1)
    assert scene.subject == "cat"
    assert {"sea", "city"} <= scene.places
    assert not scene.abstract


def test_a_close_shot_of_a_place_gets_a_person_and_no_words_get_shapes():
    assert plan(make_request(prompt="A quiet forest", shot_size="close_up"), 1).subject == "person"
    assert plan(make_request(prompt="A quiet forest", shot_size="wide"), 1).subject is None
    assert plan(make_request(prompt="Memories of a promise"), 1).abstract


# --- the adapter --------------------------------------------------------------------------------------------------


async def test_it_paints_in_a_thread_without_blocking_the_loop(provider):
    """While a 1280x720 frame is painted the event loop keeps running other tasks; the time is printed (and
    bounded loosely: it is about 0.1 s on a 2-core machine)."""
    ticks = 0
    started = time.perf_counter()
    job = asyncio.create_task(provider.generate(make_request(shot_size="close_up", seed=5)))
    while not job.done():
        ticks += 1
        await asyncio.sleep(0)
    result = await job
    elapsed = time.perf_counter() - started
    print(f"\nlocal keyframe 1280x720: {elapsed:.3f} s, {len(result.data) // 1024} KiB, {ticks} loop turns")
    assert ticks > 20
    assert elapsed < 5


async def test_satisfies_the_protocol(provider):
    assert isinstance(provider, ImageProvider)
    assert provider.name == "local"
    await provider.aclose()
