"""The kinds of job (PROTOCOL.md 8.3): a small interface, and an explicit registry from name to module, imported
lazily (as the providers' registry is). Only ``storyboard`` exists so far."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from app.errors import AppError
from protocol import Job, codes

if TYPE_CHECKING:
    from app.media import MediaStore
    from app.services.providers import ProviderPool
    from app.services.video import VideoService
    from app.services.workspaces import WorkspaceService
    from app.settings import Settings

JOB_KINDS: dict[str, str] = {
    "storyboard": "app.jobs.storyboard:StoryboardKind",
    "keyframe": "app.jobs.keyframe:KeyframeKind",
    "narration": "app.jobs.narration:NarrationKind",
    "export": "app.jobs.export:ExportKind",
    "film": "app.jobs.film:FilmKind",
}

# Jobs of one kind that run at once in one process (EXPORT_CONCURRENCY sets "export" when it exists).
DEFAULT_CONCURRENCY: dict[str, int] = {"storyboard": 4, "keyframe": 2, "narration": 2, "export": 1, "film": 2}


@dataclass
class JobServices:
    """What a kind may use: the timeline's structure, the providers, the settings."""

    workspaces: WorkspaceService
    providers: ProviderPool
    settings: Settings
    media: MediaStore | None = None  # keyframes and narration store what they make
    video: VideoService | None = None  # the film's videos, as video.generate makes them


class JobLost(Exception):
    """The job is no longer this process's to run: cancelled, timed out, or claimed again elsewhere."""


@dataclass
class JobContext:
    """One run of one job, as its kind sees it."""

    job_id: str
    project: str
    params: dict[str, Any]
    services: JobServices
    report: Callable[[int, str | None], Awaitable[None]]  # progress 0-100 and stage (throttled, never down)
    commit: Callable[[], Awaitable[None]]  # the point of no return; raises JobLost when it is too late
    # (kind, params, workspace_id, key) -> the child job once it ended (see run_child)
    child: Callable[[str, dict[str, Any], str | None, str], Awaitable[Job]] | None = None
    workspace_id: str | None = None  # the shot of a keyframe or narration job

    async def progress(self, progress: int, stage: str | None = None) -> None:
        await self.report(progress, stage)

    async def run_child(
        self, kind: str, params: dict[str, Any] | None = None, *, workspace_id: str | None = None, key: str
    ) -> Job:
        """Run a job of its own with ``parent_id`` = this job (a film's steps) and wait for it to end. ``key``
        names the step among this job's children, so a run of this job after a crash finds the child its earlier
        run started instead of starting another. A failed child raises its error (``AppError``)."""
        if self.child is None:
            raise RuntimeError("this job cannot run children")
        return await self.child(kind, dict(params or {}), workspace_id, key)


class JobKind(Protocol):
    name: str
    takes_workspace: bool  # keyframe and narration: job.start must name the workspace (PROTOCOL.md 8.2)

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        """The params as stored (defaults filled in); ``AppError`` invalid_message / unavailable otherwise."""
        ...

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        """Do the work; the job's ``result``. Raising fails the job with the error's code."""
        ...


def load_kind(name: str) -> JobKind:
    module_name, _, attr = JOB_KINDS[name].partition(":")
    kind: JobKind = getattr(importlib.import_module(module_name), attr)()
    return kind


def load_kinds() -> dict[str, JobKind]:
    return {name: load_kind(name) for name in JOB_KINDS}


def kind_for_start(kinds: dict[str, JobKind], name: str, workspace_id: str | None) -> JobKind:
    """The kind a ``job.start`` names, if it exists and ``workspace_id`` is given exactly when the kind takes one."""
    kind = kinds.get(name)
    if kind is None:
        known = ", ".join(sorted(kinds))
        raise AppError(codes.INVALID_MESSAGE, f"kind: unknown job kind {name[:32]!r}; known: {known}")
    if kind.takes_workspace and workspace_id is None:
        raise AppError(codes.INVALID_MESSAGE, f"workspace_id: a {name} job needs the workspace")
    if not kind.takes_workspace and workspace_id is not None:
        raise AppError(codes.INVALID_MESSAGE, f"workspace_id: not allowed for a {name} job")
    return kind


def validate_params(model: type[BaseModel], params: dict[str, Any]) -> BaseModel:
    """``params`` checked by a kind's strict model (an unknown key, a bad value: ``invalid_message``)."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        where = ".".join(str(p) for p in ("params", *errors[0]["loc"]))
        details = [{"loc": ["params", *e["loc"]], "msg": e["msg"]} for e in errors]
        raise AppError(codes.INVALID_MESSAGE, f"{where}: {errors[0]['msg']}", details=details) from None
