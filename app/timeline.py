"""The timeline of a project as it is now, as OpenTimelineIO JSON (PROTOCOL.md 8.4
``GET /api/projects/{project}/timeline.otio``), without rendering anything.

It is the export's own cut (``app.film``: ``plan_film`` then ``otio_json``), planned with the export's default
params (``ExportParams()``: cut, 24 fps, ``missing: still``, narration on, the first shot's aspect ratio): one
clip per shot in timeline order, its finished video (``/media/...``) for the video's own length, else its picture
(``/uploads/...`` or its ``http(s)`` ``image_url``) for the shot's ``duration_s``; a narration track when shots
have narration audio. A shot with neither, or whose files are gone, is left out, as the export leaves it out.

Only what the plan needs is measured: a finished video's length (its file read from the media store into a
temporary file and probed by ffmpeg, as the export probes it; remembered by URL, stored media are never
replaced), a narration's length (its stored ``duration_s``, else probed the same way), and that an uploaded
picture still exists. A picture's size only matters for drawing a still, which this never does.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import imageio_ffmpeg

from app.film import ExportOptions, FilmShot, NothingToExport, frame_size
from app.film.ffmpeg import probe, temp_copy
from app.film.otio import otio_json
from app.film.plan import FilmPlan, Measured, plan_film
from app.film.render import PROBES_AT_ONCE
from app.jobs.export import ExportParams, film_shot, media_ref, shot_media
from app.media import MediaStore
from protocol import Workspace

OTIO_CONTENT_TYPE: Final = "application/json"
_REMEMBERED: Final = 4096
SHOTS_AT_ONCE: Final = 8  # shots looked at together (a stat or a HEAD each; the probes have their own limit)


class MediaLengths:
    """The lengths of our stored videos and sounds by URL, measured once per process with ffmpeg (the film's own
    ``probe``) and remembered (the ``_REMEMBERED`` latest)."""

    def __init__(self, media: MediaStore, *, ffmpeg: str | None = None) -> None:
        self.media = media
        self.ffmpeg = ffmpeg
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._limit = asyncio.Semaphore(PROBES_AT_ONCE)

    async def length(self, url: str, stream: str) -> float | None:
        """Seconds of the first ``stream`` ("v" or "a") of the file at ``url``; None when it is not ours, is gone,
        or has no such stream."""
        found = media_ref(url)
        if found is None:
            return None
        key = (url, stream)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        async with self._limit:
            data = await self.media.read(found[0], found[1])  # type: ignore[arg-type]
            if data is None:
                return None
            path = await asyncio.to_thread(temp_copy, data, "timeline-probe-", Path(found[1]).suffix)
            try:
                measured = await probe(self.ffmpeg or imageio_ffmpeg.get_ffmpeg_exe(), path, stream)
            finally:
                await asyncio.to_thread(path.unlink, missing_ok=True)
        wanted = measured is not None and (measured.video if stream == "v" else measured.audio)
        seconds = measured.duration_s if measured is not None and wanted else None
        if seconds is None or seconds <= 0:
            return None
        self._known[key] = seconds
        while len(self._known) > _REMEMBERED:
            self._known.popitem(last=False)
        return seconds


def _stand_in(url: str | None) -> Path | None:
    """The plan wants a file for each source; it is never opened here (every clip points at its URL)."""
    return Path(url) if url else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


async def _picture_exists(media: MediaStore, url: str | None) -> bool:
    found = media_ref(url)
    if found is None:
        return bool(url and url.startswith(("http://", "https://")))
    kind, name = found
    return await media.has_upload(name) if kind == "uploads" else True


async def _one(
    shot: Workspace, n: int, params: ExportParams, media: MediaStore, lengths: MediaLengths, frame: tuple[int, int]
) -> tuple[FilmShot, Measured]:
    """The shot as the export sees it (``app.jobs.export.film_shot``, with URLs in place of copied files)."""
    video_url, picture_url, audio = shot_media(shot, params)
    narration_url = audio.get("url")
    narration_url = narration_url if isinstance(narration_url, str) else None
    video_s = await lengths.length(video_url, "v") if video_url else None
    picture = frame if await _picture_exists(media, picture_url) else None
    narration_s = _number(audio.get("duration_s"))
    if narration_url and narration_s is None:
        narration_s = await lengths.length(narration_url, "a")
    film = film_shot(
        shot, n, params, video=_stand_in(video_url), picture=_stand_in(picture_url), narration=_stand_in(narration_url)
    )
    return film, Measured(video_s=video_s, picture=picture, narration_s=narration_s)


def _empty(options: ExportOptions) -> FilmPlan:
    return FilmPlan(
        width=options.width,
        height=options.height,
        fps=options.fps,
        transition=options.transition,
        segments=(),
        frames=0,
        subtitles="none",
        cues=(),
        music=None,
        music_volume=options.music_volume,
        clip_audio=options.clip_audio,
    )


async def timeline_otio(name: str, shots: Sequence[Workspace], media: MediaStore, lengths: MediaLengths) -> str:
    """The OTIO JSON of ``shots`` (a project's workspaces in timeline order) as the export would cut them now;
    a timeline with an empty video track when none has a usable video or picture."""
    params = ExportParams()
    given = [s.form_data["aspect_ratio"] for s in shots if isinstance(s.form_data.get("aspect_ratio"), str)]
    width, height = frame_size(params.resolution, params.aspect_ratio or (given[0] if given else "16:9"))
    options = ExportOptions(
        width=width, height=height, fps=params.fps, transition=params.transition, transition_s=params.transition_s,
        missing=params.missing, narration=params.narration, music_volume=params.music_volume,
    )  # fmt: skip
    at_once = asyncio.Semaphore(SHOTS_AT_ONCE)

    async def one(n: int, shot: Workspace) -> tuple[FilmShot, Measured]:
        async with at_once:
            return await _one(shot, n, params, media, lengths, (width, height))

    pairs = await asyncio.gather(*(one(n, s) for n, s in enumerate(shots)))
    try:
        plan = plan_film([s for s, _ in pairs], [m for _, m in pairs], options)
    except NothingToExport:
        plan = _empty(options)
    return otio_json(plan, name)
