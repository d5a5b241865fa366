"""What the film renderer is given and what it gives back (PROTOCOL.md 8.3 ``export``), and its errors.

::

    FilmError              base of the renderer's own failures
    ├── NothingToExport    no shot is usable (also a ValueError: the input cannot be used -> ``invalid_message``)
    ├── BadMedia           the music is no audio ffmpeg can read (also a ValueError -> ``invalid_message``)
    └── RenderFailed       ffmpeg exited with an error; ``detail`` is the tail of what it said (paths, no secrets)

Everything else (``OSError`` writing ``out_dir``, ``asyncio.CancelledError``) passes through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Transition = Literal["cut", "crossfade", "fade"]
Missing = Literal["still", "skip"]
Subtitles = Literal["none", "srt", "burned"]
Resolution = Literal["720p", "1080p"]

SHORT_SIDES: dict[str, int] = {"720p": 720, "1080p": 1080}


class FilmError(Exception):
    """A failure of the film renderer itself."""


class NothingToExport(FilmError, ValueError):
    """No shot can be put in the film: none has a video or a picture, or every one was skipped."""


class BadMedia(FilmError, ValueError):
    """A file the film needs (the music) is no audio ffmpeg can read."""


class RenderFailed(FilmError):
    """ffmpeg could not make the film; ``detail`` is the end of its error output."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(f"{message}: {detail}" if detail else message)
        self.detail = detail


@dataclass(frozen=True)
class FilmShot:
    """One shot of the timeline, in film order.

    A clip plays for its own measured length (``duration_s`` is only what was asked of the provider, which rounds
    to its own lengths; cutting a generated take short would cut its motion). A still plays for ``duration_s``.
    """

    title: str
    duration_s: float
    video: Path | None = None  # a finished clip on local disk; None, missing or unreadable -> no video
    picture: Path | None = None  # used when there is no video and ``missing`` is "still"
    camera_movement: str | None = None  # how a still moves (app/film/still.py)
    narration: Path | None = None  # audio laid under the clip from its start
    narration_text: str | None = None  # the subtitle cue of that audio
    media_url: str | None = None  # what the OTIO clip points at when the video is shown; default the file's URI
    picture_url: str | None = None  # what it points at when the picture is shown instead; default the file's URI
    narration_url: str | None = None  # what the OTIO narration clip points at; default the file's own URI


@dataclass(frozen=True)
class ExportOptions:
    """The export params of PROTOCOL.md 8.3, already defaulted (the job kind resolves resolution and aspect ratio
    with ``frame_size``). ``clip_audio`` is our own addition: a clip's own sound is kept at this gain, under the
    narration (ducked with the music); 0 drops it."""

    width: int = 1280
    height: int = 720
    fps: int = 24
    transition: Transition = "cut"
    transition_s: float = 0.5
    missing: Missing = "still"
    narration: bool = True
    music: Path | None = None
    music_volume: float = 0.3
    music_url: str | None = None  # what the OTIO music clip points at; default the file's own URI
    subtitles: Subtitles | None = None  # None: "srt" when a shot in the film has narration audio (and narration)
    clip_audio: float = 0.25

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2 or self.width % 2 or self.height % 2:
            raise ValueError(f"the frame must have even sides: {self.width}x{self.height}")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"fps out of range: {self.fps}")
        if self.transition not in ("cut", "crossfade", "fade"):
            raise ValueError(f"unknown transition: {self.transition}")
        if not 0 <= self.transition_s <= 2:
            raise ValueError(f"transition_s must be 0-2: {self.transition_s}")
        if self.missing not in ("still", "skip"):
            raise ValueError(f"unknown missing: {self.missing}")
        if not 0 <= self.music_volume <= 1 or not 0 <= self.clip_audio <= 1:
            raise ValueError("music_volume and clip_audio must be 0-1")
        if self.subtitles not in (None, "none", "srt", "burned"):
            raise ValueError(f"unknown subtitles: {self.subtitles}")


@dataclass(frozen=True)
class Film:
    """The finished film: the MP4, its SRT sidecar (None without one) and its OpenTimelineIO file."""

    video: Path
    srt: Path | None
    otio: Path
    duration_s: float
    size_bytes: int
    shots: int


def frame_size(resolution: Resolution | str, aspect_ratio: str) -> tuple[int, int]:
    """The film's frame: the shorter side is 720 or 1080, the longer one follows the aspect ratio, both even
    (16:9 -> 1280x720, 9:16 -> 720x1280, 4:3 -> 960x720, 21:9 -> 1680x720)."""
    short = SHORT_SIDES.get(resolution)
    if short is None:
        raise ValueError(f"unknown resolution: {resolution}")
    a, sep, b = aspect_ratio.partition(":")
    if not sep or not a.isdigit() or not b.isdigit() or int(a) == 0 or int(b) == 0:
        raise ValueError(f"not an aspect ratio: {aspect_ratio!r}")
    wide, tall = int(a), int(b)
    long = round(short * max(wide, tall) / min(wide, tall) / 2) * 2
    return (long, short) if wide >= tall else (short, long)
