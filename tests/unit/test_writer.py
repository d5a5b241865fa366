"""The coalescing writer with a fake clock: no real sleeping."""

from __future__ import annotations

import asyncio

import pytest

from app.realtime.writer import CoalescingWriter


class FakeClock:
    """Time moves only when the test calls ``advance``; ``sleep`` waits for that."""

    def __init__(self) -> None:
        self.now = 0.0
        self._moved = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.now < target:
            self._moved.clear()
            await self._moved.wait()

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        self._moved.set()
        for _ in range(5):  # let woken tasks run
            await asyncio.sleep(0)


class Recorder:
    """A flush function that records its batches and can be held open to build up the next batch."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.gate: asyncio.Event | None = None
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    async def __call__(self, key: str, items: list[int]) -> list[int | BaseException]:
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])
        self.batches.append((key, list(items)))
        if self.gate is not None:
            await self.gate.wait()
        self.in_flight[key] -= 1
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]


async def test_idle_key_is_flushed_at_once() -> None:
    """With debounce 0 a single item is written without waiting and resolves with its own result."""
    rec = Recorder()
    writer = CoalescingWriter(rec)
    assert await writer.submit("a", 1) == 10
    assert rec.batches == [("a", [1])] and writer.flushes == 1


async def test_items_arriving_during_a_flush_share_the_next_one_in_order() -> None:
    """While a flush is in flight, later items wait and go together, in submit order, each with its result."""
    rec = Recorder()
    rec.gate = asyncio.Event()
    writer = CoalescingWriter(rec)
    first = writer.submit("a", 1)
    await asyncio.sleep(0)
    rest = [writer.submit("a", i) for i in (2, 3, 4)]
    rec.gate.set()
    assert await first == 10 and [await f for f in rest] == [20, 30, 40]
    assert rec.batches == [("a", [1]), ("a", [2, 3, 4])] and rec.max_in_flight["a"] == 1


async def test_one_bad_item_fails_alone() -> None:
    """A per-item exception fails only that submitter."""
    rec = Recorder()
    rec.gate = asyncio.Event()
    writer = CoalescingWriter(rec)
    writer.submit("a", 0)
    await asyncio.sleep(0)
    good, bad = writer.submit("a", 5), writer.submit("a", -1)
    rec.gate.set()
    assert await good == 50
    with pytest.raises(ValueError, match="bad -1"):
        await bad


async def test_a_failing_flush_fails_its_batch_and_the_writer_goes_on() -> None:
    """When the flush raises, every item of that batch gets the error; later submits still work."""
    calls = []

    async def flaky(key: str, items: list[int]) -> list[int | BaseException]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("database away")
        return items

    writer = CoalescingWriter(flaky)
    with pytest.raises(ConnectionError):
        await writer.submit("k", 1)
    assert await writer.submit("k", 2) == 2


async def test_different_keys_flush_concurrently() -> None:
    """Two keys are written in parallel; each still has at most one write in flight."""
    rec = Recorder()
    rec.gate = asyncio.Event()
    writer = CoalescingWriter(rec)
    a, b = writer.submit("a", 1), writer.submit("b", 2)
    await asyncio.sleep(0)
    assert sum(rec.in_flight.values()) == 2
    rec.gate.set()
    assert (await a, await b) == (10, 20)


async def test_debounce_extends_with_arrivals_but_not_past_max_wait() -> None:
    """Each arrival extends the quiet window (SYNC_DEBOUNCE_MS); the first item never waits past max_wait."""
    clock, rec = FakeClock(), Recorder()
    writer = CoalescingWriter(rec, debounce_s=0.1, max_wait_s=0.25, clock=clock, sleep=clock.sleep)
    first = writer.submit("a", 1)
    await clock.advance(0.05)
    second = writer.submit("a", 2)
    await clock.advance(0.05)  # t=0.10: the window restarted at 0.05, so nothing is written yet
    assert rec.batches == []
    await clock.advance(0.05)  # t=0.15: quiet for 0.1 s
    assert rec.batches == [("a", [1, 2])] and (await first, await second) == (10, 20)
    futures = [writer.submit("a", 3)]
    for i in range(4, 12):  # keep typing every 0.05 s: max_wait (0.25 s) forces a write anyway
        await clock.advance(0.05)
        futures.append(writer.submit("a", i))
        if len(rec.batches) > 1:
            break
    assert rec.batches[1][1][0] == 3 and clock.now - 0.15 <= 0.25 + 0.05 + 1e-9  # seen within one step
    for _ in range(50):
        if all(f.done() for f in futures):
            break
        await clock.advance(0.1)
    assert [await f for f in futures] == [i * 10 for i in range(3, 3 + len(futures))]


async def test_barrier_waits_for_pending_and_in_flight() -> None:
    """barrier(key) returns only after everything submitted for the key so far was flushed."""
    rec = Recorder()
    rec.gate = asyncio.Event()
    writer = CoalescingWriter(rec)
    f1 = writer.submit("a", 1)
    await asyncio.sleep(0)
    f2 = writer.submit("a", 2)
    barrier = asyncio.create_task(writer.barrier("a"))
    await asyncio.sleep(0.01)
    assert not barrier.done()
    rec.gate.set()
    await barrier
    assert f1.done() and f2.done()
    other = writer.submit("b", 3)
    await writer.barrier_all()
    assert other.done() and writer.busy_keys == 0
