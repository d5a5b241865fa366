"""Narration (text-to-speech) adapters: one Protocol, a registry, and one module per provider."""

from providers.speech.base import (
    SPEECH_PROVIDERS,
    SpeechProvider,
    SpeechRequest,
    SpeechResult,
    create_speech_provider,
    speech_provider_class,
)

__all__ = [
    "SPEECH_PROVIDERS",
    "SpeechProvider",
    "SpeechRequest",
    "SpeechResult",
    "create_speech_provider",
    "speech_provider_class",
]
