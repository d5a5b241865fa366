"""The narration (text-to-speech) interface, its two value types and the registry from name to module.

Like the video and LLM interfaces (``providers.base``): the app builds a ``ProviderConfig`` and an
``httpx.AsyncClient`` (``providers.http.make_client()``) and gets an adapter with ``create_speech_provider``. Every
adapter answers encoded audio whose ``content_type`` is decided from the bytes themselves, never from a header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from providers.base import ProviderConfig, import_from_string


@dataclass(frozen=True)
class SpeechRequest:
    """What to say. ``voice`` and ``model`` are the provider's own ids (``None``: the adapter's default);
    ``language`` is BCP-47-ish (``"en"``, ``"en-US"``, ``"de"``); ``speed`` 1.0 is the voice's natural pace."""

    text: str
    voice: str | None = None
    language: str | None = None
    speed: float = 1.0
    model: str | None = None


@dataclass(frozen=True)
class SpeechResult:
    """Encoded audio. ``duration_s`` when the provider said it or the container lets us measure it (WAV)."""

    data: bytes = field(repr=False)
    content_type: str  # audio/mpeg, audio/wav, audio/flac, audio/ogg, audio/aac: from the bytes' magic
    duration_s: float | None = None


@runtime_checkable
class SpeechProvider(Protocol):
    name: str

    async def synthesize(self, request: SpeechRequest) -> SpeechResult: ...

    async def aclose(self) -> None: ...


# name -> "module:Class". Imported lazily; tests check every entry loads and satisfies the Protocol.
SPEECH_PROVIDERS: dict[str, str] = {
    "local": "providers.speech.local:LocalSpeechProvider",
    "openai": "providers.speech.openai:OpenAISpeechProvider",
    "minimax": "providers.speech.minimax:MinimaxSpeechProvider",
    "elevenlabs": "providers.speech.elevenlabs:ElevenLabsSpeechProvider",
    "doubao": "providers.speech.doubao:DoubaoSpeechProvider",
}


def speech_provider_class(name: str) -> Any:
    try:
        return import_from_string(SPEECH_PROVIDERS[name])
    except KeyError:
        raise KeyError(f"unknown speech provider {name!r}; known: {', '.join(sorted(SPEECH_PROVIDERS))}") from None


def create_speech_provider(config: ProviderConfig, http: httpx.AsyncClient) -> SpeechProvider:
    provider: SpeechProvider = speech_provider_class(config.name)(config, http)
    return provider
