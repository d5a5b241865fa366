"""The speech registry (every name loads lazily and satisfies the SpeechProvider Protocol), the two value types,
and the audio helpers every adapter shares (the container told from its magic, WAV building and measuring)."""

from __future__ import annotations

import dataclasses
import struct

import httpx
import pytest

from providers.base import ProviderConfig
from providers.speech import (
    SPEECH_PROVIDERS,
    SpeechProvider,
    SpeechRequest,
    SpeechResult,
    create_speech_provider,
    speech_provider_class,
)
from providers.speech._audio import pcm_to_wav, sniff_content_type, wav_duration, wav_format


@pytest.mark.parametrize("name", sorted(SPEECH_PROVIDERS))
async def test_every_speech_provider_loads_and_satisfies_the_protocol(name: str) -> None:
    """Each registry entry imports, is built by create_speech_provider without a key, has its name, and satisfies
    the Protocol (synthesize and aclose are coroutines)."""
    cls = speech_provider_class(name)
    async with httpx.AsyncClient() as http:
        provider = create_speech_provider(ProviderConfig(name=name, base_url=cls.default_base_url), http)
        assert isinstance(provider, SpeechProvider) and provider.name == name
        await provider.aclose()
        assert not http.is_closed


def test_the_registry_names_the_five_providers() -> None:
    """local, openai, minimax, elevenlabs and doubao are registered, each as "module:Class" under providers.speech."""
    assert set(SPEECH_PROVIDERS) == {"local", "openai", "minimax", "elevenlabs", "doubao"}
    assert all(spec.startswith(f"providers.speech.{name}:") for name, spec in SPEECH_PROVIDERS.items())


def test_unknown_name_is_a_clear_error() -> None:
    """An unknown provider name says which ones exist."""
    with pytest.raises(KeyError, match="known: doubao, elevenlabs, local"):
        speech_provider_class("polly")


def test_request_and_result_are_frozen_and_the_result_repr_hides_the_audio() -> None:
    """Both types are immutable; SpeechRequest's defaults are speed 1 and no voice; the audio bytes stay out of
    repr (logs)."""
    request = SpeechRequest(text="Hi")
    assert (request.voice, request.language, request.speed, request.model) == (None, None, 1.0, None)
    result = SpeechResult(data=b"RIFF-secret-bytes", content_type="audio/wav", duration_s=1.5)
    assert "secret" not in repr(result) and "audio/wav" in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.duration_s = 2.0  # type: ignore[misc]


# --- shared audio helpers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02\x00\x00", "audio/ogg"),
        (b"ID3\x04\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),  # MPEG-1 layer III
        (b"\xff\xf3\x84\xc4", "audio/mpeg"),  # MPEG-2 layer III
        (b"\xff\xf1\x50\x80", "audio/aac"),  # ADTS
        (b'{"error": "x"}', None),
        (b"<html>", None),
        (b"RIFF\x24\x00\x00\x00AVI ", None),
        (b"", None),
    ],
)
def test_sniff_content_type_tells_containers_by_magic(head: bytes, kind: str | None) -> None:
    """Each container is told from its first bytes; JSON, HTML, a RIFF that is not WAVE and nothing are None."""
    assert sniff_content_type(head) == kind


def test_pcm_to_wav_writes_a_canonical_header_that_reads_back() -> None:
    """A 44-byte PCM header: format 1, mono, the rate, 16 bits; reading it back gives the duration."""
    wav = pcm_to_wav(bytes(22050 * 2 * 3), sample_rate=22050)
    assert len(wav) == 44 + 22050 * 2 * 3
    assert struct.unpack_from("<4sI4s4sIHHIIHH4sI", wav) == (
        b"RIFF", 36 + 132300, b"WAVE", b"fmt ", 16, 1, 1, 22050, 44100, 2, 16, b"data", 132300,
    )  # fmt: skip
    assert wav_format(wav) == (22050, 1, 16, 132300) and wav_duration(wav) == pytest.approx(3.0)


def test_wav_duration_walks_extra_chunks_and_tolerates_a_streaming_size() -> None:
    """A LIST chunk before data is skipped; a data size of 0xFFFFFFFF (streamed) counts the bytes present."""
    wav = pcm_to_wav(bytes(48000), sample_rate=24000)
    fmt, data = wav[12:36], wav[36:]
    listed = b"RIFF" + struct.pack("<I", 0) + b"WAVE" + fmt + b"LIST" + struct.pack("<I", 5) + b"INFO!\x00" + data
    assert wav_duration(listed) == pytest.approx(1.0)
    streamed = wav[:40] + struct.pack("<I", 0xFFFFFFFF) + wav[44:]
    assert wav_duration(streamed) == pytest.approx(1.0)


def test_wav_duration_is_none_for_what_it_cannot_measure() -> None:
    """Not a WAV, or a WAV without fmt or data chunk: None."""
    assert wav_duration(b"\xff\xfb\x90\x64" + bytes(100)) is None
    assert wav_duration(b"RIFF\x04\x00\x00\x00WAVE") is None
    assert wav_duration(pcm_to_wav(b"", sample_rate=8000)) == 0.0
