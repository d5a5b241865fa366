"""How many renders of the local renderer run at once: a count and a pixel budget, admitted strictly in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(eq=False)
class Ticket:
    pixels: int
    admitted: asyncio.Event = field(default_factory=asyncio.Event)


class RenderBudget:
    """Admits renders in arrival order while at most ``max_count`` run and the pixels they hold stay within
    ``max_pixels`` (one bigger than the whole budget runs alone). The bookkeeping is synchronous: ``enter`` gives
    a ticket whose ``admitted`` event is set at once or by the ``shrink``/``release`` that makes room for it."""

    def __init__(self, max_count: int, max_pixels: int) -> None:
        self.max_count, self.max_pixels = max_count, max_pixels
        self.running: set[Ticket] = set()
        self.waiting: deque[Ticket] = deque()

    def enter(self, pixels: int) -> Ticket:
        ticket = Ticket(max(0, pixels))
        self.waiting.append(ticket)
        self._admit()
        return ticket

    def shrink(self, ticket: Ticket, pixels: int) -> None:  # a running render now holds fewer pixels
        ticket.pixels = min(ticket.pixels, max(0, pixels))
        self._admit()

    def release(self, ticket: Ticket) -> None:
        self.running.discard(ticket)
        with contextlib.suppress(ValueError):
            self.waiting.remove(ticket)
        self._admit()

    def _admit(self) -> None:
        while self.waiting and len(self.running) < self.max_count:
            head = self.waiting[0]
            if self.running and sum(t.pixels for t in self.running) + head.pixels > self.max_pixels:
                return  # strictly in order: a big picture is not starved by small ones behind it
            self.running.add(self.waiting.popleft())
            head.admitted.set()

    @contextlib.asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[Ticket]:
        ticket = self.enter(pixels)
        try:
            await ticket.admitted.wait()
            yield ticket
        finally:
            self.release(ticket)
