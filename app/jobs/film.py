"""The ``film`` kind (PROTOCOL.md 8.3): the whole way from a story (or the timeline as it is) to a finished film.

Storyboard (when ``story`` is given), a keyframe for every shot without a picture, a video for every shot without a
finished one, narration for every shot with narration text and no audio, then the export: the storyboard, keyframe,
narration and export steps are child jobs (``parent_id``: the engine's ``run_child``; a film run again after a
crash finds the children its earlier run started), the videos go through the same machinery as ``video.generate``
(their state in each shot's ``video``; a video already generating is waited for). The film's progress covers every
step. Cancelling the film cancels its children (the engine) and the videos it started (here). A failed step fails
the film with that step's error; what the shots got before stays. ``result``: the export's result.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from app.errors import AppError
from app.jobs.export import ExportParams
from app.jobs.registry import JobContext, JobServices, validate_params
from protocol import Workspace, codes

VIDEO_POLL_S = 0.5
ACTIVE = ("queued", "generating")


class FilmParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    story: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    keyframes: bool = True
    videos: bool = True
    narration: bool = True
    export: dict[str, Any] = Field(default_factory=dict)


def _has_picture(shot: Workspace) -> bool:
    return bool(shot.image_path or shot.image_url)


def _says(shot: Workspace) -> bool:
    text = shot.form_data.get("narration")
    return isinstance(text, str) and bool(text.strip()) and shot.narration_audio is None


class FilmKind:
    name = "film"
    takes_workspace = False

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        checked = validate_params(FilmParams, params)
        assert isinstance(checked, FilmParams)
        try:  # film.export is checked when the film starts (PROTOCOL.md 8.2), and named so
            export = validate_params(ExportParams, checked.export)
        except AppError as exc:
            raise AppError(codes.INVALID_MESSAGE, f"export.{exc.message}", details=exc.details) from None
        return {**checked.model_dump(exclude_none=True), "export": export.model_dump(exclude_none=True)}

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        params = FilmParams.model_validate(ctx.params)
        workspaces = ctx.services.workspaces
        if params.story:
            await ctx.progress(1, "writing the storyboard")
            await ctx.run_child("storyboard", {"story": params.story}, key="storyboard")
        shots = await workspaces.list_all(ctx.project)
        if not shots:
            raise AppError(codes.INVALID_MESSAGE, "nothing to film: the timeline has no shot and no story was given")
        if params.keyframes:
            missing = [s for s in shots if not _has_picture(s)]
            for n, shot in enumerate(missing):
                await ctx.progress(15 + 20 * n // len(missing), f"painting keyframe {n + 1} of {len(missing)}")
                await ctx.run_child("keyframe", workspace_id=shot.id, key=f"keyframe:{shot.id}")
        if params.videos:
            await self._videos(ctx)
        if params.narration:
            shots = await workspaces.list_all(ctx.project)
            speaking = [s for s in shots if _says(s)]
            for n, shot in enumerate(speaking):
                await ctx.progress(70 + 10 * n // len(speaking), f"speaking narration {n + 1} of {len(speaking)}")
                await ctx.run_child("narration", workspace_id=shot.id, key=f"narration:{shot.id}")
        await ctx.progress(82, "exporting the film")
        exported = await ctx.run_child("export", params.export, key="export")
        return dict(exported.result or {})

    async def _videos(self, ctx: JobContext) -> None:
        """A video for every shot without a finished one (one already generating is waited for); the ones started
        here are cancelled if the film is."""
        video = ctx.services.video
        assert video is not None
        shots = await ctx.services.workspaces.list_all(ctx.project)
        waiting = [s.id for s in shots if s.video.status != "completed"]
        started: list[str] = []
        starts: list[asyncio.Task[Any]] = []
        try:
            for shot in shots:
                if shot.video.status not in (*ACTIVE, "completed") and _has_picture(shot):
                    started.append(shot.id)
                    # shielded: a cancel arriving mid-submit must not leave a render the film cannot find
                    starts.append(asyncio.ensure_future(video.start(ctx.project, shot.id)))
                    await asyncio.shield(starts[-1])
            while waiting:
                current = {s.id: s for s in await ctx.services.workspaces.list_all(ctx.project)}
                waiting = [i for i in waiting if i in current and current[i].video.status in ACTIVE]
                failed = [current[i] for i in current if i in started and current[i].video.status == "failed"]
                if failed:
                    error = failed[0].video.error
                    raise AppError(
                        error.code if error else codes.PROVIDER_ERROR, error.message if error else "a video failed"
                    )
                done = len(shots) - len(waiting)
                await ctx.progress(35 + 35 * done // max(len(shots), 1), f"making videos: {done} of {len(shots)} ready")
                if waiting:
                    await asyncio.sleep(VIDEO_POLL_S)
        except BaseException:
            await asyncio.gather(*starts, return_exceptions=True)  # a submit under way is stored first
            for workspace_id in started:  # cancelled or failed: stop what this film started
                with contextlib.suppress(Exception):
                    await video.cancel(ctx.project, workspace_id)
                    logger.info("film {}: cancelled the video of {}", ctx.job_id, workspace_id)
            raise
