"""The job engine's conflicts (PROTOCOL.md 8.2), children (``parent_id``, 8.3 ``film``) and the cancelling of a
deleted workspace's jobs (8.5), on the real database with a fake clock. No sleeps: each step waits on an
announcement, an event of a fake kind, or the engine's tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from app.db import JobDoc
from app.errors import AppError
from app.jobs import JobContext, JobEngine, JobServices
from app.writes import Event, WritePath
from protocol import Job, JobStatusUpdate, codes
from tests.unit.test_jobs_engine import LEASE, Clock, FakeKind, stored
from tests.unit.test_jobs_engine import jobs as jobs  # the fixture

WORKSPACE = "6b04721f56c295fbbd8e27de"
OTHER_WORKSPACE = "6b04721f56c295fbbd8e27df"


class Announced:
    """A fanout that keeps every announced job state and lets a test wait for one."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self._changed = asyncio.Event()

    def carry(self, project: str, events: Any, *, on_delete: bool = False) -> dict[str, Any]:
        return {}

    def written(self, project: str, events: list[Event]) -> None:
        for message, _ in events:
            assert isinstance(message, JobStatusUpdate)
            self.jobs.append(message.job)
        self._changed.set()

    async def until(self, pred: Callable[[Job], bool], timeout: float = 5) -> Job:
        while True:
            for job in self.jobs:
                if pred(job):
                    return job
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout)


class ShotKind(FakeKind):
    name = "shot"
    takes_workspace = True


class FilmKind:
    """Runs ``steps`` children of kind ``fake`` one after the other (keys step0, step1, ...)."""

    name = "film"
    takes_workspace = False

    def __init__(self, steps: int = 1) -> None:
        self.steps = steps
        self.children: list[Job] = []

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        return dict(params)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        for n in range(self.steps):
            self.children.append(await ctx.run_child("fake", {"n": n}, key=f"step{n}"))
        return {"children": [c.id for c in self.children]}


class Workspaces:
    async def get(self, project: str | None, workspace_id: str) -> None:
        return None


async def make(jobs: Any, clock: Clock, **kinds: Any) -> tuple[JobEngine, Announced]:
    await jobs.create_indexes(JobDoc.Settings.indexes)  # the unique "exclusive" index keeps the conflicts
    announced = Announced()
    services = JobServices(workspaces=Workspaces(), providers=None, settings=None)  # type: ignore[arg-type]
    kinds = {"fake": FakeKind(), **kinds}
    engine = JobEngine(WritePath(jobs, announced), kinds, services, clock=clock, lease_s=LEASE)
    return engine, announced


async def test_a_second_job_of_a_kind_for_one_workspace_is_a_conflict_until_the_first_ends(jobs: Any) -> None:
    kind = ShotKind()
    a, _ = await make(jobs, Clock(), shot=kind)
    first = await a.start("p", "shot", workspace_id=WORKSPACE)
    with pytest.raises(AppError) as raised:
        await a.start("p", "shot", workspace_id=WORKSPACE)
    assert raised.value.code == codes.CONFLICT
    await a.start("p", "shot", workspace_id=OTHER_WORKSPACE)  # another workspace: no conflict
    await a.cancel("p", first.id)
    again = await a.start("p", "shot", workspace_id=WORKSPACE)  # the first one ended
    assert again.status == "queued"
    assert "exclusive" not in await stored(jobs, first.id)


async def test_one_film_or_export_per_project_but_a_films_own_steps_aside(jobs: Any) -> None:
    clock = Clock()
    film = FilmKind()
    a, _ = await make(jobs, clock, film=film, export=FakeKind())
    job = await a.start("p", "film")
    for kind in ("film", "export"):
        with pytest.raises(AppError) as raised:
            await a.start("p", kind)
        assert raised.value.code == codes.CONFLICT
    await a.start("q", "export")  # another project
    child = await a.start("p", "export", parent_id=job.id, child_key="export")  # the film's own step
    assert child.parent_id == job.id


async def test_a_parent_waits_for_its_children_and_completes_with_them(jobs: Any) -> None:
    clock = Clock()
    film, fake = FilmKind(steps=2), FakeKind()
    a, announced = await make(jobs, clock, film=film, fake=fake)
    fake.release.set()
    parent = await a.start("p", "film")
    [task] = await a.run_once()
    for n in range(2):
        child = await announced.until(lambda j, n=n: j.parent_id == parent.id and j.params == {"n": n})
        await a.run_once()  # claims the child
        await announced.until(lambda j, c=child: j.id == c.id and j.status == "completed")
    await task
    raw = await stored(jobs, parent.id)
    assert raw["status"] == "completed" and raw["result"] == {"children": [c.id for c in film.children]}
    assert [c.status for c in film.children] == ["completed", "completed"]


async def test_cancelling_a_parent_cancels_its_running_child(jobs: Any) -> None:
    clock = Clock()
    film, fake = FilmKind(), FakeKind()
    a, announced = await make(jobs, clock, film=film, fake=fake)
    parent = await a.start("p", "film")
    [parent_task] = await a.run_once()
    child = await announced.until(lambda j: j.parent_id == parent.id)
    [child_task] = await a.run_once()
    await fake.started.wait()
    await a.cancel("p", parent.id)
    await asyncio.gather(parent_task, child_task)
    assert (await stored(jobs, parent.id))["status"] == "cancelled"
    assert (await stored(jobs, child.id))["status"] == "cancelled"
    assert fake.committed == 0


async def test_a_failed_child_fails_its_parent_with_the_childs_error(jobs: Any) -> None:
    clock = Clock()
    film, fake = FilmKind(), FakeKind()
    fake.fail = AppError(codes.PROVIDER_ERROR, "the painter refused")
    fake.release.set()
    a, announced = await make(jobs, clock, film=film, fake=fake)
    parent = await a.start("p", "film")
    [task] = await a.run_once()
    await announced.until(lambda j: j.parent_id == parent.id)
    await a.run_once()
    await task
    raw = await stored(jobs, parent.id)
    assert raw["status"] == "failed" and raw["error"]["code"] == codes.PROVIDER_ERROR
    assert "the painter refused" in raw["error"]["message"]


async def test_a_parent_run_again_finds_the_child_its_earlier_run_started(jobs: Any) -> None:
    """The process running the film dies; the film is claimed again once its lease expired, and waits for the
    child the first run started instead of starting a second one."""
    clock = Clock()
    film_a, fake = FilmKind(), FakeKind()
    a, announced = await make(jobs, clock, film=film_a, fake=fake)
    parent = await a.start("p", "film")
    [task_a] = await a.run_once()
    child = await announced.until(lambda j: j.parent_id == parent.id)
    task_a.cancel()  # A "dies": its run ends without a write, its lease runs out
    a.running.clear()
    clock.advance(LEASE + 1)
    film_b = FilmKind()
    b, _ = await make(jobs, clock, film=film_b, fake=fake)
    fake.release.set()
    started = await b.run_once()  # the film again, and the child
    await asyncio.gather(*started)
    assert [c.id for c in film_b.children] == [child.id]
    assert await jobs.count_documents({"parent_id": parent.id}) == 1
    assert (await stored(jobs, parent.id))["status"] == "completed"


async def test_a_deleted_workspaces_queued_and_running_jobs_are_cancelled(jobs: Any) -> None:
    clock = Clock()
    kind, other = ShotKind(), FakeKind()
    a, _ = await make(jobs, clock, shot=kind, fake=other)
    running = await a.start("p", "shot", workspace_id=WORKSPACE)
    [task] = await a.run_once()
    await kind.started.wait()
    elsewhere = await a.start("p", "shot", workspace_id=OTHER_WORKSPACE)
    assert await a.cancel_for_workspace("p", WORKSPACE) == 1
    await task
    assert (await stored(jobs, running.id))["status"] == "cancelled"
    assert (await stored(jobs, elsewhere.id))["status"] in ("queued", "running")
    assert await a.cancel_for_workspace("q", OTHER_WORKSPACE) == 0  # another project's workspace id


class ShotFilmKind(FilmKind):
    """One child of kind ``shot`` for WORKSPACE (what the film does for a keyframe)."""

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.children.append(await ctx.run_child("shot", {}, workspace_id=WORKSPACE, key="shot"))
        return {"children": [c.id for c in self.children]}


@pytest.mark.parametrize("theirs_ends", ["completed", "cancelled"])
async def test_a_step_whose_workspace_has_someone_elses_job_of_that_kind_waits_for_it(
    jobs: Any, theirs_ends: str
) -> None:
    """A person's keyframe of a shot is running when the film comes to paint it: the film's step waits for that
    job (no conflict); it is the step's result if it completed, else the step runs its own."""
    clock = Clock()
    film, shot = ShotFilmKind(), ShotKind()
    a, announced = await make(jobs, clock, film=film, shot=shot)
    theirs = await a.start("p", "shot", workspace_id=WORKSPACE)
    [their_task] = await a.run_once()
    await shot.started.wait()
    watching = asyncio.Event()  # set once the film's step reads their job's state: it is waiting for it
    real_get = a.get

    async def get(project: str | None, job_id: str) -> Job:
        if job_id == theirs.id:
            watching.set()
        return await real_get(project, job_id)

    a.get = get  # type: ignore[method-assign]
    parent = await a.start("p", "film")
    [parent_task] = await a.run_once()
    await watching.wait()
    if theirs_ends == "completed":
        shot.release.set()
        await their_task
        await parent_task
        assert film.children[0].id == theirs.id and film.children[0].status == "completed"
        assert await jobs.count_documents({"parent_id": parent.id}) == 0  # no child of its own
    else:
        await a.cancel("p", theirs.id)
        await their_task
        own = await announced.until(lambda j: j.parent_id == parent.id)
        shot.release.set()
        await a.run_once()
        await parent_task
        assert film.children[0].id == own.id and film.children[0].status == "completed"
    assert (await stored(jobs, parent.id))["status"] == "completed"
