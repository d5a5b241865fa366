"""OpenAI text-to-speech (PROVIDERS.md 18): ``POST /v1/audio/speech`` answers the audio bytes themselves.

``input`` takes at most 4096 characters. A longer text is split at sentence ends into chunks of at most 4096, each
its own request (sent one after the other), and the answers joined. That join is only safe for headerless audio,
so every request asks for ``response_format: "pcm"`` (raw 24 kHz 16-bit mono little-endian samples, no header) and
the joined samples get one WAV header here: concatenated MP3/AAC/Opus/WAV files would each carry their own header
and stated length. The answer is therefore always ``audio/wav`` with a measured ``duration_s``; one chunk is
handled the same way, so a short and a long text give the same kind of file.

``speed`` is clamped to 0.25-4 and sent only when it is not 1 (``gpt-4o-mini-tts`` may ignore it). There is no
language parameter: the model reads the language from the text. Errors are the Chat Completions envelope
(section 8): ``insufficient_quota`` under 429 is ``ProviderQuotaExceeded``, never retried.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import ProviderBadResponse, ProviderError
from providers.http import BearerKeyAdapter
from providers.llm._openai_compat import parse_error
from providers.speech._audio import pcm_to_wav, wav_duration
from providers.speech._text import clamp_speed, require_text, split_sentences
from providers.speech.base import SpeechRequest, SpeechResult

NAME = "openai"
INPUT_LIMIT = 4096  # characters of `input` per request
PCM_SAMPLE_RATE = 24_000  # what `response_format: "pcm"` answers: 24 kHz, 16-bit signed little-endian, mono
SPEED_RANGE = (0.25, 4.0)
SYNTH_TIMEOUT = httpx.Timeout(120.0, connect=10.0)  # a 4096-character chunk takes a while to speak


# --- pure mapping -------------------------------------------------------------------------------------------------


def _build_request(request: SpeechRequest, text: str, *, model: str, voice: str) -> dict[str, Any]:
    """The ``POST /audio/speech`` body for one chunk of the text."""
    body: dict[str, Any] = {"model": model, "input": text, "voice": voice, "response_format": "pcm"}
    speed = clamp_speed(request.speed, *SPEED_RANGE, provider=NAME)
    if speed != 1.0:
        body["speed"] = speed
    return body


def _pcm(response: httpx.Response) -> bytes:
    """The raw samples of one answer; a JSON or HTML page, an empty or odd-length body is a bad response."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/json", "text/html", "text/plain"):
        raise ProviderBadResponse(f"openai: expected audio, got {kind}", provider=NAME)
    data = response.content
    if not data or len(data) % 2:
        raise ProviderBadResponse(f"openai: {len(data)} bytes are no 16-bit PCM", provider=NAME)
    return data


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    """The OpenAI error envelope, with the key masked should the message repeat it."""
    body = response.content.replace(secret.encode(), b"***") if secret else response.content
    return parse_error(response.status_code, body, response.headers, provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class OpenAISpeechProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-4o-mini-tts"
    default_voice = "alloy"  # the one voice every OpenAI speech model has
    missing_key = "openai: no API key configured"

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return _http_error(response, key)

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        """One request per chunk of at most 4096 characters; the samples joined into one WAV."""
        text = require_text(request.text, provider=NAME)
        self._key()  # refuse before any request when no key is set
        model = request.model or self._config.model or self.default_model
        voice = request.voice or self.default_voice
        chunks = split_sentences(text, INPUT_LIMIT)
        bodies = [_build_request(request, chunk, model=model, voice=voice) for chunk in chunks]
        samples = []
        for body in bodies:
            response = await self._send("POST", "/audio/speech", json=body, timeout=SYNTH_TIMEOUT)
            samples.append(_pcm(response))
        wav = pcm_to_wav(b"".join(samples), sample_rate=PCM_SAMPLE_RATE)
        return SpeechResult(data=wav, content_type="audio/wav", duration_s=wav_duration(wav))

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
