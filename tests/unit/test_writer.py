"""The coalescing writer (STYLE.md 21) with a fake clock and a fake sleep: nothing here sleeps for real."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from app.writes.coalescing import CoalescingWriter


async def settle(rounds: int = 30) -> None:
    """Let every ready task run (yields to the loop; no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class FakeClock:
    """Time moves only when the test calls ``advance``; ``sleep`` returns once the clock reached its deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in list(self._sleepers):
            if entry[0] <= self.now:
                self._sleepers.remove(entry)
                if not entry[1].done():
                    entry[1].set_result(None)
        await settle()


class Recorder:
    """A flush function that records its batches, counts flushes in flight, and can hold each flush open until
    the test releases it. Item ``i < 0`` fails on its own; ``f"{key}:{i}"`` is the result otherwise."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.batches: list[tuple[str, list[int]]] = []
        self.gates: list[asyncio.Future[BaseException | None]] = []
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.max_total_in_flight = 0

    async def __call__(self, key: str, items: list[int]) -> list[Any]:
        self.batches.append((key, list(items)))
        self.in_flight[key] += 1
        self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])
        self.max_total_in_flight = max(self.max_total_in_flight, sum(self.in_flight.values()))
        try:
            if self.hold:
                gate: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
                self.gates.append(gate)
                failure = await gate
                if failure is not None:
                    raise failure
            return [ValueError(f"bad {i}") if i < 0 else f"{key}:{i}" for i in items]
        finally:
            self.in_flight[key] -= 1

    async def release(self, failure: BaseException | None = None) -> None:
        """Let the oldest held flush return (or raise ``failure``)."""
        self.gates.pop(0).set_result(failure)
        await settle()


async def test_idle_key_is_flushed_at_once_with_debounce_zero() -> None:
    """With debounce 0 an idle key's item is handed to flush without any sleep and resolves with its result."""
    clock, rec = FakeClock(), Recorder()
    writer = CoalescingWriter(rec, debounce_s=0, clock=clock, sleep=clock.sleep)
    future = writer.submit("a", 1)
    await settle()
    assert future.done() and future.result() == "a:1"
    assert rec.batches == [("a", [1])] and clock.sleeps == []


async def test_items_arriving_during_a_flush_go_into_one_next_flush_in_order() -> None:
    """While a flush is in flight, every later item waits and all of them share the next flush, in submit order."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    first = writer.submit("a", 1)
    await settle()
    rest = [writer.submit("a", i) for i in (2, 3, 4, 5, 6)]
    await settle()
    assert rec.batches == [("a", [1])] and not any(f.done() for f in rest)
    await rec.release()
    assert first.result() == "a:1" and rec.batches == [("a", [1]), ("a", [2, 3, 4, 5, 6])]
    assert not any(f.done() for f in rest)  # resolved only when their own flush returns
    await rec.release()
    assert [f.result() for f in rest] == ["a:2", "a:3", "a:4", "a:5", "a:6"]
    assert writer.flushes == 2 and writer.items_written == 6


async def test_each_submitter_gets_its_own_result() -> None:
    """Items sharing one flush still resolve one by one, each with the result flush gave for that item."""
    batches: list[list[str]] = []

    async def flush(key: str, items: list[str]) -> list[Any]:
        batches.append(list(items))
        return [f"{key}/{item.upper()}" for item in items]

    writer = CoalescingWriter(flush)
    futures = [writer.submit("k", word) for word in ("alpha", "beta", "gamma")]
    assert [await f for f in futures] == ["k/ALPHA", "k/BETA", "k/GAMMA"]
    assert batches == [["alpha", "beta", "gamma"]]


async def test_a_failing_item_fails_only_itself() -> None:
    """A per-item exception reaches only that submitter; the others in the same batch succeed."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    writer.submit("a", 0)
    await settle()
    good1, bad, good2 = writer.submit("a", 5), writer.submit("a", -1), writer.submit("a", 7)
    await rec.release()
    await rec.release()
    assert rec.batches[1] == ("a", [5, -1, 7])
    assert good1.result() == "a:5" and good2.result() == "a:7"
    with pytest.raises(ValueError, match="bad -1"):
        bad.result()


async def test_a_raising_flush_fails_its_batch_and_the_writer_goes_on() -> None:
    """When flush raises, every item of that batch gets the error; items queued meanwhile and later still flush."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    before = writer.submit("a", 1)
    await settle()
    await rec.release()
    doomed = writer.submit("a", 2)
    await settle()
    queued = writer.submit("a", 3)  # arrives while the failing flush is in flight
    await rec.release(ConnectionError("database away"))
    assert before.result() == "a:1"
    with pytest.raises(ConnectionError, match="database away"):
        doomed.result()
    assert not queued.done()
    await rec.release()
    assert queued.result() == "a:3"
    later = writer.submit("a", 4)
    await settle()
    await rec.release()
    assert later.result() == "a:4" and [b for _, b in rec.batches] == [[1], [2], [3], [4]]


async def test_all_items_of_a_raising_flush_get_the_same_error() -> None:
    """A batch of several items that fails as a whole fails every one of them."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    writer.submit("a", 0)
    await settle()
    batch = [writer.submit("a", i) for i in (1, 2, 3)]
    await rec.release()
    await rec.release(OSError("disk"))
    assert all(isinstance(f.exception(), OSError) for f in batch)


async def test_a_wrong_number_of_results_fails_the_batch() -> None:
    """A flush that returns fewer results than items fails all of them rather than mis-assigning results."""

    async def short(key: str, items: list[int]) -> list[Any]:
        return items[:-1]

    writer = CoalescingWriter(short)
    futures = [writer.submit("a", i) for i in (1, 2)]
    await settle()
    assert all(isinstance(f.exception(), RuntimeError) for f in futures)


async def test_one_flush_in_flight_per_key_and_keys_flush_concurrently() -> None:
    """Each key has at most one flush in flight, while flushes of different keys run at the same time."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    futures = [writer.submit(key, 0) for key in ("a", "b", "c")]
    await settle()
    assert rec.max_total_in_flight == 3  # three keys in flight together
    for round_ in range(1, 4):
        futures += [writer.submit(key, round_) for key in ("a", "b", "c") for _ in range(2)]
        await settle()
        assert sum(rec.in_flight.values()) == 3
        for _ in range(3):
            await rec.release()
    while rec.gates:
        await rec.release()
    assert all(f.done() for f in futures)
    assert rec.max_in_flight == Counter({"a": 1, "b": 1, "c": 1})
    for key in ("a", "b", "c"):
        assert [b for k, b in rec.batches if k == key] == [[0], [1, 1], [2, 2], [3, 3]]


async def test_debounce_window_extends_with_each_arrival() -> None:
    """With a debounce window, a flush waits until the key has been quiet for debounce_s since the last item."""
    clock, rec = FakeClock(), Recorder()
    writer = CoalescingWriter(rec, debounce_s=0.25, max_wait_s=1.0, clock=clock, sleep=clock.sleep)
    first = writer.submit("a", 1)
    await clock.advance(0.125)
    assert rec.batches == []
    second = writer.submit("a", 2)  # t=0.125: the window now ends at 0.375
    await clock.advance(0.125)  # t=0.25: the first item's own window is over, but not the extended one
    assert rec.batches == []
    await clock.advance(0.0625)  # t=0.3125
    assert rec.batches == []
    await clock.advance(0.0625)  # t=0.375
    assert rec.batches == [("a", [1, 2])] and (first.result(), second.result()) == ("a:1", "a:2")


async def test_debounce_never_waits_beyond_max_wait_after_the_first_item() -> None:
    """Items arriving faster than the debounce window are written once max_wait_s has passed since the first."""
    clock, rec = FakeClock(), Recorder()
    writer = CoalescingWriter(rec, debounce_s=0.25, max_wait_s=1.0, clock=clock, sleep=clock.sleep)
    futures = [writer.submit("a", 0)]
    for i in range(1, 8):  # one item every 0.125 s, up to t=0.875
        await clock.advance(0.125)
        futures.append(writer.submit("a", i))
        assert rec.batches == []
    await clock.advance(0.0625)  # t=0.9375: still inside max_wait
    assert rec.batches == []
    await clock.advance(0.0625)  # t=1.0 = first + max_wait, although the last item came 0.125 s ago
    assert rec.batches == [("a", list(range(8)))] and all(f.done() for f in futures)
    later = writer.submit("a", 8)  # a new batch: its own window starts now
    await clock.advance(0.125)
    assert len(rec.batches) == 1
    await clock.advance(0.125)
    assert rec.batches[-1] == ("a", [8]) and later.result() == "a:8"


async def test_barrier_waits_for_in_flight_and_pending_items() -> None:
    """barrier(key) returns only once the in-flight flush and the items queued behind it have been flushed."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    in_flight = writer.submit("a", 1)
    await settle()
    pending = writer.submit("a", 2)
    barrier = asyncio.create_task(writer.barrier("a"))
    await settle()
    assert not barrier.done()
    await rec.release()
    assert in_flight.done() and not pending.done() and not barrier.done()
    await rec.release()
    assert pending.done() and barrier.done()


async def test_barrier_waits_for_a_flush_already_in_flight() -> None:
    """barrier(key) and barrier_all() also wait for items whose flush has started but not returned."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    in_flight = writer.submit("a", 1)
    await settle()
    assert rec.batches == [("a", [1])]
    barrier, barrier_all = asyncio.create_task(writer.barrier("a")), asyncio.create_task(writer.barrier_all())
    await settle()
    assert not barrier.done() and not barrier_all.done()
    await rec.release()
    assert in_flight.done() and barrier.done() and barrier_all.done()


async def test_barrier_does_not_wait_for_items_submitted_after_it() -> None:
    """barrier(key) covers what was submitted before the call, not what arrives afterwards."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    writer.submit("a", 1)
    await settle()
    barrier = asyncio.create_task(writer.barrier("a"))
    await settle()
    late = writer.submit("a", 2)
    await rec.release()
    assert barrier.done() and not late.done()
    await rec.release()
    assert late.result() == "a:2"


async def test_barrier_survives_failures_and_idle_keys() -> None:
    """barrier(key) returns (without raising) after failed items, and at once for a key with nothing queued."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    failing = writer.submit("a", -1)
    barrier = asyncio.create_task(writer.barrier("a"))
    await settle()
    await rec.release()
    assert barrier.done() and barrier.exception() is None and isinstance(failing.exception(), ValueError)
    idle = asyncio.create_task(writer.barrier("nothing"))
    await settle(2)
    assert idle.done()


async def test_barrier_all_waits_for_every_key() -> None:
    """barrier_all() returns only when every key's in-flight and pending items are flushed; the writer is idle."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    futures = [writer.submit(key, 1) for key in ("a", "b")]
    await settle()
    futures += [writer.submit("b", 2), writer.submit("c", 3)]  # b: one in flight, one pending
    barrier = asyncio.create_task(writer.barrier_all())
    await settle()
    assert writer.busy_keys == 3 and len(rec.gates) == 3
    for _ in range(3):  # a's flush, b's first, c's: b's second flush is still to come
        await rec.release()
        assert not barrier.done()
    await rec.release()
    assert barrier.done() and all(f.done() for f in futures) and writer.busy_keys == 0


async def test_flushes_counter_counts_flush_calls() -> None:
    """flushes counts calls of the flush function (one per batch), items_written the items they held."""
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    assert writer.flushes == 0
    writer.submit("a", 1)
    await settle()
    for i in range(2, 12):
        writer.submit("a", i)
    writer.submit("b", 1)
    await settle()
    while rec.gates:
        await rec.release()
    assert len(rec.batches) == 3 and writer.flushes == 3 and writer.items_written == 12


async def test_a_gate_holds_the_flush_and_what_arrives_meanwhile_joins_it() -> None:
    """``gate`` (the bulk updater's ``ready``): while it waits the key's items keep gathering, and the flush that
    follows takes them all; an open gate adds no wait."""
    rec = Recorder()
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waits: list[int] = []

    async def gate() -> None:
        waits.append(1)
        if not opened.done():
            await opened

    writer = CoalescingWriter(rec, gate=gate)
    first = [writer.submit("a", 1)]
    await settle()
    first += [writer.submit("a", i) for i in (2, 3)]
    await settle()
    assert rec.batches == [] and not any(f.done() for f in first)
    opened.set_result(None)
    await settle()
    assert rec.batches == [("a", [1, 2, 3])] and [f.result() for f in first] == ["a:1", "a:2", "a:3"]
    assert (await writer.submit("a", 4)) == "a:4" and rec.batches[-1] == ("a", [4]) and len(waits) == 2


async def test_settled_waits_for_the_flush_in_flight_only() -> None:
    rec = Recorder(hold=True)
    writer = CoalescingWriter(rec)
    writer.submit("a", 1)
    await settle()
    later = writer.submit("a", 2)  # queued behind the flush in flight
    waiter = asyncio.ensure_future(writer.settled("a"))
    await settle()
    assert not waiter.done()
    await rec.release()
    assert waiter.done() and not later.done()  # the flush of item 2 is in flight now, and not waited for
    await writer.settled("b")  # a key with nothing in flight: returns at once
    await rec.release()
    assert later.result() == "a:2"
