"""The single video status poller.

One asyncio task per process; a lease document in MongoDB makes it one per deployment. Its state is the
database: every ``POLL_INTERVAL_S`` the lease holder reads the workspaces whose ``video.status`` is queued or
generating and due (``video.next_poll_at``), asks each provider for its task's status with bounded
concurrency, stores every change (guarded by ``video.task_id``, so a newer generation or a cancel is never
overwritten) and publishes ``video.status_update``. Transient errors and 429s back off (honouring
Retry-After) without failing the task; a task older than ``VIDEO_TIMEOUT_S`` fails with ``timeout``; a
finished video is downloaded into media storage first, since provider URLs expire, under the media policy of
``app.media_fetch`` (a URL it refuses fails the generation with ``provider_error`` at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.db import utcnow, video_to_wire
from app.media_fetch import MediaFetcher, MediaRefused, bounded, file_chunks, local_file
from app.services.video import ACTIVE, VideoService
from protocol import codes
from providers import ProviderError, ProviderRateLimited, TaskStatus

LEASE_ID = "video-poller"
MAX_BACKOFF_S = 60.0
MAX_DOWNLOAD_FAILURES = 5
LOCAL_PROVIDER = "local"  # the one provider that hands over files of this server (PROTOCOL.md 9.5)


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


class Poller:
    def __init__(
        self,
        workspaces: AsyncCollection[dict[str, Any]],
        leases: AsyncCollection[dict[str, Any]],
        video: VideoService,
        *,
        interval_s: float,
        timeout_s: float,
        concurrency: int = 16,
        metrics: Any = None,
        fetcher: MediaFetcher | None = None,
    ) -> None:
        self.workspaces = workspaces
        self.leases = leases
        self.video = video
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.lease_ttl = timedelta(seconds=max(3 * interval_s, 1.0))
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.concurrency = concurrency
        self.metrics = metrics
        self.fetcher = fetcher or MediaFetcher()
        self.state = "starting"
        self._stop: asyncio.Event | None = None
        self.last_cycle = {"tasks": 0, "requests": 0, "seconds": 0.0}

    # ---- lease -------------------------------------------------------------------------------------------

    async def acquire_lease(self) -> bool:
        now = utcnow()
        try:
            doc = await self.leases.find_one_and_update(
                {"_id": LEASE_ID, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self.lease_ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # someone else holds a live lease
            return False
        return doc is not None and doc.get("owner") == self.owner

    async def release_lease(self) -> None:
        with contextlib.suppress(Exception):
            await self.leases.delete_one({"_id": LEASE_ID, "owner": self.owner})

    # ---- cycle -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until ``stop()``; a cycle in progress is finished, not cut off in the middle of a write."""
        self._stop = asyncio.Event()
        try:
            while not self._stop.is_set():
                try:
                    await self.run_once()
                except Exception as exc:  # the database may be away; try again next interval
                    logger.warning("poll cycle failed: {}: {}", type(exc).__name__, str(exc)[:200])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.interval_s)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.release_lease(), 2.0)
        finally:
            self.state = "stopped"

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def run_once(self) -> int:
        """One cycle; returns the number of tasks checked (0 when another process holds the lease)."""
        if not await self.acquire_lease():
            self.state = "standby"
            return 0
        self.state = "running"
        started = time.perf_counter()
        now = utcnow()
        cursor = self.workspaces.find(
            {"video.status": {"$in": list(ACTIVE)}},
            {"project": 1, "video": 1},
        )
        due = [raw async for raw in cursor if (_aware(raw["video"].get("next_poll_at")) or now) <= now]
        semaphore = asyncio.Semaphore(self.concurrency)
        requests = 0

        async def check(raw: dict[str, Any]) -> None:
            nonlocal requests
            async with semaphore:
                requests += 1
                await self._check(raw)

        await asyncio.gather(*(check(raw) for raw in due))
        elapsed = time.perf_counter() - started
        self.last_cycle = {"tasks": len(due), "requests": requests, "seconds": elapsed}
        if self.metrics is not None:
            self.metrics.poll_cycle.observe(elapsed)
        return len(due)

    async def _check(self, raw: dict[str, Any]) -> None:
        video = raw["video"]
        workspace_id = str(raw["_id"])
        task_id = video.get("task_id")
        started_at = _aware(video.get("started_at")) or utcnow()
        if (utcnow() - started_at).total_seconds() > self.timeout_s:
            await self._finish(
                raw, "failed", error={"code": codes.TIMEOUT, "message": f"not finished after {self.timeout_s:g} s"}
            )
            await self.video.on_deleted(raw)  # cancel at the provider where it can
            return
        try:
            provider = self.video.providers.video(video.get("provider"))
            status = await provider.status(task_id)
        except ProviderError as exc:
            if exc.retryable:
                await self._back_off(raw, exc)
                return
            await self._finish(raw, "failed", error={"code": codes.PROVIDER_ERROR, "message": exc.message})
            return
        except Exception as exc:
            logger.opt(exception=exc).warning("status check of {} failed", workspace_id)
            await self._back_off(raw, exc)
            return
        await self._apply(raw, status)

    async def _apply(self, raw: dict[str, Any], status: TaskStatus) -> None:
        video = raw["video"]
        if status.status == "completed":
            try:
                url = await self._download(raw, status.video_url)
            except MediaRefused as exc:  # will not become acceptable: no retries
                logger.warning("video of {} refused: {}", raw["_id"], str(exc)[:200])
                refused = f"the provider's video was refused: {exc}"[:500]
                await self._finish(raw, "failed", error={"code": codes.PROVIDER_ERROR, "message": refused})
                return
            except Exception as exc:
                failures = int(video.get("poll_failures") or 0) + 1
                logger.warning("download of {} failed ({}): {}", raw["_id"], failures, type(exc).__name__)
                if failures >= MAX_DOWNLOAD_FAILURES:
                    await self._finish(
                        raw,
                        "failed",
                        error={"code": codes.PROVIDER_ERROR, "message": "the finished video could not be downloaded"},
                    )
                else:
                    await self._back_off(raw, exc)
                return
            # a file:// URL is a path on this server (the local renderer): not the clients' business
            source = status.video_url if (status.video_url or "")[:5].lower() != "file:" else None
            await self._finish(raw, "completed", url=url, source_url=source, progress=100)
            return
        if status.status in ("failed", "cancelled"):
            error = None
            if status.status == "failed":
                error = {"code": codes.PROVIDER_ERROR, "message": status.error or "the provider failed the task"}
            await self._finish(raw, status.status, error=error)
            return
        progress = video.get("progress") or 0
        if status.progress is not None:
            progress = max(progress, min(100, max(0, int(status.progress))))
        changed = status.status != video.get("status") or progress != video.get("progress")
        if not changed:  # nothing to store: the task stays due for the next cycle (no write per task per cycle)
            if video.get("poll_failures"):
                await self.workspaces.update_one(
                    {"_id": raw["_id"], "video.task_id": video.get("task_id")},
                    {"$set": {"video.poll_failures": 0, "video.next_poll_at": utcnow()}},
                )
            return
        fields = {"video.status": status.status, "video.progress": progress, "video.poll_failures": 0}
        await self._store(raw, {**fields, "video.next_poll_at": utcnow()})

    async def _back_off(self, raw: dict[str, Any], exc: BaseException) -> None:
        failures = int(raw["video"].get("poll_failures") or 0) + 1
        delay = min(MAX_BACKOFF_S, self.interval_s * 2 ** min(failures, 8))
        if isinstance(exc, ProviderRateLimited) and exc.retry_after is not None:
            delay = max(exc.retry_after, self.interval_s * 0.5)
        await self.workspaces.update_one(
            {"_id": raw["_id"], "video.task_id": raw["video"].get("task_id")},
            {"$set": {"video.next_poll_at": utcnow() + timedelta(seconds=delay), "video.poll_failures": failures}},
        )

    async def _finish(self, raw: dict[str, Any], status: str, **fields: Any) -> None:
        update = {f"video.{k}": v for k, v in fields.items()}
        update["video.status"] = status
        if self.metrics is not None:
            outcome = status if status != "failed" else (fields.get("error") or {}).get("code", "failed")
            self.metrics.generations.labels(provider=raw["video"].get("provider") or "?", outcome=outcome).inc()
        await self._store(raw, update)

    async def _store(self, raw: dict[str, Any], update: dict[str, Any]) -> None:
        now = utcnow()
        # The announced state is computed before the write so the write can carry it (FANOUT=changestream); the
        # filter makes it exact: same task, still active, and this poller is the only one writing its progress.
        after = {**raw["video"], **{k.removeprefix("video."): v for k, v in update.items()}, "updated_at": now}
        carried, events = self.video.status_events(raw["project"], str(raw["_id"]), video_to_wire(after))
        written = await self.workspaces.update_one(
            {"_id": raw["_id"], "video.task_id": raw["video"].get("task_id"), "video.status": {"$in": list(ACTIVE)}},
            {"$set": {**update, "video.updated_at": now, "updated_at": now, **carried}, "$inc": {"version": 1}},
        )
        if written.matched_count:  # else cancelled, regenerated or deleted meanwhile: nothing to announce
            self.video.fanout.written(raw["project"], events)

    async def _download(self, raw: dict[str, Any], source: str | None) -> str:
        """Copy the finished video into media storage; returns our URL (``/media/<name>``). Raises
        ``MediaRefused`` for a URL the media policy refuses: a local file from any provider but ``local`` or from
        outside its render directory, a URL not ``https`` off the provider's own base URL, an internal address."""
        if not source:
            raise ValueError("the provider reported completion without a video URL")
        provider = self.video.providers.video(raw["video"].get("provider"))
        config = self.video.providers.config(provider.name)
        name = f"{raw['_id']}-{secrets.token_hex(4)}.mp4"
        if source[:5].lower() == "file:":
            if provider.name != LOCAL_PROVIDER or config.work_dir is None:
                raise MediaRefused("only the local renderer hands over files of this server")
            path = await asyncio.to_thread(local_file, source, config.work_dir)
            await self.video.media.save_video(name, bounded(file_chunks(path), self.fetcher.max_bytes))
        else:
            async with self.fetcher.open(source, trusted_base=config.base_url or None) as chunks:
                await self.video.media.save_video(name, chunks)
        return f"/media/{name}"

    async def aclose(self) -> None:
        """Nothing to close: the fetcher makes one client per download."""
