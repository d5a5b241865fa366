"""Audio bytes as the speech adapters see them: the container told from its magic, a WAV built around raw PCM,
and a WAV's duration read from its header. Pure functions, no I/O.

The content type comes from the bytes, not from the provider's ``Content-Type`` header: a 200 answer that is an
HTML error page or a JSON envelope must not be stored as narration.
"""

from __future__ import annotations

import struct

WAV_HEADER_BYTES = 44


def sniff_content_type(data: bytes) -> str | None:
    """``audio/mpeg`` | ``audio/wav`` | ``audio/flac`` | ``audio/ogg`` | ``audio/aac`` from the first bytes; ``None``
    when they are no audio container we know."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:3] == b"ID3":
        return "audio/mpeg"
    if len(data) >= 2 and data[0] == 0xFF:
        if data[1] & 0xF6 == 0xF0:  # frame sync + layer bits 00: an ADTS (AAC) frame
            return "audio/aac"
        if data[1] & 0xE0 == 0xE0 and data[1] & 0x06:  # frame sync + a layer: an MPEG audio frame
            return "audio/mpeg"
    return None


def pcm_to_wav(pcm: bytes, *, sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """A canonical 44-byte-header RIFF/WAVE around little-endian PCM."""
    block_align = channels * sample_width
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        sample_width * 8,
        b"data",
        len(pcm),
    )
    return header + pcm


def wav_format(data: bytes) -> tuple[int, int, int, int] | None:
    """``(sample_rate, channels, bits_per_sample, data_bytes)`` of a RIFF/WAVE, walking its chunks; ``None`` when it
    is not one. A streamed WAV may state a data size of 0 or 0xFFFFFFFF: the bytes actually present count then."""
    if sniff_content_type(data) != "audio/wav":
        return None
    offset, fmt = 12, None
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk_id == b"fmt " and size >= 16 and body + 16 <= len(data):
            _, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (rate, channels, bits)
        elif chunk_id == b"data":
            present = len(data) - body
            data_bytes = present if size in (0, 0xFFFFFFFF) or size > present else size
            return (*fmt, data_bytes) if fmt else None
        offset = body + size + (size & 1)  # chunks are padded to an even size
    return None


def wav_duration(data: bytes) -> float | None:
    """Seconds of audio in a PCM WAV, from its header; ``None`` when that cannot be told."""
    found = wav_format(data)
    if found is None:
        return None
    rate, channels, bits, data_bytes = found
    frame_bytes = channels * ((bits + 7) // 8)
    if rate <= 0 or frame_bytes <= 0:
        return None
    return data_bytes / frame_bytes / rate
