"""Doubao (Volcengine speech) text-to-speech, v3 unidirectional HTTP (PROVIDERS.md 18):
``POST https://openspeech.bytedance.com/api/v3/tts/unidirectional``.

Credentials: ``config.api_key`` is the Access Token (``X-Api-Access-Key``) and ``config.secret_key`` the APP ID
(``X-Api-App-Id``), the pair PROVIDERS.md documents. Without an APP ID the key is sent alone as ``X-Api-Key``, the
single key of Volcengine's newer console [3P: two client implementations and a doc digest]. ``config.model`` (or
``request.model``) is the ``X-Api-Resource-Id``: ``seed-tts-2.0`` (default) or ``seed-tts-1.0``; the default
speaker follows it, since a speaker only works with its own resource (``*_uranus_bigtts`` for 2.0, ``*_moon_bigtts``
for 1.0). Other resources (voice clones) need ``request.voice``.

The answer is a stream of JSON objects, one a line (concatenated objects are read too): ``{"code": 0, "data":
"<base64 chunk>"}`` ... ended by ``{"code": 20000000, "message": "ok"}``. An error is a line (or a non-2xx body)
with another code [3P error table, DOC 6561/2534853 digest]: 45000000 is a refused request, a concurrency/QPS quota
(rate limited), a spent trial quota or a speaker not granted to the account, told apart by the message; 45000292
is a rate limit; other 4xxxxxxx are refused requests; 5xxxxxxx are server errors (retryable). The chunks joined are
one MP3 (24 kHz). ``speed`` becomes ``speech_rate`` (-50..100, 100 = 2x); ``language`` becomes
``additions.explicit_language`` for the languages the API names, else the service detects it.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from providers.base import ProviderConfig
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.http import classify_http_error, parse_retry_after, send
from providers.speech._audio import sniff_content_type, wav_duration
from providers.speech._text import clamp_speed, primary_language, require_text
from providers.speech.base import SpeechRequest, SpeechResult

NAME = "doubao"
CHUNK_CODE = 0
DONE_CODE = 20_000_000
RATE_LIMIT_CODES = frozenset({45_000_292})
SPEED_RANGE = (0.5, 2.0)  # speech_rate -50..100
SYNTH_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_SPEAKERS: dict[str, str] = {
    "seed-tts-2.0": "zh_female_vv_uranus_bigtts",
    "seed-tts-1.0": "zh_female_shuangkuaisisi_moon_bigtts",
    "volc.service_type.10029": "zh_female_shuangkuaisisi_moon_bigtts",  # seed-tts-1.0's other name
}
EXPLICIT_LANGUAGES: dict[str, str] = {
    "zh": "zh-cn",
    "en": "en",
    "ja": "ja",
    "es": "es-mx",
    "id": "id",
    "pt": "pt-br",
    "de": "de",
    "fr": "fr",
}


# --- pure mapping -------------------------------------------------------------------------------------------------


def _build_request(request: SpeechRequest, text: str, *, speaker: str) -> dict[str, Any]:
    """The JSON body: ``req_params`` with the text, speaker and audio parameters."""
    audio: dict[str, Any] = {"format": "mp3", "sample_rate": 24000}
    speed = clamp_speed(request.speed, *SPEED_RANGE, provider=NAME)
    if speed != 1.0:
        audio["speech_rate"] = round((speed - 1.0) * 100)
    params: dict[str, Any] = {"text": text, "speaker": speaker, "audio_params": audio}
    language = EXPLICIT_LANGUAGES.get(primary_language(request.language) or "")
    if language:
        params["additions"] = json.dumps({"explicit_language": language})  # a JSON *string* on the wire
    return {"user": {"uid": "workspace-server"}, "req_params": params}


def _code_error(code: int, message: str, *, status_code: int | None, retry_after: float | None) -> ProviderError:
    """A Doubao status code (not 0, not 20000000) -> our error."""
    text = f"doubao: {message[:500] or 'error'} (code {code})"
    lowered = message.lower()
    if code in RATE_LIMIT_CODES or "concurrency" in lowered or "qps" in lowered:
        return ProviderRateLimited(text, provider=NAME, status_code=status_code, retry_after=retry_after)
    if "quota exceeded" in lowered:  # e.g. "quota exceeded for types: xxx_lifetime": the trial is spent
        return ProviderQuotaExceeded(text, provider=NAME, status_code=status_code)
    if "permission denied" in lowered or "access denied" in lowered or "authenticate" in lowered:
        return ProviderAuthError(text, provider=NAME, status_code=status_code)
    if code >= 50_000_000:
        return ProviderUnavailable(text, provider=NAME, status_code=status_code)
    return ProviderInvalidRequest(text, provider=NAME, status_code=status_code)


def _objects(content: bytes) -> Iterator[Any]:
    """Each JSON value of the body: one a line, several concatenated on a line, or ``data:``-prefixed lines."""
    decoder = json.JSONDecoder()
    for raw in content.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        position = 0
        while position < len(line):
            try:
                value, end = decoder.raw_decode(line, position)
            except ValueError as exc:
                raise ProviderBadResponse("doubao: a stream line is not JSON", provider=NAME) from exc
            yield value
            position = end
            while position < len(line) and line[position].isspace():
                position += 1


def _code(item: dict[str, Any]) -> int:
    try:
        return int(item.get("code") or 0)
    except (TypeError, ValueError):
        return -1


def _parse_stream(response: httpx.Response, secret: str) -> SpeechResult:
    """The base64 ``data`` chunks joined, up to the line with code 20000000; any other code raises."""
    chunks: list[bytes] = []
    for item in _objects(response.content):
        if not isinstance(item, dict):
            raise ProviderBadResponse("doubao: a stream line is not a JSON object", provider=NAME)
        code = _code(item)
        if code == DONE_CODE:
            break
        if code != CHUNK_CODE:
            message = str(item.get("message") or "").replace(secret, "***")
            raise _code_error(
                code, message, status_code=response.status_code, retry_after=parse_retry_after(response.headers)
            )
        data = item.get("data")
        if isinstance(data, str) and data:
            try:
                chunks.append(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise ProviderBadResponse("doubao: an audio chunk is not base64", provider=NAME) from exc
    else:
        raise ProviderBadResponse("doubao: the stream ended without its final code 20000000", provider=NAME)
    audio = b"".join(chunks)
    content_type = sniff_content_type(audio)
    if content_type is None:
        raise ProviderBadResponse("doubao: the stream carried no audio we know", provider=NAME)
    return SpeechResult(data=audio, content_type=content_type, duration_s=wav_duration(audio))


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    """A non-2xx answer: Doubao's code when the body has one, else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    message = message.replace(secret, "***")
    code = _code(body) if isinstance(body, dict) else 0
    if code not in (0, -1, DONE_CODE):
        return _code_error(
            code, message, status_code=response.status_code, retry_after=parse_retry_after(response.headers)
        )
    reason = message or response.reason_phrase or "error"
    return classify_http_error(response, f"doubao: {reason[:500]} (HTTP {response.status_code})", provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class DoubaoSpeechProvider:
    name = NAME
    default_base_url = "https://openspeech.bytedance.com"
    default_model = "seed-tts-2.0"  # the X-Api-Resource-Id

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._base = (config.base_url or self.default_base_url).rstrip("/")

    def _headers(self, resource: str) -> dict[str, str]:
        key = self._config.api_key
        if not key:
            raise ProviderNotConfigured("doubao: no access key configured (DOUBAO_SPEECH_ACCESS_KEY)", provider=NAME)
        auth = {"X-Api-App-Id": self._config.secret_key, "X-Api-Access-Key": key} if self._config.secret_key else {}
        return {
            **(auth or {"X-Api-Key": key}),
            "X-Api-Resource-Id": resource,
            "X-Api-Request-Id": str(uuid.uuid4()),
        }

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        text = require_text(request.text, provider=NAME)
        resource = request.model or self._config.model or self.default_model
        speaker = request.voice or DEFAULT_SPEAKERS.get(resource)
        if not speaker:
            message = f"doubao: resource {resource} has no default speaker; name a voice"
            raise ProviderInvalidRequest(message, provider=NAME)
        headers = self._headers(resource)
        key = self._config.api_key or ""
        response = await send(
            self._http,
            "POST",
            f"{self._base}/api/v3/tts/unidirectional",
            provider=NAME,
            error=lambda r: _http_error(r, key),
            headers=headers,
            json=_build_request(request, text, speaker=speaker),
            timeout=SYNTH_TIMEOUT,
        )
        return _parse_stream(response, key)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
