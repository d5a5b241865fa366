"""Video generation: picture + shot form -> provider task, stored on the workspace, announced to every tab.

The workspace's ``video`` sub-document is the whole state (the poller reads it back after a restart). Every
stored change bumps ``version`` and goes through the write path (``app.writes``) with the ``video.status_update``
it makes true, for every connection of the project; the requester of a ``video.generate``/``video.cancel`` gets
that same message with ``reply_to``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo.asynchronous.collection import AsyncCollection

from app.auth import signed_media_url
from app.db import VideoState, utcnow, video_to_wire
from app.errors import UNPROCESSABLE, AppError, not_found
from app.media import MediaStore
from app.services.providers import ProviderPool
from app.settings import Settings
from app.writes import Event, WritePath
from protocol import Video, VideoStatusUpdate, codes
from providers import ImageInput, ProviderError, VideoJob
from providers.http import certainly_not_received, with_retries

ACTIVE = ("queued", "generating")
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def build_job(raw: dict[str, Any], image: ImageInput) -> VideoJob:
    form = raw.get("form_data") or {}

    def text(key: str) -> str | None:
        value = form.get(key)
        return value if isinstance(value, str) and value else None

    duration = form.get("duration_s")
    seed = form.get("seed")
    return VideoJob(
        image=image,
        prompt=text("prompt") or "",
        negative_prompt=text("negative_prompt"),
        camera_movement=text("camera_movement"),
        shot_size=text("shot_size"),
        lighting=text("lighting"),
        duration_s=float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else 5.0,
        aspect_ratio=text("aspect_ratio") or "16:9",
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        model=text("model"),
    )


class VideoService:
    def __init__(
        self,
        writes: WritePath,
        providers: ProviderPool,
        media: MediaStore,
        settings: Settings,
        *,
        metrics: Any = None,
    ) -> None:
        self.writes = writes
        self.collection: AsyncCollection[dict[str, Any]] = writes.collection  # reads
        self.providers = providers
        self.media = media
        self.settings = settings
        self.metrics = metrics

    async def _load(self, project: str | None, workspace_id: str) -> dict[str, Any]:
        if not ObjectId.is_valid(workspace_id) or len(workspace_id) != 24:
            raise not_found(workspace_id)
        query: dict[str, Any] = {"_id": ObjectId(workspace_id)}
        if project is not None:
            query["project"] = project
        raw = await self.collection.find_one(query)
        if raw is None:
            raise not_found(workspace_id)
        return raw

    async def _image(self, raw: dict[str, Any]) -> ImageInput:
        path = raw.get("image_path")
        url = raw.get("image_url") or ""
        if not path and url.startswith("/uploads/"):
            path = url[1:]
        public = self.settings.public_base_url
        if path:
            name = path.split("/", 1)[-1]
            data = await self.media.read_upload(name)
            if data is None:
                raise AppError(UNPROCESSABLE, "the workspace's picture is missing on this server; upload it again")
            ext = name.rpartition(".")[2].lower()
            # behind authentication, providers get a signed URL good for this one file for a while
            public_url = signed_media_url(self.settings, public, path) if public else None
            return ImageInput(data, _CONTENT_TYPES.get(ext, "image/png"), public_url, self.media.local_upload(name))
        if url.startswith(("http://", "https://")):
            return ImageInput(b"", "image/jpeg", url, None)
        raise AppError(UNPROCESSABLE, "the workspace has no picture: upload one first")

    async def start(
        self, project: str | None, workspace_id: str, provider_name: str | None = None, *, origin: str | None = None
    ) -> tuple[str, Video]:
        """Submit a generation. Returns (project, video). Nothing is stored when the provider refuses."""
        raw = await self._load(project, workspace_id)
        project = raw["project"]
        if (raw.get("video") or {}).get("status") in ACTIVE:
            raise AppError(codes.CONFLICT, "a generation is already queued or generating for this workspace")
        prompt = (raw.get("form_data") or {}).get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise AppError(UNPROCESSABLE, "the shot form has no prompt: fill in form_data.prompt first")
        image = await self._image(raw)
        provider = self.providers.video(provider_name)
        job = build_job(raw, image)
        try:
            # a create: sent again only when it certainly never arrived (a retried timeout could bill twice)
            task = await with_retries(lambda: provider.submit(job), attempts=2, retry_if=certainly_not_received)
        except ProviderError as exc:
            if self.metrics is not None:
                self.metrics.generations.labels(provider=provider.name, outcome="refused").inc()
            logger.info("{} refused a generation for {}: {}", provider.name, workspace_id, exc.message[:200])
            raise
        now = utcnow()
        video = VideoState(
            status=task.status if task.status in ACTIVE else "queued",
            provider=provider.name,
            task_id=task.task_id,
            updated_at=now,
            started_at=now,
            next_poll_at=now + timedelta(seconds=min(self.settings.poll_interval_s, 1.0)),
        ).model_dump()
        wire = video_to_wire(video)
        stored = await self.writes.update(
            project,
            {"_id": raw["_id"], "video.status": {"$nin": list(ACTIVE)}},
            {"$set": {"video": video, "updated_at": now}, "$inc": {"version": 1}},
            self.status_events(workspace_id, wire, exclude=origin),
        )
        if not stored:  # lost a race with another generate (or a delete): do not leave an orphan task
            await self._cancel_quietly(provider.name, task.task_id)
            raise AppError(codes.CONFLICT, "a generation is already queued or generating for this workspace")
        if self.metrics is not None:
            self.metrics.generations.labels(provider=provider.name, outcome="started").inc()
        return project, wire

    async def cancel(self, project: str | None, workspace_id: str, *, origin: str | None = None) -> tuple[str, Video]:
        raw = await self._load(project, workspace_id)
        project = raw["project"]
        video = raw.get("video") or {}
        if video.get("status") not in ACTIVE:
            raise AppError(codes.CONFLICT, "no generation is queued or generating for this workspace")
        provider = self.providers.video(video.get("provider"))
        await provider.cancel(video["task_id"])
        now = utcnow()
        wire = video_to_wire({**video, "status": "cancelled", "updated_at": now})
        stored = await self.writes.update(
            project,
            {"_id": raw["_id"], "video.task_id": video["task_id"], "video.status": {"$in": list(ACTIVE)}},
            {"$set": {"video.status": "cancelled", "video.updated_at": now, "updated_at": now}, "$inc": {"version": 1}},
            self.status_events(workspace_id, wire, exclude=origin),
        )
        if not stored:
            raise AppError(codes.CONFLICT, "the generation finished before it could be cancelled")
        if self.metrics is not None:
            self.metrics.generations.labels(provider=provider.name, outcome="cancelled").inc()
        return project, wire

    async def _cancel_quietly(self, provider_name: str, task_id: str) -> None:
        try:
            await self.providers.video(provider_name).cancel(task_id)
        except Exception as exc:  # best effort: the task is orphaned either way
            logger.warning("could not cancel {} task at {}: {}", task_id, provider_name, type(exc).__name__)

    async def on_deleted(self, raw: dict[str, Any] | None) -> None:
        """A workspace was deleted: cancel its running generation at the provider, where it can."""
        video = (raw or {}).get("video") or {}
        if video.get("status") in ACTIVE and video.get("task_id"):
            await self._cancel_quietly(video.get("provider") or self.settings.video_provider, video["task_id"])

    @staticmethod
    def status_events(workspace_id: str, video: Video, *, exclude: str | None = None) -> list[Event]:
        """The ``video.status_update`` a write of ``video`` makes true (``exclude``: the requester, who gets the
        reply instead)."""
        return [(VideoStatusUpdate(workspace_id=workspace_id, video=video), exclude)]
