"""The job engine with a fake clock on the real database: claim, renew, expiry and re-claim, cancel (here and
from another process), timeout, retries, per-kind limits, shutdown, and the throttling of progress. No sleeps:
each step waits on an event of the fake kind or on the engine's tasks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.errors import AppError
from app.jobs import JobContext, JobEngine, JobLost, JobServices
from app.jobs.throttle import Throttle
from app.writes import Event, WritePath
from protocol import JobStatusUpdate, codes

LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A fanout that keeps what was announced (after each acknowledged write)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, JobStatusUpdate, str | None]] = []

    def carry(self, project: str, events: Any, *, on_delete: bool = False) -> dict[str, Any]:
        return {}

    def written(self, project: str, events: list[Event]) -> None:
        for message, origin in events:
            assert isinstance(message, JobStatusUpdate)
            self.events.append((project, message, origin))

    def statuses(self) -> list[str]:
        return [m.job.status for _, m, _ in self.events]


class FakeKind:
    """Runs until released; then reports, commits and completes (or raises ``fail``)."""

    name = "fake"
    takes_workspace = False

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.runs = 0
        self.committed = 0
        self.fail: Exception | None = None
        self.reports: list[int] = []
        self.ctx: JobContext | None = None

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        if set(params) - {"n"}:
            raise AppError(codes.INVALID_MESSAGE, "params: unknown key")
        return {"n": params.get("n", 1)}

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.runs += 1
        self.ctx = ctx
        self.started.set()
        await self.release.wait()
        for progress in self.reports:
            await ctx.progress(progress, "working")
        if self.fail is not None:
            raise self.fail
        await ctx.commit()
        self.committed += 1
        return {"n": ctx.params["n"]}


@pytest.fixture
async def jobs(db_uri: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(db_uri, tz_aware=True)
    yield client["t_" + uuid.uuid4().hex[:12]]["jobs"]
    await client.close()


def engine(jobs: Any, clock: Clock, kind: FakeKind | None = None, **options: Any) -> tuple[JobEngine, Recorder]:
    recorder = Recorder()
    services = JobServices(workspaces=None, providers=None, settings=None)  # type: ignore[arg-type]
    options.setdefault("lease_s", LEASE)
    made = JobEngine(WritePath(jobs, recorder), {"fake": kind or FakeKind()}, services, clock=clock, **options)
    return made, recorder


async def stored(jobs: Any, job_id: str) -> dict[str, Any]:
    from bson import ObjectId

    raw: dict[str, Any] = await jobs.find_one({"_id": ObjectId(job_id)})
    return raw


async def test_a_started_job_is_claimed_by_one_process_and_completes(jobs: Any) -> None:
    """One claim per job: a second engine finds nothing to run while the first holds the lease."""
    clock = Clock()
    kind = FakeKind()
    a, seen = engine(jobs, clock, kind, owner="A")
    b, _ = engine(jobs, clock, owner="B")
    job = await a.start("p", "fake", params={"n": 7}, origin="c1")
    assert job.status == "queued" and job.params == {"n": 7}
    assert seen.events[0][2] == "c1"  # the starter gets the reply instead
    [task] = await a.run_once()
    await kind.started.wait()
    assert await b.run_once() == []
    kind.release.set()
    await task
    raw = await stored(jobs, job.id)
    assert (raw["status"], raw["progress"], raw["result"], raw["attempts"]) == ("completed", 100, {"n": 7}, 1)
    assert raw["owner"] is None and raw["lease_expires_at"] is None
    assert seen.statuses() == ["queued", "running", "completed"]
    assert kind.runs == 1


async def test_start_checks_kind_workspace_and_params(jobs: Any) -> None:
    a, seen = engine(jobs, Clock())
    for call, code in (
        (a.start("p", "nope"), codes.INVALID_MESSAGE),
        (a.start("p", "fake", params={"bogus": 1}), codes.INVALID_MESSAGE),
        (a.start("p", "fake", workspace_id="6b04721f56c295fbbd8e27de"), codes.INVALID_MESSAGE),
    ):
        with pytest.raises(AppError) as raised:
            await call
        assert raised.value.code == code
    assert await jobs.count_documents({}) == 0 and seen.events == []


async def test_the_running_process_renews_its_lease(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, _ = engine(jobs, clock, kind, owner="A")
    b, _ = engine(jobs, clock, owner="B")
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    await kind.started.wait()
    for _ in range(6):  # 6 x lease/2 = three leases: alive all along because A renews every third
        clock.advance(LEASE / 2)
        await a.run_once()
        assert await b.run_once() == []
    raw = await stored(jobs, job.id)
    assert raw["owner"] == "A" and raw["lease_expires_at"] == clock.now + timedelta(seconds=LEASE)
    kind.release.set()
    await task


async def test_an_expired_lease_is_claimed_again_and_the_old_owner_stops_writing(jobs: Any) -> None:
    """A process that stops renewing (it died, or hung) loses the job; the new owner runs it once more, and the
    old one, should it wake up, can write nothing: not its progress, not its outcome."""
    clock = Clock()
    kind_a, kind_b = FakeKind(), FakeKind()
    a, _ = engine(jobs, clock, kind_a, owner="A")
    b, seen_b = engine(jobs, clock, kind_b, owner="B")
    job = await a.start("p", "fake")
    [task_a] = await a.run_once()
    await kind_a.started.wait()
    clock.advance(LEASE + 1)
    [task_b] = await b.run_once()
    await kind_b.started.wait()
    assert (await stored(jobs, job.id))["attempts"] == 2
    kind_a.release.set()  # A wakes up and tries to finish
    await task_a
    assert kind_a.committed == 0
    assert (await stored(jobs, job.id))["status"] == "running"
    kind_b.release.set()
    await task_b
    raw = await stored(jobs, job.id)
    assert raw["status"] == "completed" and kind_b.committed == 1
    assert seen_b.statuses() == ["running", "completed"]


async def test_a_job_interrupted_three_times_fails_with_internal(jobs: Any) -> None:
    clock = Clock()
    first, _ = engine(jobs, clock, owner="first")
    job = await first.start("p", "fake")
    for n in range(3):
        kind = FakeKind()
        runner, _ = engine(jobs, clock, kind, owner=f"run{n}")
        assert len(await runner.run_once()) == 1
        await kind.started.wait()
        clock.advance(LEASE + 1)  # and the process "dies": it never renews
    last, seen = engine(jobs, clock, owner="last")
    assert await last.run_once() == []
    raw = await stored(jobs, job.id)
    assert raw["status"] == "failed" and raw["error"]["code"] == "internal"
    assert "interrupted 3 times" in raw["error"]["message"]
    assert seen.statuses() == ["failed"]


async def test_cancel_where_it_runs_stops_it_at_once_and_nothing_else_is_written(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, seen = engine(jobs, clock, kind, owner="A")
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    await kind.started.wait()
    cancelled = await a.cancel("p", job.id, origin="c1")
    assert cancelled.status == "cancelled"
    await task
    assert task.done() and kind.committed == 0
    raw = await stored(jobs, job.id)
    assert raw["status"] == "cancelled" and raw["cancel_requested"] is True and raw["result"] is None
    assert seen.statuses() == ["queued", "running", "cancelled"]
    with pytest.raises(AppError) as raised:  # cancelling a finished job
        await a.cancel("p", job.id)
    assert raised.value.code == codes.CONFLICT
    with pytest.raises(AppError) as raised:  # another project's job
        await a.cancel("q", job.id)
    assert raised.value.code == codes.NOT_FOUND


async def test_cancel_from_another_process_is_noticed_at_the_next_renewal(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, seen_a = engine(jobs, clock, kind, owner="A")
    b, _ = engine(jobs, clock, owner="B")
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    await kind.started.wait()
    await b.cancel("p", job.id)
    clock.advance(LEASE / 3)
    await a.run_once()  # the renewal finds the job is not A's to run any more
    await task
    assert kind.committed == 0 and (await stored(jobs, job.id))["status"] == "cancelled"
    assert seen_a.statuses() == ["queued", "running"]  # A wrote nothing after the cancel


async def test_a_run_longer_than_the_timeout_fails_with_timeout(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, seen = engine(jobs, clock, kind, timeout_s=100)
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    await kind.started.wait()
    clock.advance(99)
    await a.run_once()
    assert (await stored(jobs, job.id))["status"] == "running"
    clock.advance(1)
    await a.run_once()
    await task
    raw = await stored(jobs, job.id)
    assert raw["status"] == "failed" and raw["error"]["code"] == "timeout" and kind.committed == 0
    assert seen.statuses()[-1] == "failed"


async def test_a_failing_kind_fails_the_job_with_its_code(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    kind.fail = AppError(codes.PROVIDER_ERROR, "the model refused")
    a, _ = engine(jobs, clock, kind)
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    kind.release.set()
    await task
    raw = await stored(jobs, job.id)
    assert raw["status"] == "failed" and raw["error"] == {"code": "provider_error", "message": "the model refused"}
    assert raw["attempts"] == 1  # a failure is not retried: only interruptions are


async def test_per_kind_concurrency(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, _ = engine(jobs, clock, kind, concurrency={"fake": 1})
    first = await a.start("p", "fake")
    second = await a.start("p", "fake")
    [task] = await a.run_once()
    assert await a.run_once() == []  # the one slot is taken
    assert (await stored(jobs, second.id))["status"] == "queued"
    kind.release.set()
    await task
    [task2] = await a.run_once()
    await task2
    assert (await stored(jobs, first.id))["status"] == (await stored(jobs, second.id))["status"] == "completed"


async def test_shutdown_hands_the_job_back_to_the_queue(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, _ = engine(jobs, clock, kind, owner="A")
    job = await a.start("p", "fake")
    await a.run_once()
    await kind.started.wait()
    await a.stop()
    raw = await stored(jobs, job.id)
    assert (raw["status"], raw["owner"], raw["attempts"]) == ("queued", None, 0)
    kind2 = FakeKind()
    kind2.release.set()
    b, _ = engine(jobs, clock, kind2, owner="B")
    [task] = await b.run_once()  # a restarted server carries on at once, without waiting for a lease
    await task
    assert (await stored(jobs, job.id))["status"] == "completed"


async def test_progress_is_throttled_never_goes_down_and_the_latest_wins(jobs: Any) -> None:
    """100 reports at one instant: the first significant one is written, the rest wait as one pending report;
    once 0.2 s have passed, run_once writes the latest. A lower report never lowers the progress."""
    clock = Clock()
    kind = FakeKind()
    a, seen = engine(jobs, clock, kind)
    job = await a.start("p", "fake")
    [task] = await a.run_once()
    await kind.started.wait()
    assert kind.ctx is not None
    for progress in range(1, 61):
        await kind.ctx.progress(progress, "working")
    await kind.ctx.progress(10, "working")  # lower: ignored
    progress_events = [m.job.progress for _, m, _ in seen.events if m.job.status == "running"][1:]
    assert progress_events == [1]  # the first report (a new stage) goes out at once
    clock.advance(0.2)
    await a.run_once()
    progress_events = [m.job.progress for _, m, _ in seen.events if m.job.status == "running"][1:]
    assert progress_events == [1, 60]
    assert (await stored(jobs, job.id))["progress"] == 60
    kind.release.set()
    await task
    assert seen.statuses()[-1] == "completed"  # a status change is never held back


async def test_a_kind_whose_job_was_taken_cannot_commit(jobs: Any) -> None:
    clock = Clock()
    kind = FakeKind()
    a, _ = engine(jobs, clock, kind, owner="A")
    job = await a.start("p", "fake")
    await a.run_once()
    await kind.started.wait()
    await jobs.update_one({}, {"$set": {"owner": "someone-else"}})
    assert kind.ctx is not None
    with pytest.raises(JobLost):
        await kind.ctx.commit()
    assert (await stored(jobs, job.id))["committing"] is False
    await a.stop()


def test_throttle_rules() -> None:
    throttle = Throttle()
    assert throttle.offer(3, None, 0.0) is None  # below 5 points: remembered only
    assert throttle.offer(5, None, 0.0) == (5, None)
    assert throttle.offer(7, "b", 0.1) is None  # a stage change, but within 0.2 s: pending
    assert throttle.offer(12, "c", 0.15) is None
    assert throttle.wait_s(0.15) == pytest.approx(0.05)
    assert throttle.due(0.19) is None
    assert throttle.due(0.2) == (12, "c")  # the latest
    assert throttle.offer(4, "c", 1.0) is None and throttle.latest == (12, "c")  # never down
    assert throttle.offer(100, "c", 1.0) == (100, "c")
    assert throttle.due(5.0) is None  # nothing pending
