"""Uploaded audio (PROTOCOL.md 8.4 ``POST /api/upload/audio``): the kind decided by content, the length measured
by ffmpeg, the file stored through the ``MediaStore`` under ``uploads/`` with the extension of its kind.

Accepted, by their first bytes (never by name or by the client's content type):

- MP3: an MPEG-1/2/2.5 Layer III frame (two in a row when the file holds two), after any ID3v2 tags;
- WAV: ``RIFF....WAVE``;
- Ogg: ``OggS`` whose first packet is ``OpusHead`` (Opus) or ``\\x01vorbis`` (Vorbis; lenient: the protocol says
  "OGG/Opus", Vorbis is Ogg's other audio codec and plays in every export); any other Ogg stream is refused;
- FLAC: ``fLaC`` (also after ID3v2 tags);
- M4A: an ISO BMFF ``ftyp`` naming an audio-capable brand (``M4A``, ``M4B``, ``mp41``, ``mp42``, ``isom``, ...);
- AAC: ADTS frames (12-bit sync ``0xFFF``, layer 0: ``FF F1``/``FF F9``, with or without CRC).

Then ffmpeg reads it as that format (``-f``), twice at once: the whole first audio stream's packets copied, for
the length, and its first ``DECODE_HEAD_S`` seconds decoded, to show it is audio ffmpeg can play (decoding all of
a long low-bitrate file, hours in 10 MB, would take tens of seconds). A file ffmpeg cannot read that way, with no
audio, or with a video track (a cover picture is fine) is refused with 415.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import imageio_ffmpeg

from app.errors import UNSUPPORTED_MEDIA_TYPE, AppError
from app.film.ffmpeg import PROBE_TIMEOUT_S, parse_probe, progress_times, run_captured, temp_copy
from protocol import codes

if TYPE_CHECKING:
    from app.media import MediaStore

DECODE_HEAD_S: Final = 30
ACCEPTED: Final = "MP3, WAV, OGG (Opus or Vorbis), FLAC, M4A or AAC (ADTS)"


@dataclass(frozen=True)
class AudioFormat:
    ext: str  # of the stored name
    content_type: str
    demuxer: str  # ffmpeg's -f
    label: str


MP3 = AudioFormat("mp3", "audio/mpeg", "mp3", "MP3")
WAV = AudioFormat("wav", "audio/wav", "wav", "WAV")
OGG = AudioFormat("ogg", "audio/ogg", "ogg", "Ogg")
FLAC = AudioFormat("flac", "audio/flac", "flac", "FLAC")
M4A = AudioFormat("m4a", "audio/mp4", "mp4", "M4A")
AAC = AudioFormat("aac", "audio/aac", "aac", "AAC")

# ISO BMFF brands an audio file carries (an MP4 video names them too: its video track is refused after probing).
AUDIO_BRANDS: Final = frozenset(
    {b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"dash", b"3gp4", b"3gp5"}
)
_L3_KBPS: Final = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 (and 2.5)
}
_RATES: Final = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True)
class StoredAudio:
    name: str
    content_type: str
    duration_s: float
    size: int

    @property
    def audio_path(self) -> str:
        return f"uploads/{self.name}"

    @property
    def audio_url(self) -> str:
        return f"/uploads/{self.name}"

    def answer(self) -> dict[str, object]:
        """The body of ``POST /api/upload/audio`` (and of a direct upload's commit)."""
        return {
            "audio_path": self.audio_path,
            "audio_url": self.audio_url,
            "content_type": self.content_type,
            "duration_s": self.duration_s,
            "size": self.size,
        }


# ---- by content (pure) -----------------------------------------------------------------------------------------


def _after_id3(data: bytes) -> int | None:
    """Where the audio starts after the ID3v2 tags at the front (0: none); None for a broken tag."""
    offset = 0
    while data.startswith(b"ID3", offset):
        header = data[offset : offset + 10]
        if len(header) < 10 or header[3] == 0xFF or any(b & 0x80 for b in header[6:10]):
            return None
        size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
        offset += 10 + size + (10 if header[5] & 0x10 else 0)  # a footer follows when flagged
    return offset


def _mp3_frame(data: bytes, at: int) -> int | None:
    """The length of the MPEG audio Layer III frame whose header is at ``at``; None when there is none."""
    h = data[at : at + 4]
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE0 != 0xE0:
        return None
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3  # version 1 is reserved; layer 1 means Layer III
    bitrate, rate = h[2] >> 4, (h[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate in (0, 15) or rate == 3:
        return None
    kbps = _L3_KBPS[3 if version == 3 else 2][bitrate]
    per_frame = 144 if version == 3 else 72
    return per_frame * kbps * 1000 // _RATES[version][rate] + ((h[2] >> 1) & 1)


def _adts_frame(data: bytes, at: int) -> int | None:
    """The length of the ADTS (AAC) frame whose header is at ``at``; None when there is none."""
    h = data[at : at + 7]
    if len(h) < 7 or h[0] != 0xFF or h[1] & 0xF6 != 0xF0 or (h[2] >> 2) & 0xF > 12:
        return None
    length = ((h[3] & 3) << 11) | (h[4] << 3) | (h[5] >> 5)
    return length if length >= 7 else None


def _frames(data: bytes, at: int, frame: Callable[[bytes, int], int | None]) -> bool:
    """A frame at ``at``, and another right after it when the file goes on that far."""
    first = frame(data, at)
    if first is None:
        return False
    nxt = at + first
    return len(data) < nxt + 7 or frame(data, nxt) is not None


def _ogg_audio(data: bytes) -> bool:
    if len(data) < 28 or data[4] != 0 or not data[5] & 0x02:  # version 0, the first page of a stream
        return False
    start = 27 + data[26]  # past the segment table
    packet = data[start : start + 8]
    return packet == b"OpusHead" or packet[:7] == b"\x01vorbis"


def _bmff_audio(data: bytes) -> bool:
    size = int.from_bytes(data[:4], "big")
    if data[4:8] != b"ftyp" or size < 16 or size > len(data) or size % 4:
        return False
    brands = [data[8:12]] + [data[i : i + 4] for i in range(16, size, 4)]
    return any(brand in AUDIO_BRANDS for brand in brands)


def sniff_audio(data: bytes) -> AudioFormat | None:
    """The format of ``data`` by its first bytes, or None when it is none we accept."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return WAV
    if data[:4] == b"OggS":
        return OGG if _ogg_audio(data) else None
    if data[4:8] == b"ftyp":
        return M4A if _bmff_audio(data) else None
    start = _after_id3(data)
    if start is None or start >= len(data):
        return None
    if data[start : start + 4] == b"fLaC":
        return FLAC
    if _frames(data, start, _mp3_frame):
        return MP3
    if _frames(data, start, _adts_frame):
        return AAC
    return None


# ---- measured by ffmpeg ----------------------------------------------------------------------------------------


def probe_args(ffmpeg: str, path: Path, fmt: AudioFormat, *, decode: bool) -> list[str]:
    """Read ``path`` as ``fmt``, its first audio stream to nowhere: copied whole (``decode`` False: the last
    ``out_time_us`` is its length from its packets) or its first ``DECODE_HEAD_S`` seconds decoded."""
    output = ["-t", str(DECODE_HEAD_S)] if decode else ["-c", "copy"]
    return [
        *(ffmpeg, "-hide_banner", "-nostdin", "-f", fmt.demuxer, "-i", str(path), "-map", "0:a:0", *output),
        *("-f", "null", "-progress", "pipe:1", "-nostats", "-"),
    ]


@dataclass(frozen=True)
class _Run:
    ok: bool
    written_s: float  # the last out_time of -progress (0: nothing reached the output)
    stderr: str


async def _run(args: list[str]) -> _Run:
    """One ffmpeg run awaited without blocking the loop; killed and waited for on a timeout or cancellation."""
    ran = await run_captured(args, PROBE_TIMEOUT_S)
    if ran is None:
        raise AppError(codes.INVALID_MESSAGE, f"the audio could not be read within {PROBE_TIMEOUT_S:.0f} s")
    code, out, err = ran
    times = [t for line in out.splitlines() if (t := progress_times(line)) is not None]
    return _Run(code == 0, times[-1] if times else 0.0, err)


def _refused(fmt: AudioFormat, why: str) -> AppError:
    return AppError(UNSUPPORTED_MEDIA_TYPE, f"the file looks like {fmt.label} but {why}; send {ACCEPTED}")


async def measure_audio(data: bytes, fmt: AudioFormat, *, ffmpeg: str | None = None) -> float:
    """The length in seconds of the audio ``data`` read by ffmpeg as ``fmt`` (from its packets, all of them);
    ``AppError`` 415 when ffmpeg cannot read it so, finds no audio, a video track, or nothing its decoder can
    play in the first ``DECODE_HEAD_S`` seconds. Two ffmpeg runs at once on a temporary copy, always removed."""
    exe = ffmpeg or imageio_ffmpeg.get_ffmpeg_exe()
    path = await asyncio.to_thread(temp_copy, data, "audio-probe-", f".{fmt.ext}")
    try:
        async with asyncio.TaskGroup() as group:  # one failing cancels (and so kills) the other
            copied = group.create_task(_run(probe_args(exe, path, fmt, decode=False)))
            decoded = group.create_task(_run(probe_args(exe, path, fmt, decode=True)))
    except* AppError as failed:
        raise failed.exceptions[0] from None
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    whole, head = copied.result(), decoded.result()
    if not whole.ok or not head.ok:
        raise _refused(fmt, "ffmpeg cannot read it")
    found = parse_probe(head.stderr, "", "a")
    if found.video:
        raise _refused(fmt, "it has a video track (a video, not an audio file)")
    if not found.audio or whole.written_s <= 0 or head.written_s <= 0:
        raise _refused(fmt, "it holds no audio that can be played")
    return whole.written_s


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def check_audio(data: bytes, *, ffmpeg: str | None = None) -> tuple[AudioFormat, float]:
    """What ``data`` is by content, and its length. ``AppError``: 400 for an empty file, 415 for anything that is
    not audio we accept."""
    if not data:
        raise AppError(codes.INVALID_MESSAGE, "the file is empty")
    fmt = sniff_audio(data)
    if fmt is None:
        raise AppError(UNSUPPORTED_MEDIA_TYPE, f"the file is not audio we accept (by its content); send {ACCEPTED}")
    return fmt, round(await measure_audio(data, fmt, ffmpeg=ffmpeg), 3)


async def store_audio(media: MediaStore, data: bytes, *, ffmpeg: str | None = None) -> StoredAudio:
    """Check ``data`` (``check_audio``) and store it as ``uploads/<hex>.<ext>`` (served with its content type)."""
    fmt, duration = await check_audio(data, ffmpeg=ffmpeg)
    name = f"{secrets.token_hex(12)}.{fmt.ext}"
    await media.save("uploads", name, _once(data), fmt.content_type)
    return StoredAudio(name, fmt.content_type, duration, len(data))
