"""One run of one job in this process: its writes (each guarded by this process's lease, each announcing the
job's new state through the write path), its throttled progress, its commit point and its end.

The engine (``app.jobs.engine``) claims a job and hands it to a ``RunningJob``; ``execute()`` runs the kind and
writes how it ended. Every write is filtered on (owner = this process, status running): a job cancelled, timed out
or claimed again elsewhere matches nothing, which raises ``JobLost`` and stops the run without a further write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from app.errors import to_app_error
from app.jobs.model import COMPLETED, FAILED, QUEUED, RUNNING, announcement
from app.jobs.registry import JobContext, JobKind, JobLost
from app.jobs.throttle import Throttle
from app.leases import Lease
from app.writes import WritePath
from protocol import codes

_ERROR_CODES = frozenset({codes.PROVIDER_ERROR, codes.UNAVAILABLE, codes.TIMEOUT, codes.INVALID_MESSAGE})
# Fields a final state removes: ``exclusive`` holds the unique key of a job that conflicts with others of its kind
# while it is active (a sparse unique index: absent, not null, once it ends).
_FINAL_UNSET = ("exclusive",)


@dataclass
class RunningJob:
    raw: dict[str, Any]  # the stored document as this process last wrote it
    kind: JobKind
    started: datetime
    writes: WritePath
    lease: Lease
    clock: Callable[[], datetime]
    timeout: timedelta
    make_context: Callable[[RunningJob], JobContext]
    on_end: Callable[[RunningJob, str], None]  # (run, final status or "" when nothing was written): metrics, slots
    throttle: Throttle = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    ending: str | None = None  # why the task was cancelled here: "cancelled", "timeout", "lost", "shutdown"
    timer: asyncio.TimerHandle | None = None
    on_timeout: Callable[[RunningJob], Awaitable[object]] | None = None  # e.g. cancel the job's children

    def __post_init__(self) -> None:
        self.throttle = Throttle(int(self.raw.get("progress") or 0), self.raw.get("stage"))

    @property
    def job_id(self) -> str:
        return str(self.raw["_id"])

    def stop(self, why: str) -> None:
        """Cancel the task here (the first reason given is the one acted on)."""
        if self.ending is None:
            self.ending = why
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # ---- the run ----------------------------------------------------------------------------------------------

    async def execute(self) -> None:
        status = ""
        try:
            result = await self.kind.run(self.make_context(self))
            status = await self.finish(COMPLETED, result=result)
        except asyncio.CancelledError:
            with contextlib.suppress(JobLost):
                status = await self._ended()
        except JobLost:
            logger.info("job {} stopped: no longer ours", self.job_id)
        except Exception as exc:
            error = to_app_error(exc)
            code = error.code if error.code in _ERROR_CODES else codes.INTERNAL
            with contextlib.suppress(JobLost):
                status = await self.finish(FAILED, error={"code": code, "message": error.message[:500]})
        finally:
            if self.timer is not None:
                self.timer.cancel()
            self.on_end(self, status)

    async def _ended(self) -> str:
        """The task was cancelled here: write what that means (a cancel or a lost job: nothing more to write)."""
        if self.ending == "timeout":
            if self.on_timeout is not None:
                await self.on_timeout(self)
            message = f"the job ran longer than JOB_TIMEOUT_S ({self.timeout.total_seconds():g} s)"
            return await self.finish(FAILED, error={"code": codes.TIMEOUT, "message": message})
        if self.ending == "shutdown":  # back to the queue, this run not counted as a try
            await self.write({"status": QUEUED, **self.lease.released()}, inc={"attempts": -1})
        return ""

    # ---- what the kind calls ------------------------------------------------------------------------------------

    async def report(self, progress: int, stage: str | None) -> None:
        if self.ending is not None:
            raise JobLost(self.job_id)
        async with self.lock:
            update = self.throttle.offer(progress, stage, self.clock().timestamp())
            if update is not None:
                await self.write({"progress": update[0], "stage": update[1]})
        self._arm_timer()

    async def commit(self) -> None:
        """The kind is about to write its outcome: from now on a cancel is ``conflict`` (PROTOCOL.md 8.2)."""
        if self.ending is not None:
            raise JobLost(self.job_id)
        async with self.lock:
            if not await self.writes.update(self.raw["project"], self._guard(), {"$set": {"committing": True}}):
                raise JobLost(self.job_id)
            self.raw["committing"] = True

    # ---- progress ---------------------------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        """A pending report goes out when due even if the kind reports nothing more (latest wins)."""
        wait = self.throttle.wait_s(self.clock().timestamp())
        if wait is None or self.timer is not None:
            return

        def fire() -> None:
            self.timer = None
            if self.task is not None and not self.task.done():
                flush = asyncio.ensure_future(self.flush_progress())
                flush.add_done_callback(lambda t: t.cancelled() or t.exception())

        self.timer = asyncio.get_running_loop().call_later(wait, fire)

    async def flush_progress(self) -> None:
        async with self.lock:
            update = self.throttle.due(self.clock().timestamp())
            if update is not None:
                with contextlib.suppress(JobLost):
                    await self.write({"progress": update[0], "stage": update[1]})
        self._arm_timer()

    # ---- writes -------------------------------------------------------------------------------------------------

    async def finish(
        self, status: str, *, result: dict[str, Any] | None = None, error: dict[str, str] | None = None
    ) -> str:
        now = self.clock()
        progress, stage = self.throttle.mark_written(now.timestamp())
        changes: dict[str, Any] = {
            "status": status,
            "progress": 100 if status == COMPLETED else progress,
            "stage": stage,
            "result": result,
            "error": error,
            "finished_at": now,
            **self.lease.released(),
        }
        async with self.lock:
            await self.write(changes, unset=_FINAL_UNSET)
        logger.info("job {} {}", self.job_id, status)
        return status

    def _guard(self) -> dict[str, Any]:
        return {"_id": self.raw["_id"], **self.lease.mine(), "status": RUNNING}

    async def write(
        self, changes: dict[str, Any], *, inc: dict[str, int] | None = None, unset: tuple[str, ...] = ()
    ) -> None:
        """One write of the running job, guarded by (owner, running) and announcing the job's new state."""
        now = self.clock()
        after = {**self.raw, **changes, "updated_at": now}
        for key, delta in (inc or {}).items():
            after[key] = after.get(key, 0) + delta
        for key in unset:
            after.pop(key, None)
        update: dict[str, Any] = {"$set": {**changes, "updated_at": now}}
        if inc:
            update["$inc"] = inc
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        project = self.raw["project"]
        if not await self.writes.update(project, self._guard(), update, announcement(after, None)):
            raise JobLost(self.job_id)
        self.raw = after
