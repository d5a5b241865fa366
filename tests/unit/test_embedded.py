"""The embedded database's port choice keeps off ports promised to someone else (the server's own)."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import embedded


class _FakeSocket:
    ports = iter([40001, 40002])

    def __enter__(self) -> _FakeSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = next(self.ports)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_a_port_promised_to_the_server_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may hand out the server's port again before the server binds it (seen as a CI flake: the server
    then failed with 'address already in use'); free_port asks again."""
    monkeypatch.setattr(embedded.socket, "socket", _FakeSocket)
    assert embedded.free_port(avoid={40001}) == 40002


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _FlakyDatabase:
    """A database whose process exits after ``lifetimes[i]`` seconds of the fake clock, and whose restarts fail
    while ``failures`` says so; ``stopping`` is set after the last lifetime, like ``stop()`` would."""

    def __init__(self, clock: _FakeClock, lifetimes: list[float], failures: list[bool]) -> None:
        self.clock = clock
        self.lifetimes = lifetimes
        self.failures = failures
        self.stopping = False
        self.port: int | None = 40123
        self.starts = 0

    async def wait(self) -> int | None:
        if not self.lifetimes:
            self.stopping = True
            return 0
        self.clock.now += self.lifetimes.pop(0)
        return -9

    async def start(self) -> str:
        self.starts += 1
        if self.failures.pop(0):
            raise RuntimeError("embedded database exited with code 1; log: address already in use")
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"


async def test_supervisor_restarts_with_capped_backoff_and_resets_after_a_stable_run() -> None:
    """A database that keeps failing to start is retried forever, 0.5 s doubling up to the cap; once a started one
    ran for ``stable_s`` the next crash starts again from the first delay; a stop ends supervision."""
    clock = _FakeClock()
    # dies after 1 s; 8 failed restarts then one that works; it dies after 1 s again (no reset: still a crash
    # loop); that restart works; then it runs 120 s (stable) and dies; that restart works; then it is stopped
    database = _FlakyDatabase(clock, [1, 1, 120], [True] * 8 + [False, False, False])
    supervisor = embedded.Supervisor(
        database, backoff=embedded.Backoff(first=0.5, cap=30, stable_s=60), clock=clock, sleep=clock.sleep
    )
    await supervisor.run()
    assert clock.slept == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30, 0.5]
    assert supervisor.restarts == 3 and database.starts == 11


async def test_supervisor_does_not_restart_a_database_being_stopped() -> None:
    """An exit while stopping (or during the backoff delay before a restart) is not restarted."""
    clock = _FakeClock()
    database = _FlakyDatabase(clock, [1], [])

    async def stop_during_delay(seconds: float) -> None:
        database.stopping = True

    supervisor = embedded.Supervisor(database, clock=clock, sleep=stop_during_delay)
    await supervisor.run()
    assert database.starts == 0 and supervisor.restarts == 0
