"""The coalescing writer: a group commit per key (one workspace).

For each key at most one flush is in flight. Items submitted while it runs (or within the debounce window,
never longer than ``max_wait_s`` after the first) are handed to the next flush together, in the order they
were submitted. ``flush(key, items)`` returns one result per item (a value or an exception), so one bad item
does not fail the others; each ``submit`` resolves only when the flush holding its item has returned, which
is after the database acknowledged the write. With ``debounce_s == 0`` an idle key is flushed at once.

``gate()``, when given, is awaited before each flush takes its items (after the debounce): while it waits, more
items join. The update pipeline passes the bulk updater's ``ready``: while the database is busy with one
``bulk_write`` a workspace's updates keep gathering, so the next write of that workspace holds more of them (an
idle database is written at once: no latency is added when nothing is in flight).

``admit()``, when given, is asked before an item is queued and again before each flush; when it raises, the
item (or every item of that flush) fails with its exception and nothing is flushed. The server passes the
database monitor's ``require``: while the database is down, updates fail at once instead of queueing behind
writes that each wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

FlushFn = Callable[[K, list[T]], Awaitable[list[R | BaseException]]]


@dataclass
class _KeyState(Generic[T, R]):
    items: list[T] = field(default_factory=list)
    futures: list[asyncio.Future[R]] = field(default_factory=list)
    in_flight: list[asyncio.Future[R]] = field(default_factory=list)
    first_at: float = 0.0
    last_at: float = 0.0
    task: asyncio.Task[None] | None = None


class CoalescingWriter(Generic[K, T, R]):
    def __init__(
        self,
        flush: FlushFn[K, T, R],
        *,
        debounce_s: float = 0.0,
        max_wait_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        admit: Callable[[], None] | None = None,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._flush = flush
        self._gate = gate
        self._admit = admit
        self._debounce = debounce_s
        self._max_wait = max(max_wait_s, 0.0)
        self._clock = clock
        self._sleep = sleep
        self._keys: dict[K, _KeyState[T, R]] = {}
        self.flushes = 0  # number of flush calls (database writes), for metrics and tests
        self.items_written = 0

    def submit(self, key: K, item: T) -> asyncio.Future[R]:
        """Queue ``item``; the returned future resolves after the flush that holds it. Not a coroutine, so the
        queueing order is exactly the call order. Raises what ``admit()`` raises, queueing nothing."""
        if self._admit is not None:
            self._admit()
        loop = asyncio.get_running_loop()
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        now = self._clock()
        if not state.items:
            state.first_at = now
        state.last_at = now
        state.items.append(item)
        future: asyncio.Future[R] = loop.create_future()
        state.futures.append(future)
        if state.task is None:
            state.task = loop.create_task(self._run(key, state), name=f"writer:{key}")
        return future

    def pending(self, key: K) -> list[asyncio.Future[R]]:
        state = self._keys.get(key)
        return [] if state is None else [*state.in_flight, *state.futures]

    async def barrier(self, key: K) -> None:
        """Wait until everything submitted for ``key`` so far has been flushed (failed or not)."""
        futures = self.pending(key)
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    async def barrier_all(self) -> None:
        """Wait until everything submitted so far, for every key, has been flushed (used on shutdown)."""
        futures = [f for key in list(self._keys) for f in self.pending(key)]
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    async def settled(self, key: K) -> None:
        """Wait until the flush of ``key`` in flight now, if any, has returned (not the items queued after it)."""
        state = self._keys.get(key)
        if state is not None and state.in_flight:
            await asyncio.gather(*state.in_flight, return_exceptions=True)

    @property
    def busy_keys(self) -> int:
        return len(self._keys)

    async def _run(self, key: K, state: _KeyState[T, R]) -> None:
        try:
            while state.items:
                await self._debounce_wait(state)
                if self._gate is not None:
                    await self._gate()
                items, futures = state.items, state.futures
                state.items, state.futures, state.in_flight = [], [], futures
                refused = self._refusal()
                if refused is not None:
                    self._settle(futures, [refused] * len(items))
                    state.in_flight = []
                    continue
                try:
                    results = await self._flush(key, items)
                    if len(results) != len(items):
                        raise RuntimeError("flush returned a wrong number of results")
                except BaseException as exc:  # every submitter learns; the writer keeps going
                    results = [exc] * len(items)
                    if not isinstance(exc, Exception):
                        self._settle(futures, results)
                        raise
                self.flushes += 1
                self.items_written += len(items)
                self._settle(futures, results)
                state.in_flight = []
        finally:
            state.task = None
            if not state.items and self._keys.get(key) is state:
                del self._keys[key]

    async def _debounce_wait(self, state: _KeyState[T, R]) -> None:
        if self._debounce <= 0:
            return
        while True:
            deadline = min(state.last_at + self._debounce, state.first_at + self._max_wait)
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            await self._sleep(remaining)

    def _refusal(self) -> Exception | None:
        if self._admit is None:
            return None
        try:
            self._admit()
        except Exception as exc:
            return exc
        return None

    @staticmethod
    def _settle(futures: list[asyncio.Future[R]], results: list[R | BaseException]) -> None:
        for future, result in zip(futures, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
