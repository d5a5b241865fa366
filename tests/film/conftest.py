"""Small real media made with ffmpeg once per session (lavfi test patterns, solid colours, sine tones), and
helpers that read back what the renderer wrote: streams from ffmpeg's own header, decoded frames and samples."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RATE = 16_000  # samples per second the tests decode sound at


def run(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


class Media:
    """Makes each kind of file once (cached by its arguments) under one session directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[tuple[object, ...], Path] = {}

    def _once(self, key: tuple[object, ...], suffix: str, *args: str) -> Path:
        if key not in self._made:
            path = self.root / (re.sub(r"\W+", "_", "_".join(map(str, key))) + suffix)
            run(*args, str(path))
            self._made[key] = path
        return self._made[key]

    def clip(
        self, w: int = 320, h: int = 180, seconds: float = 1.5, *, audio: bool = False, color: str | None = None
    ) -> Path:
        """An H.264 clip: the test pattern (or a solid colour), with a 330 Hz tone as its own sound or none."""
        picture = f"color=c={color}:s={w}x{h}:r=25:d={seconds}" if color else f"testsrc=s={w}x{h}:r=25:d={seconds}"
        sound = ["-f", "lavfi", "-i", f"sine=f=330:d={seconds}:sample_rate=44100", "-c:a", "aac"] if audio else []
        args = ["-f", "lavfi", "-i", picture, *sound, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        return self._once(("clip", w, h, seconds, audio, color), ".mp4", *args, "-shortest")

    def picture(self, w: int = 400, h: int = 300, fmt: str = "png") -> Path:
        source = ["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}", "-frames:v", "1"]
        return self._once(("picture", w, h, fmt), f".{fmt}", *source)

    def tone(self, seconds: float = 1.0, freq: int = 1000, *, rate: int = 24_000, channels: int = 1) -> Path:
        """A narration stand-in: a sine at about -9 dBFS RMS, mono 24 kHz as a TTS voice would be."""
        source = f"sine=f={freq}:d={seconds}:sample_rate={rate},volume=4"  # lavfi's sine is at 1/8 full scale
        key = ("tone", seconds, freq, rate, channels)
        return self._once(key, ".wav", "-f", "lavfi", "-i", source, "-ac", str(channels))


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return Media(tmp_path_factory.mktemp("film-media"))


@dataclass(frozen=True)
class Streams:
    duration: float
    video: str | None
    pix_fmt: str | None
    size: tuple[int, int] | None
    audio: str | None


def streams(path: Path) -> Streams:
    """The film's streams and length as ffmpeg's header states them."""
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True).stderr
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", err)
    assert duration, err
    h, m, s = duration.groups()
    video = re.search(r"Video: (\w+).*?, (\w+)(?:\(.*?\))?, (\d+)x(\d+)", err)
    audio = re.search(r"Audio: (\w+)", err)
    return Streams(
        duration=int(h) * 3600 + int(m) * 60 + float(s),
        video=video.group(1) if video else None,
        pix_fmt=video.group(2) if video else None,
        size=(int(video.group(3)), int(video.group(4))) if video else None,
        audio=audio.group(1) if audio else None,
    )


def samples(path: Path) -> np.ndarray:
    """The whole sound track, mono float32 at RATE."""
    args = ["-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(RATE), "-f", "f32le"]
    out = subprocess.run([FFMPEG, *args, "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32)


def rms(sound: np.ndarray, start: float, end: float) -> float:
    window = sound[int(start * RATE) : int(end * RATE)]
    assert len(window) > 0
    return float(np.sqrt(np.mean(window.astype(np.float64) ** 2)))


def band(sound: np.ndarray, start: float, end: float, freq: float) -> float:
    """How strong ``freq`` (±15 Hz) is in the window: the RMS of just that part of the spectrum."""
    window = sound[int(start * RATE) : int(end * RATE)].astype(np.float64)
    spectrum = np.fft.rfft(window * np.hanning(len(window)))
    freqs = np.fft.rfftfreq(len(window), 1 / RATE)
    return float(np.sqrt(np.sum(np.abs(spectrum[(freqs > freq - 15) & (freqs < freq + 15)]) ** 2)) / len(window))


def frame(path: Path, seconds: float) -> np.ndarray:
    """The decoded picture at ``seconds``, as an (h, w, 3) uint8 array."""
    size = streams(path).size
    assert size is not None
    args = ["-v", "error", "-nostdin", "-ss", f"{seconds}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo"]
    out = subprocess.run([FFMPEG, *args, "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.uint8).reshape(size[1], size[0], 3)
