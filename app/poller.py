"""The single video status poller.

One asyncio task per process; a lease document in MongoDB makes it one per deployment. Its state is the
database: every ``POLL_INTERVAL_S`` the lease holder reads the workspaces whose ``video.status`` is queued or
generating and due (``video.next_poll_at``), asks each provider for its task's status with bounded
concurrency, stores every change (guarded by ``video.task_id``, so a newer generation or a cancel is never
overwritten) and publishes ``video.status_update``. Transient errors and 429s back off (honouring
Retry-After) without failing the task; a task older than ``VIDEO_TIMEOUT_S`` fails with ``timeout``; a
finished video is downloaded into media storage first, since provider URLs expire, under the media policy of
``app.media_fetch`` (a URL it refuses fails the generation with ``provider_error`` at once).

``poke(task_id)`` / ``poke(workspace_id=...)`` makes it look at one task now instead of at its next cycle: the local
renderer pokes as its progress moves, a provider's callback pokes (``app.api.callbacks``). A poke is only a hint:
the task is read back from the database and its state asked of the provider, as in a cycle. Pokes of one task are
coalesced and throttled (one check per ``POKE_INTERVAL_S`` at most, the last poke always followed by a check), and
a task that is backing off (errors, Retry-After) is left to its cycle. One task is checked by one coroutine of a
process at a time (a cycle skips a task a poke is checking).

A poke is served by the process that got it, lease holder or not: the local renderer's progress lives only in the
memory of the process that submitted the render (with ``FANOUT=changestream`` and several processes, often not the
lease holder), and a callback reaches whichever process the load balancer picks. Routing it to the lease holder
would cost a round trip through the database for nothing, since every write is safe from any process: it is
guarded by ``video.task_id`` and an active status (a newer generation, a cancel or a finished video is never
overwritten, and a video is finished once), and progress only ever goes up (``$not: {$gt}``), so two processes
storing the same task's state in either order leave the later one. The cost is that, in a race, both may download
a finished video; only one write wins (the other file stays unreferenced in media storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.db import utcnow, video_to_wire
from app.leases import Lease, overdue
from app.media_fetch import MediaFetcher, MediaRefused, bounded, file_chunks, local_file
from app.services.video import ACTIVE, VideoService
from protocol import codes
from providers import ProviderError, ProviderRateLimited, TaskStatus
from providers.backoff import backoff_delay

LEASE_ID = "video-poller"
MAX_BACKOFF_S = 60.0
MAX_DOWNLOAD_FAILURES = 5
LOCAL_PROVIDER = "local"  # the one provider that hands over files of this server (PROTOCOL.md 9.5)
POKE_INTERVAL_S = 0.25  # at most ~4 checks a second of one task, however often it is poked
_PROJECTION = {"project": 1, "video": 1}


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


class KeyedLocks:
    """One ``asyncio.Lock`` per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def busy(self, key: str) -> bool:
        return key in self._locks

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]


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
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        # the PollerLease document names its expiry "expires_at" (stored so since 1.0)
        self.lease = Lease(self.owner, timedelta(seconds=max(3 * interval_s, 1.0)), until_field="expires_at")
        self.concurrency = concurrency
        self.metrics = metrics
        self.fetcher = fetcher or MediaFetcher()
        self.state = "starting"
        self._stop: asyncio.Event | None = None
        self.last_cycle = {"tasks": 0, "requests": 0, "seconds": 0.0}
        self._checking = KeyedLocks()  # workspace id -> held while one coroutine checks that task
        self._pokes: dict[tuple[str | None, str | None], asyncio.Task[None]] = {}  # (task_id, workspace_id) -> worker
        self._poked: set[tuple[str | None, str | None]] = set()  # poked since its worker last looked
        self._closed = False

    # ---- lease -------------------------------------------------------------------------------------------

    async def acquire_lease(self) -> bool:
        now = utcnow()
        try:
            doc = await self.leases.find_one_and_update(
                {"_id": LEASE_ID, **self.lease.mine_or_expired(now)},
                {"$set": self.lease.take(now)},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # someone else holds a live lease
            return False
        return doc is not None and doc.get("owner") == self.owner

    async def release_lease(self) -> None:
        with contextlib.suppress(Exception):
            await self.leases.delete_one({"_id": LEASE_ID, **self.lease.mine()})

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
                key = str(raw["_id"])
                if self._checking.busy(key):  # a poke is checking it right now
                    return
                requests += 1
                async with self._checking.hold(key):
                    await self._check(raw)

        await asyncio.gather(*(check(raw) for raw in due))
        elapsed = time.perf_counter() - started
        self.last_cycle = {"tasks": len(due), "requests": requests, "seconds": elapsed}
        if self.metrics is not None:
            self.metrics.poll_cycle.observe(elapsed)
        return len(due)

    # ---- pokes -------------------------------------------------------------------------------------------

    def poke(self, task_id: str | None = None, *, workspace_id: str | None = None) -> None:
        """Look at the task ``task_id`` (or the generation of workspace ``workspace_id``) now, in the background.
        Never blocks and never raises: it may be called from a provider's listener."""
        if self._closed or not (task_id or workspace_id):
            return
        key = (task_id, workspace_id)
        self._poked.add(key)
        if key not in self._pokes:
            self._pokes[key] = asyncio.create_task(self._serve_pokes(key), name="poke")

    async def _serve_pokes(self, key: tuple[str | None, str | None]) -> None:
        last = -POKE_INTERVAL_S
        try:
            while key in self._poked:  # nothing awaits between this test and the exit: no poke is missed
                self._poked.discard(key)
                wait = last + POKE_INTERVAL_S - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # the throttle: later pokes meanwhile make one more check
                last = time.monotonic()
                try:
                    await self.check_now(key[0], workspace_id=key[1])
                except Exception as exc:  # the database may be away: the cycle will get to it
                    logger.warning("poked check failed: {}: {}", type(exc).__name__, str(exc)[:200])
        finally:
            self._poked.discard(key)
            self._pokes.pop(key, None)

    async def check_now(self, task_id: str | None = None, *, workspace_id: str | None = None) -> bool:
        """Check one active task at once (what a poke does). False when there is none, or it is backing off."""
        query: dict[str, Any] = {"video.status": {"$in": list(ACTIVE)}}
        if workspace_id is not None:
            if not ObjectId.is_valid(workspace_id):
                return False
            query["_id"] = ObjectId(workspace_id)
        if task_id is not None:
            query["video.task_id"] = task_id
        found = await self.workspaces.find_one(query, _PROJECTION)
        if found is None:
            return False
        async with self._checking.hold(str(found["_id"])):
            raw = await self.workspaces.find_one({**query, "_id": found["_id"]}, _PROJECTION)  # as it is now
            if raw is None:
                return False
            video, now = raw["video"], utcnow()
            if video.get("poll_failures") and (_aware(video.get("next_poll_at")) or now) > now:
                return False  # backing off (a provider's Retry-After is not overridden by a hint)
            await self._check(raw)
            return True

    # ---- one task ----------------------------------------------------------------------------------------

    async def _check(self, raw: dict[str, Any]) -> None:
        video = raw["video"]
        workspace_id = str(raw["_id"])
        task_id = video.get("task_id")
        if overdue(video.get("started_at"), timedelta(seconds=self.timeout_s), utcnow()):
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
                await self.video.writes.update(
                    raw["project"],
                    {"_id": raw["_id"], "video.task_id": video.get("task_id")},
                    {"$set": {"video.poll_failures": 0, "video.next_poll_at": utcnow()}},
                )
            return
        fields = {"video.status": status.status, "video.progress": progress, "video.poll_failures": 0}
        # progress never goes down, whichever process stores it last (see the module's docstring)
        await self._store(
            raw, {**fields, "video.next_poll_at": utcnow()}, {"video.progress": {"$not": {"$gt": progress}}}
        )

    async def _back_off(self, raw: dict[str, Any], exc: BaseException) -> None:
        failures = int(raw["video"].get("poll_failures") or 0) + 1
        delay = backoff_delay(failures + 1, base=self.interval_s, cap=MAX_BACKOFF_S)
        if isinstance(exc, ProviderRateLimited) and exc.retry_after is not None:
            delay = max(exc.retry_after, self.interval_s * 0.5)
        await self.video.writes.update(
            raw["project"],
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

    async def _store(self, raw: dict[str, Any], update: dict[str, Any], guard: dict[str, Any] | None = None) -> None:
        now = utcnow()
        # The announced state is computed before the write so the write can carry it (FANOUT=changestream); the
        # filter makes it exact: same task, still active, and this poller is the only one writing its progress.
        after = {**raw["video"], **{k.removeprefix("video."): v for k, v in update.items()}, "updated_at": now}
        # matches nothing (so announces nothing) when cancelled, regenerated or deleted meanwhile
        await self.video.writes.update(
            raw["project"],
            {
                "_id": raw["_id"],
                "video.task_id": raw["video"].get("task_id"),
                "video.status": {"$in": list(ACTIVE)},
                **(guard or {}),
            },
            {"$set": {**update, "video.updated_at": now, "updated_at": now}, "$inc": {"version": 1}},
            self.video.status_events(str(raw["_id"]), video_to_wire(after)),
        )

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
        """Stop taking pokes and let the checks under way finish (briefly); the fetcher makes one client per
        download, so there is nothing else to close."""
        self._closed = True
        pending = list(self._pokes.values())
        if pending:
            _, late = await asyncio.wait(pending, timeout=5)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
