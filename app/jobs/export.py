"""The ``export`` kind (PROTOCOL.md 8.3): the whole timeline, in timeline order, as one film (``app.film``).

The shots' media are copied from the media store into a scratch folder of the job first (so a bucket works as
the disk does), the film is rendered there by ffmpeg with real progress, and the MP4, its SRT and its OTIO are
stored under ``media/`` (owned by the project). Nothing usable to export (no shot with a finished video or a
picture, after ``missing``) fails with ``invalid_message``; a cancel kills ffmpeg and leaves no file. At most
``EXPORT_CONCURRENCY`` exports run at once per process (the engine's limit per kind)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from app.auth import owner_of, remember_owner
from app.errors import AppError
from app.film import BadMedia, ExportOptions, FilmShot, NothingToExport, frame_size, kill_strays, render_film
from app.jobs.registry import JobContext, JobServices, validate_params
from app.media import MediaStore
from protocol import Workspace, codes

CONTENT_TYPES = {"mp4": "video/mp4", "srt": "application/x-subrip", "otio": "application/json"}


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    resolution: Literal["720p", "1080p"] = "720p"
    aspect_ratio: Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"] | None = None
    fps: Literal[24, 25, 30] = 24
    transition: Literal["cut", "crossfade", "fade"] = "cut"
    transition_s: Annotated[float, Field(ge=0, le=2)] = 0.5
    missing: Literal["still", "skip"] = "still"
    narration: bool = True
    music: Annotated[str, Field(pattern=r"^uploads/[A-Za-z0-9._-]{1,128}$")] | None = None
    music_volume: Annotated[float, Field(ge=0, le=1)] = 0.3
    subtitles: Literal["none", "srt", "burned"] | None = None


def media_ref(url: str | None) -> tuple[str, str] | None:
    """(kind, name) of a file of our media store, for ``/media/<name>`` or ``/uploads/<name>``; None otherwise."""
    if not url or not url.startswith(("/media/", "/uploads/")):
        return None
    kind, _, name = url[1:].partition("/")
    return (kind, name) if name and "/" not in name else None


async def _copy(media: MediaStore, url: str | None, folder: Path, stem: str) -> Path | None:
    """The media file ``url`` (``/media/x`` or ``/uploads/x``) copied into ``folder``; None when it is not ours or
    is gone."""
    found = media_ref(url)
    if found is None:
        return None
    kind, name = found
    target = folder / f"{stem}{Path(name).suffix}"
    return target if await media.copy_to(kind, name, target) else None  # type: ignore[arg-type]


def shot_media(shot: Workspace, params: ExportParams) -> tuple[str | None, str | None, dict[str, Any]]:
    """The URLs of what a shot brings to the film: its finished video, its picture, and its narration audio
    (``{}`` when there is none or ``narration`` is off)."""
    picture_url = shot.image_url or (f"/{shot.image_path}" if shot.image_path else None)
    video_url = shot.video.url if shot.video.status == "completed" else None
    audio = (shot.narration_audio if params.narration else None) or {}
    return video_url, picture_url, audio


def film_shot(
    shot: Workspace, n: int, params: ExportParams, *, video: Path | None, picture: Path | None, narration: Path | None
) -> FilmShot:
    """The shot as the film sees it, given the files standing for its video, picture and narration (copies here;
    ``app.timeline`` passes stand-ins it never opens)."""
    form = shot.form_data
    duration = form.get("duration_s")
    video_url, picture_url, audio = shot_media(shot, params)
    narration_url = audio.get("url")
    return FilmShot(
        title=shot.title or f"Shot {n + 1}",
        duration_s=float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else 5.0,
        video=video,
        picture=picture,
        camera_movement=form.get("camera_movement") if isinstance(form.get("camera_movement"), str) else None,
        narration=narration,
        narration_text=audio.get("text"),
        media_url=video_url,
        picture_url=picture_url,
        narration_url=narration_url if isinstance(narration_url, str) else None,
    )


async def _shot(media: MediaStore, shot: Workspace, folder: Path, n: int, params: ExportParams) -> FilmShot:
    video_url, picture_url, audio = shot_media(shot, params)
    return film_shot(
        shot,
        n,
        params,
        video=await _copy(media, video_url, folder, f"{n:03d}-video"),
        picture=await _copy(media, picture_url, folder, f"{n:03d}-picture"),
        narration=await _copy(media, audio.get("url"), folder, f"{n:03d}-narration"),
    )


def _clear_earlier_runs(job_id: str) -> None:
    """A run of this job whose process died (SIGKILL, a crash) left its scratch folder behind, and maybe its
    ffmpeg still rendering into it: kill what works there and remove the folders, before this run makes its own.
    Blocking: call it in a thread."""
    earlier = [p for p in Path(tempfile.gettempdir()).glob(f"export-{job_id}-*") if p.is_dir()]
    if not earlier:
        return
    killed = kill_strays(earlier)
    for folder in earlier:
        shutil.rmtree(folder, ignore_errors=True)
    logger.info(
        "export {}: removed {} folder(s) of an earlier run, killed {} process(es)", job_id, len(earlier), killed
    )


async def _file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


class ExportKind:
    name = "export"
    takes_workspace = False

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        checked = validate_params(ExportParams, params)
        assert isinstance(checked, ExportParams)
        return checked.model_dump(exclude_none=True)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        params = ExportParams.model_validate(ctx.params)
        media = ctx.services.media
        assert media is not None
        shots = await ctx.services.workspaces.list_all(ctx.project)
        given = [s.form_data["aspect_ratio"] for s in shots if isinstance(s.form_data.get("aspect_ratio"), str)]
        aspect: str = params.aspect_ratio or (given[0] if given else "16:9")  # the first shot's, else 16:9
        width, height = frame_size(params.resolution, aspect)
        await asyncio.to_thread(_clear_earlier_runs, ctx.job_id)
        folder = Path(tempfile.mkdtemp(prefix=f"export-{ctx.job_id}-"))
        try:
            await ctx.progress(2, "gathering the shots")
            film_shots = [await _shot(media, shot, folder, n, params) for n, shot in enumerate(shots)]
            music = None
            if params.music:  # an upload of this project only (PROTOCOL.md 9.1), as image_path is
                if await owner_of(ctx.services.workspaces.collection, params.music) != ctx.project:
                    raise AppError(codes.INVALID_MESSAGE, "params.music: no such upload in this project")
                music = await _copy(media, f"/{params.music}", folder, "music")
                if music is None:
                    raise AppError(codes.INVALID_MESSAGE, "params.music: no such upload on this server")
            options = ExportOptions(
                width=width, height=height, fps=params.fps, transition=params.transition,
                transition_s=params.transition_s, missing=params.missing, narration=params.narration,
                music=music, music_volume=params.music_volume, music_url=f"/{params.music}" if params.music else None,
                subtitles=params.subtitles,
            )  # fmt: skip

            async def progress(fraction: float, stage: str) -> None:
                await ctx.progress(5 + int(fraction * 85), stage)

            name = f"film-{ctx.job_id}-{secrets.token_hex(3)}"
            try:
                film = await render_film(film_shots, options, folder / "out", name, progress=progress)
            except NothingToExport as exc:
                raise AppError(codes.INVALID_MESSAGE, f"nothing to export: {exc}") from None
            except BadMedia as exc:
                raise AppError(codes.INVALID_MESSAGE, str(exc)) from None
            await ctx.progress(92, "storing the film")
            urls: dict[str, str | None] = {}
            for key, path in (("url", film.video), ("srt_url", film.srt), ("otio_url", film.otio)):
                if path is None:
                    urls[key] = None
                    continue
                ext = path.suffix.lstrip(".")
                await media.save("media", path.name, _file(path), CONTENT_TYPES.get(ext, "application/octet-stream"))
                await remember_owner(ctx.services.workspaces.collection, f"media/{path.name}", ctx.project)
                urls[key] = f"/media/{path.name}"
            return {**urls, "duration_s": round(film.duration_s, 3), "size_bytes": film.size_bytes, "shots": film.shots}
        finally:
            shutil.rmtree(folder, ignore_errors=True)
