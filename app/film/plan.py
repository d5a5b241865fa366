"""The film's timing, worked out before ffmpeg runs: which shots make it in and as what, where each starts, how
long each transition and narration lasts, the subtitle cues and the sizes. Pure: the measurements come in.

Everything is counted in frames of the film, so the offsets given to ``xfade`` are exact and the planned length
is the length ffmpeg writes. A transition overlaps two clips by ``transition_s`` (rounded to frames) but by at
most half of either clip, so a short clip is never overlapped from both sides past its length.

A narration starts with its clip and plays for its measured length, but stops where its clip ends or where the
next narration starts, whichever is first: voices never overlap, and each subtitle cue is exactly its audio.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.film.model import ExportOptions, FilmShot, NothingToExport, Subtitles, Transition


@dataclass(frozen=True)
class Measured:
    """What was measured of one shot's files (None: absent, unreadable, or of no use)."""

    video_s: float | None = None  # the clip's video stream length
    video_audio: bool = False  # the clip has a sound track of its own
    picture: tuple[int, int] | None = None  # the picture's upright size
    narration_s: float | None = None  # the narration audio's length


@dataclass(frozen=True)
class Segment:
    """One shot as it appears in the film."""

    shot: FilmShot
    shot_index: int  # its position in the given list
    kind: Literal["video", "still"]
    source: Path  # the clip, or the picture of a still
    frames: int
    start_frame: int  # where it starts in the film
    transition_in: int  # frames shared with the segment before (0 for the first)
    transition_out: int  # frames shared with the segment after (0 for the last)
    picture_size: tuple[int, int] | None = None  # a still's picture size
    clip_audio: bool = False  # the clip's own sound is mixed in
    narration: Path | None = None
    narration_s: float = 0.0  # how long the narration plays (0: none)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class FilmPlan:
    width: int
    height: int
    fps: int
    transition: Transition
    segments: tuple[Segment, ...]
    frames: int
    subtitles: Subtitles
    cues: tuple[Cue, ...]
    music: Path | None
    music_volume: float
    clip_audio: float

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def seconds(self, frames: int) -> float:
        return frames / self.fps


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest even-sided size of ``size``'s shape inside ``box`` (scaled to fit, never stretched)."""
    (sw, sh), (bw, bh) = size, box
    if sw * bh >= sh * bw:  # as wide or wider than the box: its width bites
        return bw, min(bh, max(2, round(bw * sh / sw / 2) * 2))
    return min(bw, max(2, round(bh * sw / sh / 2) * 2)), bh


def _choose(
    shot: FilmShot, got: Measured, options: ExportOptions
) -> tuple[Literal["video", "still"], Path, int] | None:
    """How the shot enters the film: its clip, its picture as a still, or not at all (None)."""
    if shot.video is not None and got.video_s is not None and got.video_s > 0:
        return "video", shot.video, max(1, round(got.video_s * options.fps))
    if options.missing == "still" and shot.picture is not None and got.picture is not None:
        return "still", shot.picture, max(1, round(shot.duration_s * options.fps))
    return None


def transition_frames(options: ExportOptions, before: int, after: int) -> int:
    """The overlap of two consecutive segments of ``before`` and ``after`` frames."""
    if options.transition == "cut" or options.transition_s <= 0:
        return 0
    return max(0, min(round(options.transition_s * options.fps), before // 2, after // 2))


def plan_film(shots: Sequence[FilmShot], measured: Sequence[Measured], options: ExportOptions) -> FilmPlan:
    """The film of these shots, in their order; raises NothingToExport when none can be shown."""
    if len(shots) != len(measured):
        raise ValueError("one measurement per shot")
    chosen = [(i, c) for i, (s, m) in enumerate(zip(shots, measured, strict=True)) if (c := _choose(s, m, options))]
    if not chosen:
        raise NothingToExport("no shot has a usable video or picture")
    frames = [c[2] for _, c in chosen]
    overlaps = [0] + [transition_frames(options, a, b) for a, b in itertools.pairwise(frames)] + [0]
    starts = [0]
    for k in range(1, len(frames)):
        starts.append(starts[-1] + frames[k - 1] - overlaps[k])
    total = starts[-1] + frames[-1]
    fps = options.fps

    def narration_s(k: int) -> float:
        shot_index = chosen[k][0]
        length = measured[shot_index].narration_s
        return length if options.narration and shots[shot_index].narration and length and length > 0 else 0.0

    voiced = [narration_s(k) for k in range(len(chosen))]
    segments: list[Segment] = []
    for k, (shot_index, (kind, source, n)) in enumerate(chosen):
        shot, got = shots[shot_index], measured[shot_index]
        played = 0.0
        if voiced[k] > 0:
            end = starts[k] + n
            following = next((starts[j] for j in range(k + 1, len(chosen)) if voiced[j] > 0), end)
            played = min(voiced[k], (min(end, following) - starts[k]) / fps)
        segments.append(
            Segment(
                shot=shot,
                shot_index=shot_index,
                kind=kind,
                source=source,
                frames=n,
                start_frame=starts[k],
                transition_in=overlaps[k],
                transition_out=overlaps[k + 1],
                picture_size=got.picture if kind == "still" else None,
                clip_audio=kind == "video" and got.video_audio and options.clip_audio > 0,
                narration=shot.narration if played > 0 else None,
                narration_s=played,
            )
        )
    cues = tuple(
        Cue(s.start_frame / fps, s.start_frame / fps + s.narration_s, " ".join(text.split()))
        for s in segments
        if s.narration is not None and (text := (s.shot.narration_text or "").strip())
    )
    subtitles = options.subtitles or ("srt" if any(s.narration for s in segments) else "none")
    return FilmPlan(
        width=options.width,
        height=options.height,
        fps=fps,
        transition=options.transition,
        segments=tuple(segments),
        frames=total,
        subtitles=subtitles,
        cues=cues,
        music=options.music,
        music_volume=options.music_volume,
        clip_audio=options.clip_audio,
    )


@dataclass(frozen=True)
class Piece:
    """The part ``[first, last)`` of a segment's frames that one ffmpeg pass draws, starting at ``start`` in the
    pass's own frames; ``fade_in``: it is joined to the piece before by its transition (0: butted)."""

    segment: Segment
    first: int
    last: int
    start: int
    fade_in: int


@dataclass(frozen=True)
class Chunk:
    """The film's frames ``[first_frame, first_frame + frames)``, drawn by one ffmpeg pass."""

    first_frame: int
    frames: int
    pieces: tuple[Piece, ...]


def chunks(plan: FilmPlan, max_inputs: int) -> tuple[Chunk, ...]:
    """The film cut into passes of at most ``max_inputs`` pieces (ffmpeg decodes every input of a pass at once,
    so its memory grows with them: ~50 MB a 1080p clip). A pass ends where a segment is shown alone, never inside
    a transition: the segment just after the transition is split there, its head drawn by the pass ending and its
    rest by the next, so the passes' pictures join frame-exact with no seam to blend."""
    if max_inputs < 2:
        raise ValueError("a pass must be able to hold the two sides of a transition")
    segs = plan.segments
    out: list[Chunk] = []
    i = 0
    while i < len(segs):
        # the pass starts at segment i's own part (its head, in the transition before it, was drawn already)
        begin = segs[i].start_frame + (segs[i].transition_in if out else 0)
        j = min(len(segs), i + max_inputs)  # segments i..j-1 whole (the first without its head) ...
        if j < len(segs) and segs[j].transition_in:
            j -= 1  # ... leaving a place for the head of segment j, which shares the last frames
        j = max(j, i + 1)
        end = plan.frames if j == len(segs) else segs[j].start_frame + segs[j].transition_in
        pieces = []
        for k in range(i, min(j + 1, len(segs))):
            seg = segs[k]
            first = seg.transition_in if k == i and out else 0
            last = seg.frames if k < j else seg.transition_in
            if last > first:
                fade = seg.transition_in if k > i else 0
                pieces.append(Piece(seg, first, last, seg.start_frame + first - begin, fade))
        out.append(Chunk(begin, end - begin, tuple(pieces)))
        i = j
    return tuple(out)


def whole_film(plan: FilmPlan) -> Chunk:
    """The whole film as one pass."""
    return chunks(plan, max(2, len(plan.segments)))[0]
