"""The job engine (PROTOCOL.md 8): start, claim with a lease, run, renew, cancel, time out, retry, children.

Any process can run any job. A job is claimed with one ``find_one_and_update`` (queued, or running with an
expired lease -> running, owner = this process, lease until now + ``lease_s``: ``app.leases``, the poller's
mechanism too); the owner renews the lease every ``lease_s / 3`` and every write of the run is filtered on
(owner, running), so a job that was cancelled, timed out or taken over by another process is noticed at its next
renewal or progress write, and its task here is cancelled (``app.jobs.running``). A process that dies leaves its
jobs running with a lease that expires; whoever claims one then runs it again, at most ``max_attempts`` runs in
all, then it fails with ``internal``.

Conflicts (8.2) are kept by the database: a job that must be alone (same kind and workspace; a project's one
``export`` or ``film`` outside a film's own steps) stores a key in ``exclusive`` under a unique sparse index while
it is active, so two concurrent starts cannot both pass. A kind may run children (``JobContext.run_child``):
jobs with ``parent_id``, found again by their ``child_key`` when the parent runs again; cancelling (or timing
out) the parent cancels them.

Every write goes through the write path (``app.writes``) with the job's ``job.status_update``. Time is
``clock()`` (injectable); ``run_once()`` does what is due now (tests), ``run()`` loops on it (production).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from app.db import utcnow
from app.errors import AppError
from app.jobs.model import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    FAILED,
    FINAL,
    QUEUED,
    RUNNING,
    announcement,
    find_job,
    job_to_wire,
    new_job,
)
from app.jobs.registry import DEFAULT_CONCURRENCY, JobContext, JobKind, JobLost, JobServices, kind_for_start
from app.jobs.running import RunningJob
from app.leases import Lease, overdue
from app.writes import WritePath
from protocol import Job, codes
from providers.backoff import backoff_delay

MAX_ATTEMPTS = 3
LIST_LIMIT = 100
ALONE_IN_PROJECT = frozenset({"export", "film"})  # one of these per project at a time (a film's own steps aside)


class JobEngine:
    def __init__(
        self,
        writes: WritePath,
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
        claiming: bool = True,  # False: a process that takes requests but runs no job (RUN_JOBS=false)
        on_end: Callable[[str, str], None] | None = None,  # (kind, final status) of each run ended here: metrics
    ) -> None:
        self.writes = writes
        self.collection = writes.collection  # reads
        self.kinds = dict(kinds)
        self.services = services
        self.owner = owner or "p_" + secrets.token_hex(6)
        self.lease = Lease(self.owner, timedelta(seconds=lease_s))
        self.timeout = timedelta(seconds=timeout_s)
        self.max_attempts = max_attempts
        self.concurrency = {**DEFAULT_CONCURRENCY, **(concurrency or {})}
        self.clock = clock
        self.poll_interval_s = min(poll_interval_s, lease_s / 3)
        self.claiming = claiming
        self.on_end = on_end
        self.running: dict[str, RunningJob] = {}
        self._last_renew: datetime | None = None
        self._wake = asyncio.Event()
        self._ends = asyncio.Event()  # set (and replaced) whenever a run here ends: children's parents look
        self._stopping = False

    # ---- requests (WebSocket handlers, REST routes, parents) ---------------------------------------------------

    async def start(
        self,
        project: str,
        kind_name: str,
        *,
        workspace_id: str | None = None,
        params: dict[str, Any] | None = None,
        origin: str | None = None,
        parent_id: str | None = None,
        child_key: str | None = None,
    ) -> Job:
        kind = kind_for_start(self.kinds, kind_name, workspace_id)  # invalid_message
        if workspace_id is not None:
            await self.services.workspaces.get(project, workspace_id)  # not_found
        stored = kind.prepare(dict(params or {}), self.services)
        raw = new_job(project, kind_name, stored, workspace_id=workspace_id, parent_id=parent_id, now=self.clock())
        exclusive = _exclusive(project, kind_name, workspace_id, parent_id)
        if exclusive is not None:
            raw["exclusive"] = exclusive
        if child_key is not None:
            raw["child_key"] = child_key
        try:
            await self.writes.insert(project, [(raw, announcement(raw, origin))])
        except DuplicateKeyError:
            what = f"a {kind_name} job for this workspace" if workspace_id else "an export or film of this project"
            raise AppError(codes.CONFLICT, f"{what} is already queued or running") from None
        self._wake.set()
        return job_to_wire(raw)

    async def cancel(self, project: str, job_id: str, *, origin: str | None = None) -> Job:
        for _ in range(5):  # optimistic: the update is guarded by the state its announcement was computed from
            raw = await find_job(self.collection, project, job_id)
            if raw["status"] not in ACTIVE:
                raise AppError(codes.CONFLICT, f"job {job_id} is already {raw['status']}")
            if raw.get("committing"):
                raise AppError(codes.CONFLICT, f"job {job_id} is finishing; it can no longer be cancelled")
            now = self.clock()
            changes = {
                "status": CANCELLED,
                "cancel_requested": True,
                "finished_at": now,
                "updated_at": now,
                **self.lease.released(),
            }
            after = {k: v for k, v in {**raw, **changes}.items() if k != "exclusive"}
            guard = {"_id": raw["_id"], "status": raw["status"], "updated_at": raw["updated_at"], "committing": False}
            update = {"$set": changes, "$unset": {"exclusive": ""}}
            if await self.writes.update(project, guard, update, announcement(after, origin)):
                run = self.running.get(job_id)
                if run is not None:  # running here: stop it at once
                    run.stop("cancelled")
                await self._cancel_children(project, job_id)
                return job_to_wire(after)
        raise AppError(codes.UNAVAILABLE, f"job {job_id} is changing too fast to cancel; try again")

    async def cancel_for_workspace(self, project: str, workspace_id: str) -> int:
        """PROTOCOL.md 8.5: a deleted workspace's queued or running jobs are cancelled. Returns how many."""
        cursor = self.collection.find({"workspace_id": workspace_id, "project": project, "status": {"$in": ACTIVE}})
        return await self._cancel_each([str(raw["_id"]) async for raw in cursor], project)

    async def _cancel_children(self, project: str, parent_id: str) -> int:
        cursor = self.collection.find({"parent_id": parent_id, "status": {"$in": ACTIVE}}, {"_id": 1})
        return await self._cancel_each([str(raw["_id"]) async for raw in cursor], project)

    async def _cancel_each(self, job_ids: list[str], project: str) -> int:
        cancelled = 0
        for job_id in job_ids:
            with contextlib.suppress(AppError):  # finished (or finishing) meanwhile
                await self.cancel(project, job_id)
                cancelled += 1
        return cancelled

    async def get(self, project: str | None, job_id: str) -> Job:
        return job_to_wire(await find_job(self.collection, project, job_id))

    async def list_jobs(self, project: str, statuses: list[str] | None = None) -> list[Job]:
        query: dict[str, Any] = {"project": project}
        if statuses:
            query["status"] = {"$in": list(statuses)}
        cursor = self.collection.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(LIST_LIMIT)
        return [job_to_wire(raw) async for raw in cursor]

    # ---- children ---------------------------------------------------------------------------------------------

    async def run_child(
        self, parent: RunningJob, kind: str, params: dict[str, Any], workspace_id: str | None, key: str
    ) -> Job:
        """Start the child ``key`` of ``parent`` (or find the one an earlier run of the parent started, unless it
        failed or was cancelled) and wait for it to end. A failed child raises its error; a cancelled one
        ``internal``. When the workspace already has a job of that kind (a person's keyframe of a shot the film
        would paint), the step waits for that one instead of failing, and is done if it completed; if it did
        not, the step runs its own."""
        project = parent.raw["project"]
        found = await self.collection.find_one(
            {"parent_id": parent.job_id, "child_key": key, "status": {"$nin": [FAILED, CANCELLED]}}, {"_id": 1}
        )
        child_id, own = (None if found is None else str(found["_id"])), True
        while True:
            if child_id is None:
                child_id, own = await self._start_child(parent, kind, params, workspace_id, key)
            job = await self._wait_end(parent, project, child_id)
            if own or job.status == COMPLETED:
                break
            child_id = None  # another's job of that workspace, which did not complete
        if job.status == FAILED and job.error is not None:
            raise AppError(job.error.code, f"{kind}: {job.error.message}")
        if job.status == CANCELLED:
            raise AppError(codes.INTERNAL, f"the {kind} step was cancelled")
        return job

    async def _start_child(
        self, parent: RunningJob, kind: str, params: dict[str, Any], workspace_id: str | None, key: str
    ) -> tuple[str, bool]:
        """(the job to wait for, whether it is the parent's own child)."""
        project = parent.raw["project"]
        while True:
            try:
                started = await self.start(
                    project, kind, workspace_id=workspace_id, params=params, parent_id=parent.job_id, child_key=key
                )
                return started.id, True
            except AppError as exc:
                if exc.code != codes.CONFLICT or workspace_id is None:
                    raise
            holder = await self.collection.find_one(
                {"exclusive": _exclusive(project, kind, workspace_id, None)}, {"_id": 1}
            )
            if holder is not None:
                return str(holder["_id"]), False
            # it ended between the start and the look: start again

    async def _wait_end(self, parent: RunningJob, project: str, job_id: str) -> Job:
        while True:
            ended = self._ends  # taken before the read: an end after it sets this one
            job = await self.get(project, job_id)
            if job.status in FINAL:
                return job
            if parent.ending is not None:
                raise JobLost(parent.job_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), self.poll_interval_s)

    # ---- the loop ---------------------------------------------------------------------------------------------

    async def run_once(self) -> list[asyncio.Task[None]]:
        """Renew (and check) the leases of the jobs running here when due, write due progress, and claim and
        start as many due jobs as the per-kind limits allow. Returns the tasks started."""
        now = self.clock()
        for run in list(self.running.values()):
            if overdue(run.started, self.timeout, now):
                run.stop("timeout")
        if self._last_renew is None or now - self._last_renew >= self.lease.ttl / 3:
            self._last_renew = now
            await self.renew()
        for run in list(self.running.values()):
            await run.flush_progress()
        started: list[asyncio.Task[None]] = []
        while self.claiming and not self._stopping:
            free = [k for k in self.kinds if self._busy(k) < self.concurrency.get(k, 1)]
            if not free:
                break
            claimed = await self._claim(free)
            if claimed is None:
                break
            claimed.task = asyncio.create_task(claimed.execute(), name=f"job:{claimed.job_id}")
            started.append(claimed.task)
        return started

    async def run(self) -> None:
        """Production: ``run_once`` whenever a job is started here, and at least every third of the lease."""
        failures = 0
        while not self._stopping:
            try:
                await self.run_once()
                failures = 0
                timeout = self.poll_interval_s
            except Exception as exc:  # the database went away for a moment: try again, never give up
                failures += 1
                timeout = backoff_delay(failures, base=0.5, cap=5.0)
                logger.warning("job engine: {}; again in {:.1f} s", type(exc).__name__, timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def stop(self) -> None:
        """Shutdown: stop claiming, and hand the jobs running here back to the queue (a restart carries on)."""
        self._stopping = True
        self._wake.set()
        runs = list(self.running.values())
        for run in runs:
            run.stop("shutdown")
        tasks = [r.task for r in runs if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _busy(self, kind: str) -> int:
        return sum(1 for r in self.running.values() if r.raw["kind"] == kind)

    async def _claim(self, kinds: list[str]) -> RunningJob | None:
        now = self.clock()
        raw = await self.writes.take(
            {"kind": {"$in": kinds}, "$or": [{"status": QUEUED}, {"status": RUNNING, **self.lease.expired(now)}]},
            {
                "$set": {"status": RUNNING, **self.lease.take(now), "run_started_at": now, "committing": False},
                "$inc": {"attempts": 1},
            },
            sort=[("created_at", ASCENDING)],
        )
        if raw is None:
            return None
        run = RunningJob(
            raw,
            self.kinds[raw["kind"]],
            now,
            self.writes,
            self.lease,
            self.clock,
            self.timeout,
            make_context=self._context,
            on_end=self._ended,
            on_timeout=lambda r: self._cancel_children(r.raw["project"], r.job_id),
        )
        if raw["attempts"] > self.max_attempts:
            message = f"the job was interrupted {raw['attempts'] - 1} times (the server stopped while it ran)"
            with contextlib.suppress(JobLost):
                await run.finish(FAILED, error={"code": codes.INTERNAL, "message": message})
            await self._cancel_children(raw["project"], run.job_id)
            return await self._claim(kinds)
        logger.info("job {} ({}) claimed, run {}", run.job_id, raw["kind"], raw["attempts"])
        self.running[run.job_id] = run
        try:
            await run.write({})  # announces "running"
        except JobLost:
            self.running.pop(run.job_id, None)
            return await self._claim(kinds)
        return run

    async def renew(self) -> None:
        """Extend the lease of every job running here; a job that is no longer ours stops."""
        now = self.clock()
        for job_id, run in list(self.running.items()):
            if run.ending is not None:
                continue
            query = {"_id": run.raw["_id"], **self.lease.mine(), "status": RUNNING}
            if not await self.writes.update(run.raw["project"], query, {"$set": self.lease.renewal(now)}):
                logger.info("job {} is no longer ours to run; stopping it", job_id)  # cancelled, or taken over
                run.stop("lost")

    def _context(self, run: RunningJob) -> JobContext:
        return JobContext(
            job_id=run.job_id,
            project=run.raw["project"],
            params=dict(run.raw.get("params") or {}),
            services=self.services,
            report=run.report,
            commit=run.commit,
            child=lambda kind, params, workspace_id, key: self.run_child(run, kind, params, workspace_id, key),
            workspace_id=run.raw.get("workspace_id"),
        )

    def _ended(self, run: RunningJob, status: str) -> None:
        self.running.pop(run.job_id, None)
        if status and self.on_end is not None:
            self.on_end(run.raw["kind"], status)
        ends, self._ends = self._ends, asyncio.Event()
        ends.set()
        self._wake.set()  # a slot is free


def _exclusive(project: str, kind: str, workspace_id: str | None, parent_id: str | None) -> str | None:
    """The key that makes a job conflict with others while it is active (PROTOCOL.md 8.2), or None."""
    if workspace_id is not None:
        return f"{kind}/{workspace_id}"
    if kind in ALONE_IN_PROJECT and parent_id is None:
        return f"export+film/{project}"
    return None
