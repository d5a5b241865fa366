"""ElevenLabs text-to-speech (PROVIDERS.md 18): ``POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128``
with the key in ``xi-api-key`` answers the MP3 bytes.

Tolerant where PROVIDERS.md is unsure ([UNCONF] header name, [3P] shapes): errors are read from ``detail`` as an
object (``status``/``code`` + ``message``), a list (422 validation) or a string. ``quota_exceeded`` (sent under
401) and 402 are ``ProviderQuotaExceeded``; other 401/403 are auth errors. Per-model character limits (from
ElevenLabs' model pages, [UNCONF]) refuse a longer text before sending: MP3 answers do not join safely, so nothing
is split. ``language_code`` is sent only to the models documented to take it (the 2.5 Turbo/Flash ones; others
answer an error). ``speed`` goes in ``voice_settings`` only when it is not 1, clamped to 0.7-1.2.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from providers.base import ProviderConfig
from providers.errors import ProviderBadResponse, ProviderError, ProviderNotConfigured, ProviderQuotaExceeded
from providers.http import classify_http_error, send
from providers.speech._audio import sniff_content_type, wav_duration
from providers.speech._text import clamp_speed, primary_language, require_text
from providers.speech.base import SpeechRequest, SpeechResult

NAME = "elevenlabs"
OUTPUT_FORMAT = "mp3_44100_128"
SPEED_RANGE = (0.7, 1.2)
SYNTH_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
TEXT_LIMITS: dict[str, int] = {
    "eleven_v3": 5_000,
    "eleven_multilingual_v2": 10_000,
    "eleven_flash_v2_5": 40_000,
    "eleven_turbo_v2_5": 40_000,
    "eleven_flash_v2": 30_000,
    "eleven_turbo_v2": 30_000,
}
LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5"})
QUOTA_STATUSES = frozenset({"quota_exceeded", "payment_required", "insufficient_credits"})


# --- pure mapping -------------------------------------------------------------------------------------------------


def _build_request(request: SpeechRequest, text: str, *, model: str) -> dict[str, Any]:
    """The JSON body of ``POST /v1/text-to-speech/{voice_id}``."""
    body: dict[str, Any] = {"text": text, "model_id": model}
    speed = clamp_speed(request.speed, *SPEED_RANGE, provider=NAME)
    if speed != 1.0:
        body["voice_settings"] = {"speed": speed}
    language = primary_language(request.language)
    if language and model in LANGUAGE_CODE_MODELS:
        body["language_code"] = language
    return body


def _detail(content: bytes) -> tuple[str, str]:
    """``(status, message)`` of ElevenLabs' ``{"detail": ...}`` error body; blanks when it has none."""
    try:
        data = json.loads(content)
    except ValueError:
        return "", ""
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, dict):
        return str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or "")
    if isinstance(detail, list):  # FastAPI's 422: [{"loc": [...], "msg": "...", "type": "..."}]
        messages = [str(item.get("msg")) for item in detail if isinstance(item, dict) and item.get("msg")]
        return "validation_error", "; ".join(messages)
    if isinstance(detail, str):
        return "", detail
    return "", ""


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    """A non-2xx answer: quota by ``detail.status`` (ElevenLabs sends it under 401), else by HTTP status."""
    status, message = _detail(response.content)
    message = (message or response.reason_phrase or "error").replace(secret, "***")[:500]
    label = f" ({status})" if status else ""
    text = f"elevenlabs: {message}{label} (HTTP {response.status_code})"
    if status in QUOTA_STATUSES or response.status_code == 402:
        return ProviderQuotaExceeded(text, provider=NAME, status_code=response.status_code)
    return classify_http_error(response, text, provider=NAME)


def _parse_audio(response: httpx.Response) -> SpeechResult:
    """The answer's bytes, if they are audio."""
    content_type = sniff_content_type(response.content)
    if content_type is None:
        raise ProviderBadResponse("elevenlabs: the answer is no audio we know", provider=NAME)
    return SpeechResult(data=response.content, content_type=content_type, duration_s=wav_duration(response.content))


# --- the adapter --------------------------------------------------------------------------------------------------


class ElevenLabsSpeechProvider:
    name = NAME
    default_base_url = "https://api.elevenlabs.io"
    default_model = "eleven_multilingual_v2"
    default_voice = "JBFqnCBsd6RMkjVDRZzb"  # "George", the voice of ElevenLabs' own examples

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._base = (config.base_url or self.default_base_url).rstrip("/")

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        model = request.model or self._config.model or self.default_model
        text = require_text(request.text, provider=NAME, limit=TEXT_LIMITS.get(model))
        key = self._config.api_key
        if not key:
            raise ProviderNotConfigured("elevenlabs: no API key configured (ELEVENLABS_API_KEY)", provider=NAME)
        voice = quote(request.voice or self.default_voice, safe="")
        response = await send(
            self._http,
            "POST",
            f"{self._base}/v1/text-to-speech/{voice}",
            provider=NAME,
            error=lambda r: _http_error(r, key),
            params={"output_format": OUTPUT_FORMAT},
            headers={"xi-api-key": key, "Accept": "audio/mpeg"},
            json=_build_request(request, text, model=model),
            timeout=SYNTH_TIMEOUT,
        )
        return _parse_audio(response)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
