"""The job engine (PROTOCOL.md 8): start, claim with a lease, run, renew, cancel, time out, retry.

Any process can run any job. A job is claimed with one ``find_one_and_update`` (queued, or running with an
expired lease -> running, owner = this process, lease until now + ``lease_s``); the owner renews the lease every
``lease_s / 3`` and every write of the run is filtered on (owner, running), so a job that was cancelled, timed
out or taken over by another process is noticed at its next renewal or progress write, and its task here is
cancelled. A process that dies leaves its jobs running with a lease that expires; whoever claims one then runs it
again, at most ``max_attempts`` runs in all, then it fails with ``internal``.

Every stored change a client must hear of carries its ``job.status_update`` through the fanout (``carry``
before the write, ``written`` once acknowledged): with ``FANOUT=local`` this process's hub gets it, with
``FANOUT=changestream`` the watcher of ``app.jobs.events`` in every process does. Time is ``clock()``
(injectable); ``run_once()`` does what is due now (tests), ``run()`` loops on it (production).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.db import utcnow
from app.errors import AppError, to_app_error
from app.jobs.model import CANCELLED, COMPLETED, FAILED, QUEUED, RUNNING, announcement, find_job, job_to_wire, new_job
from app.jobs.registry import DEFAULT_CONCURRENCY, JobContext, JobKind, JobLost, JobServices, kind_for_start
from app.jobs.throttle import Throttle
from app.realtime.fanout import Fanout
from protocol import Job, codes

MAX_ATTEMPTS = 3
LIST_LIMIT = 100
_ERROR_CODES = frozenset({codes.PROVIDER_ERROR, codes.UNAVAILABLE, codes.TIMEOUT, codes.INVALID_MESSAGE})


@dataclass
class _Run:
    """A job running in this process."""

    raw: dict[str, Any]  # the stored document as this process last wrote it
    kind: JobKind
    started: datetime
    throttle: Throttle
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    ending: str | None = None  # why the task was cancelled here: "cancelled", "timeout", "lost", "shutdown"
    timer: asyncio.TimerHandle | None = None


class JobEngine:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        fanout: Fanout,
        kinds: Mapping[str, JobKind],
        services: JobServices,
        *,
        owner: str | None = None,
        lease_s: float = 30.0,
        timeout_s: float = 1800.0,
        max_attempts: int = MAX_ATTEMPTS,
        concurrency: Mapping[str, int] | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.collection = collection
        self.fanout = fanout
        self.kinds = dict(kinds)
        self.services = services
        self.owner = owner or "p_" + secrets.token_hex(6)
        self.lease = timedelta(seconds=lease_s)
        self.timeout = timedelta(seconds=timeout_s)
        self.max_attempts = max_attempts
        self.concurrency = {**DEFAULT_CONCURRENCY, **(concurrency or {})}
        self.clock = clock
        self.poll_interval_s = min(poll_interval_s, lease_s / 3)
        self.running: dict[str, _Run] = {}
        self._last_renew: datetime | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    # ---- requests (WebSocket handlers and REST routes) ------------------------------------------------------

    async def start(
        self,
        project: str,
        kind_name: str,
        *,
        workspace_id: str | None = None,
        params: dict[str, Any] | None = None,
        origin: str | None = None,
    ) -> Job:
        kind = kind_for_start(self.kinds, kind_name, workspace_id)  # invalid_message
        if workspace_id is not None:
            await self.services.workspaces.get(project, workspace_id)  # not_found
        stored = kind.prepare(dict(params or {}), self.services)
        raw = new_job(project, kind_name, stored, workspace_id=workspace_id, parent_id=None, now=self.clock())
        raw["_id"] = ObjectId()
        events = announcement(raw, origin)
        await self.collection.insert_one({**raw, **self.fanout.carry(project, events)})
        self.fanout.written(project, events)
        self._wake.set()
        return job_to_wire(raw)

    async def cancel(self, project: str, job_id: str, *, origin: str | None = None) -> Job:
        for _ in range(5):  # optimistic: the update is guarded by the state its announcement was computed from
            raw = await self._find(project, job_id)
            if raw["status"] not in (QUEUED, RUNNING):
                raise AppError(codes.CONFLICT, f"job {job_id} is already {raw['status']}")
            if raw.get("committing"):
                raise AppError(codes.CONFLICT, f"job {job_id} is finishing; it can no longer be cancelled")
            now = self.clock()
            changes = {
                "status": CANCELLED,
                "cancel_requested": True,
                "finished_at": now,
                "updated_at": now,
                "owner": None,
                "lease_expires_at": None,
            }
            after = {**raw, **changes}
            events = announcement(after, origin)
            guard = {"_id": raw["_id"], "status": raw["status"], "updated_at": raw["updated_at"], "committing": False}
            written = await self.collection.update_one(
                guard, {"$set": {**changes, **self.fanout.carry(project, events)}}
            )
            if written.matched_count:
                self.fanout.written(project, events)
                run = self.running.get(job_id)
                if run is not None:  # running here: stop it at once
                    self._stop_run(run, "cancelled")
                return job_to_wire(after)
        raise AppError(codes.UNAVAILABLE, f"job {job_id} is changing too fast to cancel; try again")

    async def get(self, project: str | None, job_id: str) -> Job:
        return job_to_wire(await self._find(project, job_id))

    async def list_jobs(self, project: str, statuses: list[str] | None = None) -> list[Job]:
        query: dict[str, Any] = {"project": project}
        if statuses:
            query["status"] = {"$in": list(statuses)}
        cursor = self.collection.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(LIST_LIMIT)
        return [job_to_wire(raw) async for raw in cursor]

    async def _find(self, project: str | None, job_id: str) -> dict[str, Any]:
        return await find_job(self.collection, project, job_id)

    # ---- the loop ---------------------------------------------------------------------------------------------

    async def run_once(self) -> list[asyncio.Task[None]]:
        """Renew (and check) the leases of the jobs running here when due, write due progress, and claim and
        start as many due jobs as the per-kind limits allow. Returns the tasks started."""
        now = self.clock()
        for run in list(self.running.values()):
            if now - run.started >= self.timeout:
                self._stop_run(run, "timeout")
        if self._last_renew is None or now - self._last_renew >= self.lease / 3:
            self._last_renew = now
            await self.renew()
        for run in list(self.running.values()):
            await self._flush_progress(run)
        started: list[asyncio.Task[None]] = []
        while not self._stopping:
            free = [k for k in self.kinds if self._busy(k) < self.concurrency.get(k, 1)]
            if not free:
                break
            claimed = await self._claim(free)
            if claimed is None:
                break
            started.append(self._launch(claimed))
        return started

    async def run(self) -> None:
        """Production: ``run_once`` whenever a job is started here, and at least every third of the lease."""
        backoff = 0.5
        while not self._stopping:
            try:
                await self.run_once()
                backoff = 0.5
                timeout = self.poll_interval_s
            except Exception as exc:  # the database went away for a moment: try again, never give up
                logger.warning("job engine: {}; again in {:.1f} s", type(exc).__name__, backoff)
                timeout, backoff = backoff, min(backoff * 2, 5.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def stop(self) -> None:
        """Shutdown: stop claiming, and hand the jobs running here back to the queue (a restart carries on)."""
        self._stopping = True
        self._wake.set()
        runs = list(self.running.values())
        for run in runs:
            self._stop_run(run, "shutdown")
        tasks = [r.task for r in runs if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _busy(self, kind: str) -> int:
        return sum(1 for r in self.running.values() if r.raw["kind"] == kind)

    async def _claim(self, kinds: list[str]) -> _Run | None:
        now = self.clock()
        raw = await self.collection.find_one_and_update(
            {
                "kind": {"$in": kinds},
                "$or": [{"status": QUEUED}, {"status": RUNNING, "lease_expires_at": {"$lt": now}}],
            },
            {
                "$set": {
                    "status": RUNNING,
                    "owner": self.owner,
                    "lease_expires_at": now + self.lease,
                    "run_started_at": now,
                    "committing": False,
                },
                "$inc": {"attempts": 1},
            },
            sort=[("created_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            return None
        job_id = str(raw["_id"])
        run = _Run(raw, self.kinds[raw["kind"]], now, Throttle(int(raw.get("progress") or 0), raw.get("stage")))
        if raw["attempts"] > self.max_attempts:
            message = f"the job was interrupted {raw['attempts'] - 1} times (the server stopped while it ran)"
            await self._finish(run, FAILED, error={"code": codes.INTERNAL, "message": message})
            return await self._claim(kinds)
        logger.info("job {} ({}) claimed, run {}", job_id, raw["kind"], raw["attempts"])
        self.running[job_id] = run
        try:
            await self._write(run, {"updated_at": now})  # announces "running"
        except JobLost:
            self.running.pop(job_id, None)
            return await self._claim(kinds)
        return run

    def _launch(self, run: _Run) -> asyncio.Task[None]:
        job_id = str(run.raw["_id"])
        run.task = asyncio.create_task(self._execute(run), name=f"job:{job_id}")
        return run.task

    async def renew(self) -> None:
        """Extend the lease of every job running here; a job that is no longer ours stops."""
        now = self.clock()
        for job_id, run in list(self.running.items()):
            if run.ending is not None:
                continue
            renewed = await self.collection.update_one(
                {"_id": run.raw["_id"], "owner": self.owner, "status": RUNNING},
                {"$set": {"lease_expires_at": now + self.lease}},
            )
            if not renewed.matched_count:  # cancelled (maybe by another process) or taken over
                logger.info("job {} is no longer ours to run; stopping it", job_id)
                self._stop_run(run, "lost")

    def _stop_run(self, run: _Run, why: str) -> None:
        if run.ending is None:
            run.ending = why
        if run.task is not None and not run.task.done():
            run.task.cancel()

    # ---- one run ----------------------------------------------------------------------------------------------

    async def _execute(self, run: _Run) -> None:
        job_id = str(run.raw["_id"])
        ctx = JobContext(
            job_id=job_id,
            project=run.raw["project"],
            params=dict(run.raw.get("params") or {}),
            services=self.services,
            report=lambda progress, stage: self._report(run, progress, stage),
            commit=lambda: self._commit(run),
        )
        try:
            result = await run.kind.run(ctx)
            await self._finish(run, COMPLETED, result=result)
        except asyncio.CancelledError:
            with contextlib.suppress(JobLost):
                await self._ended(run)
        except JobLost:
            logger.info("job {} stopped: no longer ours", job_id)
        except Exception as exc:
            error = to_app_error(exc)
            code = error.code if error.code in _ERROR_CODES else codes.INTERNAL
            with contextlib.suppress(JobLost):
                await self._finish(run, FAILED, error={"code": code, "message": error.message[:500]})
        finally:
            if run.timer is not None:
                run.timer.cancel()
            self.running.pop(job_id, None)
            self._wake.set()  # a slot is free

    async def _ended(self, run: _Run) -> None:
        """The task was cancelled here: write what that means (a cancel or a lost job: nothing more to write)."""
        if run.ending == "timeout":
            message = f"the job ran longer than JOB_TIMEOUT_S ({self.timeout.total_seconds():g} s)"
            await self._finish(run, FAILED, error={"code": codes.TIMEOUT, "message": message})
        elif run.ending == "shutdown":  # back to the queue, this run not counted as a try
            await self._write(run, {"status": QUEUED, "owner": None, "lease_expires_at": None}, inc={"attempts": -1})

    async def _report(self, run: _Run, progress: int, stage: str | None) -> None:
        if run.ending is not None:
            raise JobLost(str(run.raw["_id"]))
        async with run.lock:
            update = run.throttle.offer(progress, stage, self.clock().timestamp())
            if update is not None:
                await self._write(run, {"progress": update[0], "stage": update[1]})
        self._arm_timer(run)

    def _arm_timer(self, run: _Run) -> None:
        """A pending report goes out when due even if the kind reports nothing more (latest wins)."""
        wait = run.throttle.wait_s(self.clock().timestamp())
        if wait is None or run.timer is not None:
            return

        def fire() -> None:
            run.timer = None
            if run.task is not None and not run.task.done():
                flush = asyncio.ensure_future(self._flush_progress(run))
                flush.add_done_callback(lambda t: t.cancelled() or t.exception())

        run.timer = asyncio.get_running_loop().call_later(wait, fire)

    async def _flush_progress(self, run: _Run) -> None:
        async with run.lock:
            update = run.throttle.due(self.clock().timestamp())
            if update is not None:
                with contextlib.suppress(JobLost):
                    await self._write(run, {"progress": update[0], "stage": update[1]})
        self._arm_timer(run)

    async def _commit(self, run: _Run) -> None:
        """The kind is about to write its outcome: from now on a cancel is ``conflict`` (PROTOCOL.md 8.2)."""
        if run.ending is not None:
            raise JobLost(str(run.raw["_id"]))
        async with run.lock:
            marked = await self.collection.update_one(
                {"_id": run.raw["_id"], "owner": self.owner, "status": RUNNING}, {"$set": {"committing": True}}
            )
            if not marked.matched_count:
                raise JobLost(str(run.raw["_id"]))
            run.raw["committing"] = True

    async def _finish(
        self, run: _Run, status: str, *, result: dict[str, Any] | None = None, error: dict[str, str] | None = None
    ) -> None:
        now = self.clock()
        progress, stage = run.throttle.mark_written(now.timestamp())
        changes: dict[str, Any] = {
            "status": status,
            "progress": 100 if status == COMPLETED else progress,
            "stage": stage,
            "result": result,
            "error": error,
            "finished_at": now,
            "owner": None,
            "lease_expires_at": None,
        }
        async with run.lock:
            await self._write(run, changes)
        logger.info("job {} {}", run.raw["_id"], status)

    async def _write(self, run: _Run, changes: dict[str, Any], *, inc: dict[str, int] | None = None) -> None:
        """One write of the running job, guarded by (owner, running) and carrying its announcement."""
        now = self.clock()
        after = {**run.raw, **changes, "updated_at": now}
        for key, delta in (inc or {}).items():
            after[key] = after.get(key, 0) + delta
        project = run.raw["project"]
        events = announcement(after, None)
        update: dict[str, Any] = {"$set": {**changes, "updated_at": now, **self.fanout.carry(project, events)}}
        if inc:
            update["$inc"] = inc
        written = await self.collection.update_one(
            {"_id": run.raw["_id"], "owner": self.owner, "status": RUNNING}, update
        )
        if not written.matched_count:
            raise JobLost(str(run.raw["_id"]))
        run.raw = after
        self.fanout.written(project, events)
