"""The film as an OpenTimelineIO timeline, for editors: one video track with one clip per shot in film order,
the transitions between them, and audio tracks for the narrations and the music.

A transition in OTIO does not shorten the track: it sits on the cut, reaching ``in_offset`` before it into the
outgoing clip and ``out_offset`` after it into the incoming one, whose media past their visible ranges are the
handles. So each clip's source range is what is seen of it up to the cut in the middle of its overlap, and the
track lasts exactly as long as the film. A crossfade is an ``SMPTE_Dissolve``; a fade through black has no
standard type, so it is a ``Custom_Transition`` named "fade through black" with ``metadata["film"]["xfade"]``
= "fadeblack" (what ffmpeg drew), which an editor shows as a transition it cannot play as such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from app.film.plan import FilmPlan

AUDIO_RATE = 48_000


def _url(url: str | None, path: Path) -> str:
    return url or path.resolve().as_uri()


def _frames(n: float, fps: int) -> Any:
    return otio.opentime.RationalTime(n, fps)


def _range(start: float, duration: float, rate: int) -> Any:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate))


def _video_track(plan: FilmPlan) -> Any:
    track = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    fps, segs = plan.fps, plan.segments
    for k, seg in enumerate(segs):
        if seg.transition_in:
            before = seg.transition_in // 2
            fade = plan.transition == "fade"
            track.append(
                otio.schema.Transition(
                    name="fade through black" if fade else "crossfade",
                    transition_type=otio.schema.TransitionTypes.Custom
                    if fade
                    else otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=_frames(before, fps),
                    out_offset=_frames(seg.transition_in - before, fps),
                    metadata={"film": {"xfade": "fadeblack" if fade else "fade"}},
                )
            )
        start = seg.transition_in // 2  # seen from the cut in the middle of the overlap before it
        end = seg.frames  # to the cut in the middle of the overlap after it
        if k + 1 < len(segs):
            end = segs[k + 1].start_frame + segs[k + 1].transition_in // 2 - seg.start_frame
        reference = otio.schema.ExternalReference(
            target_url=_url(seg.shot.media_url if seg.kind == "video" else seg.shot.picture_url, seg.source),
            available_range=_range(0, seg.frames, fps) if seg.kind == "video" else None,
        )
        metadata: dict[str, Any] = {"kind": seg.kind, "shot_index": seg.shot_index}
        if seg.kind == "still":
            metadata["camera_movement"] = seg.shot.camera_movement
            metadata["duration_s"] = seg.frames / fps
        track.append(
            otio.schema.Clip(
                name=seg.shot.title or f"Shot {seg.shot_index + 1}",
                media_reference=reference,
                source_range=_range(start, end - start, fps),
                metadata={"film": metadata},
            )
        )
    return track


def _narration_track(plan: FilmPlan) -> Any | None:
    voiced = [s for s in plan.segments if s.narration is not None]
    if not voiced:
        return None
    track = otio.schema.Track(name="Narration", kind=otio.schema.TrackKind.Audio)
    cursor = 0
    for seg in voiced:
        assert seg.narration is not None
        start = round(seg.start_frame / plan.fps * AUDIO_RATE)
        length = round(seg.narration_s * AUDIO_RATE)
        if start > cursor:
            track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(start - cursor, AUDIO_RATE)))
        track.append(
            otio.schema.Clip(
                name=f"{seg.shot.title or f'Shot {seg.shot_index + 1}'} narration",
                media_reference=otio.schema.ExternalReference(target_url=_url(seg.shot.narration_url, seg.narration)),
                source_range=_range(0, length, AUDIO_RATE),
                metadata={"film": {"text": seg.shot.narration_text, "shot_index": seg.shot_index}},
            )
        )
        cursor = start + length
    return track


def _music_track(plan: FilmPlan, music_url: str | None) -> Any | None:
    if plan.music is None:
        return None
    track = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    track.append(
        otio.schema.Clip(
            name="Music",
            media_reference=otio.schema.ExternalReference(target_url=_url(music_url, plan.music)),
            source_range=_range(0, round(plan.duration_s * AUDIO_RATE), AUDIO_RATE),
            metadata={"film": {"volume": plan.music_volume, "looped": True, "ducked_under_narration": True}},
        )
    )
    return track


def film_timeline(plan: FilmPlan, name: str, music_url: str | None = None) -> Any:
    timeline = otio.schema.Timeline(name=name, global_start_time=_frames(0, plan.fps))
    timeline.metadata["film"] = {"width": plan.width, "height": plan.height, "fps": plan.fps}
    timeline.tracks.append(_video_track(plan))
    for track in (_narration_track(plan), _music_track(plan, music_url)):
        if track is not None:
            timeline.tracks.append(track)
    return timeline


def otio_json(plan: FilmPlan, name: str, music_url: str | None = None) -> str:
    """The timeline as OTIO JSON (what ``otio.adapters.read_from_file`` reads back from a ``.otio`` file)."""
    text: str = film_timeline(plan, name, music_url).to_json_string()
    return text
