"""The offline providers (issue 13): the local painter's time per 1280x720 keyframe, and the local voice's (Piper,
``en_US-joe-medium``) real-time factor, each beside a baseline from the same run: the same picture size encoded as
a JPEG from a flat array by Pillow alone, and the voice's first call (the model load) apart from the rest.

    .venv/bin/python -m pytest tests/bench/test_offline_media.py -s -o addopts=""
"""

from __future__ import annotations

import io
import statistics
import time

import httpx
from PIL import Image

from providers.base import ProviderConfig
from providers.image import ImageRequest
from providers.image.local import LocalImageProvider
from providers.speech import SpeechRequest
from providers.speech.local import LocalSpeechProvider
from tests.bench.harness import table

SHOTS = [
    ("A red kite climbs over a calm sea at sunrise", "wide", "golden_hour"),
    ("A lighthouse keeper climbs the stairs with a lamp", "medium", "low_key"),
    ("Rain on a city street at night, neon signs", "close_up", "neon"),
    ("A forest path in the fog", "extreme_wide", "soft"),
]
LINES = [
    "A red kite climbs over the sea at dawn.",
    "The wind carries it over a dark forest, where an owl is waiting on the oldest tree.",
    "At night it lands on a city roof, and the lights of the town go out one by one.",
]


async def test_offline_keyframe_and_voice() -> None:
    painter = LocalImageProvider(ProviderConfig(name="local", base_url=""))
    paint_s = []
    for seed in range(3):
        for prompt, size, light in SHOTS:
            started = time.perf_counter()
            result = await painter.generate(ImageRequest(prompt, seed=seed, shot_size=size, lighting=light))
            paint_s.append(time.perf_counter() - started)
            assert (result.width, result.height) == (1280, 720)
    started = time.perf_counter()
    for _ in range(5):
        Image.new("RGB", (1280, 720), (90, 120, 160)).save(io.BytesIO(), "JPEG", quality=90)
    flat_s = (time.perf_counter() - started) / 5

    async with httpx.AsyncClient() as http:
        voice = LocalSpeechProvider(ProviderConfig(name="local", base_url=""), http)
        started = time.perf_counter()
        first = await voice.synthesize(SpeechRequest("Hello."))
        first_s = time.perf_counter() - started
        factors, spoken = [], 0.0
        for line in LINES * 2:
            started = time.perf_counter()
            said = await voice.synthesize(SpeechRequest(line))
            took = time.perf_counter() - started
            assert said.duration_s and said.duration_s > 1
            factors.append(took / said.duration_s)
            spoken += said.duration_s
        await voice.aclose()
    assert first.duration_s

    table(
        "offline keyframe (local painter) and voice (Piper en_US-joe-medium)",
        [
            (
                "keyframe 1280x720, s",
                f"median {statistics.median(paint_s):.3f}, max {max(paint_s):.3f} over {len(paint_s)} "
                f"(baseline: a flat 1280x720 JPEG by Pillow alone {flat_s:.3f}; goal < 2 s)",
            ),
            (
                "voice real-time factor",
                f"median {statistics.median(factors):.3f} (synthesis time / audio length; {spoken:.1f} s spoken; "
                f"{1 / statistics.median(factors):.1f}x faster than real time)",
            ),
            ("voice first call (model load)", f"{first_s:.2f} s"),
        ],
    )
