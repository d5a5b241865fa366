"""MiniMax text-to-speech (PROVIDERS.md 18): ``POST /v1/t2a_v2`` with ``stream: false`` answers JSON whose
``data.audio`` is the audio as a hex string, with ``extra_info.audio_length`` in milliseconds.

As for MiniMax video (section 7b), errors usually come under HTTP 200 with ``base_resp.status_code != 0``; the code
table (1002 rate limit, 1004 auth, 1008 balance, 2013 bad parameters, ...) and its translation are shared with the
video adapter (``providers._minimax``), so MiniMax is translated once. The text may have fewer than 10,000
characters [DOC, from the t2a_v2 page; not in PROVIDERS.md]: a longer one is refused, not split (MP3 files do not
join safely). ``speed`` is clamped to MiniMax's 0.5-2. ``language`` becomes ``language_boost`` (a language name, or
``auto`` for ones we do not map). Output: MP3 at 32 kHz, mono.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers._minimax import body_error, http_error
from providers.errors import ProviderBadResponse, ProviderError
from providers.http import BearerKeyAdapter, json_or_error
from providers.speech._audio import sniff_content_type, wav_duration
from providers.speech._text import clamp_speed, primary_language, require_text
from providers.speech.base import SpeechRequest, SpeechResult

NAME = "minimax"
TEXT_LIMIT = 9_999  # "< 10000 characters"
SPEED_RANGE = (0.5, 2.0)
SYNTH_TIMEOUT = httpx.Timeout(120.0, connect=10.0)

# BCP-47 primary subtag -> MiniMax's language_boost value.
LANGUAGE_BOOST: dict[str, str] = {
    "zh": "Chinese",
    "yue": "Chinese,Yue",
    "en": "English",
    "ar": "Arabic",
    "ru": "Russian",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "tr": "Turkish",
    "nl": "Dutch",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "ja": "Japanese",
    "it": "Italian",
    "ko": "Korean",
    "th": "Thai",
    "pl": "Polish",
    "ro": "Romanian",
    "el": "Greek",
    "cs": "Czech",
    "fi": "Finnish",
    "hi": "Hindi",
}


# --- pure mapping -------------------------------------------------------------------------------------------------


def _build_request(request: SpeechRequest, text: str, *, model: str, voice: str) -> dict[str, Any]:
    """The ``POST /v1/t2a_v2`` body."""
    speed = clamp_speed(request.speed, *SPEED_RANGE, provider=NAME)
    body: dict[str, Any] = {
        "model": model,
        "text": text,
        "stream": False,
        "voice_setting": {"voice_id": voice, "speed": speed, "vol": 1.0, "pitch": 0},
        "audio_setting": {"sample_rate": 32000, "bitrate": 128000, "format": "mp3", "channel": 1},
    }
    language = primary_language(request.language)
    if language:
        body["language_boost"] = LANGUAGE_BOOST.get(language, "auto")
    return body


def _parse_audio(data: dict[str, Any]) -> SpeechResult:
    """``data.audio`` (hex) -> bytes, its container from the magic, the duration from ``extra_info.audio_length``."""
    inner = data.get("data")
    hex_audio = inner.get("audio") if isinstance(inner, dict) else None
    if not isinstance(hex_audio, str) or not hex_audio:
        raise ProviderBadResponse("minimax: t2a_v2 answer has no data.audio", provider=NAME)
    try:
        audio = bytes.fromhex(hex_audio)
    except ValueError as exc:
        raise ProviderBadResponse("minimax: data.audio is not hex", provider=NAME) from exc
    content_type = sniff_content_type(audio)
    if content_type is None:
        raise ProviderBadResponse("minimax: data.audio is no audio we know", provider=NAME)
    extra = data.get("extra_info")
    length_ms = extra.get("audio_length") if isinstance(extra, dict) else None
    if isinstance(length_ms, int | float) and not isinstance(length_ms, bool) and length_ms > 0:
        duration: float | None = length_ms / 1000.0
    else:
        duration = wav_duration(audio)
    return SpeechResult(data=audio, content_type=content_type, duration_s=duration)


# --- the adapter --------------------------------------------------------------------------------------------------


class MinimaxSpeechProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.minimax.io"
    default_model = "speech-2.8-hd"
    default_voice = "English_expressive_narrator"  # a MiniMax system voice [UNCONFIRMED id]
    missing_key = "minimax: no API key configured (MINIMAX_API_KEY)"

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return http_error(response, key)

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        text = require_text(request.text, provider=NAME, limit=TEXT_LIMIT)
        body = _build_request(
            request,
            text,
            model=request.model or self._config.model or self.default_model,
            voice=request.voice or self.default_voice,
        )
        response = await self._send("POST", "/v1/t2a_v2", json=body, timeout=SYNTH_TIMEOUT)
        data = json_or_error(response, provider=NAME)
        error = body_error(data, response, self._key())
        if error is not None:
            raise error
        return _parse_audio(data)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
