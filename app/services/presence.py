"""Presence (PROTOCOL.md 10.1): who has a project's timeline open and what each is looking at. Never a change of
the timeline: nothing is confirmed, nothing counts in ``version``, and it is gone with its connection.

Each connection's ``state`` is forwarded to the project's other connections at most ``1 / interval_s`` (10) times a
second: a state offered sooner waits, and a later one replaces it (the latest wins).

- ``FANOUT=local``: the seats live in this process and ``presence.changed`` / ``presence.left`` go straight to
  its hub (``publish``).
- ``FANOUT=changestream``: each seat is also a document of the ``presence`` collection, written through a write
  path whose fanout carries the event (so every process's change stream brings it to its own connections, the
  sender skipped); the writes of all seats that are due together go as one ``bulk_write``, so a process sends at
  most one presence command per batch, and each seat at most 10 writes a second. Every ``HEARTBEAT_S`` a process
  marks its seats as seen (one ``update_many``, which carries no event); any process deletes the seats not seen
  for ``STALE_S`` (a process that died; ``PRESENCE_STALE_S``), each announced as ``presence.left``: gone within
  ``STALE_S + HEARTBEAT_S`` (20 s), inside the protocol's 30.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loguru import logger
from pymongo.errors import DuplicateKeyError, PyMongoError

from app.db import iso, utcnow
from app.writes import WritePath
from protocol import PresenceChanged, PresenceEntry, PresenceLeft
from protocol.outbound import ServerMessage

INTERVAL_S = 0.1  # at most 10 forwarded a second per connection
# Connections of one project (in one process) that take part: each opening is announced to every other, so a
# thousand tabs opening at once would be a million frames. Beyond it a connection still sees who is here, but is
# not announced and its presence.update is ignored (PRESENCE_MAX_SEATS; a room limit, as hosted presence has).
MAX_SEATS = 256
HEARTBEAT_S = 5.0
STALE_S = 15.0

Publish = Callable[[str, ServerMessage, str | None], None]  # (project, message, connection not to send it to)


@dataclass
class _Seat:
    project: str
    since: datetime
    user: str | None
    state: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    last_sent: float = float("-inf")
    timer: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class Presence:
    def __init__(
        self,
        publish: Publish,
        *,
        shared: WritePath | None = None,
        interval_s: float = INTERVAL_S,
        stale_s: float = STALE_S,
        max_seats: int = MAX_SEATS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publish = publish
        self.shared = shared  # the ``presence`` collection's write path (FANOUT=changestream), else None
        self.interval_s = interval_s
        self.stale_s = stale_s
        self.max_seats = max_seats
        self._per_project: dict[str, int] = {}
        self.heartbeat_s = min(HEARTBEAT_S, stale_s / 3)
        self.clock = clock
        self.process = "p_" + secrets.token_hex(6)
        self.seats: dict[str, _Seat] = {}  # connection id -> its seat (this process's connections)
        self.forwarded = 0  # presence.changed sent or written, for tests and the benchmark
        self._stop = asyncio.Event()

    # ---- a connection's life ----------------------------------------------------------------------------------

    async def join(self, project: str, connection_id: str, *, user: str | None = None) -> list[PresenceEntry]:
        """Seat a new connection; the others of its project (for ``connection.ready``). The others hear of it
        (``presence.changed`` with ``state`` null), unless the project has ``max_seats`` seated already."""
        others = await self._others(project, connection_id)
        if self._per_project.get(project, 0) >= self.max_seats:
            return others
        self._per_project[project] = self._per_project.get(project, 0) + 1
        seat = self.seats[connection_id] = _Seat(project, utcnow(), user)
        message = PresenceChanged(connection_id=connection_id, state=None)
        if self.shared is None:
            self.publish(project, message, connection_id)
        else:
            doc = {"_id": connection_id, "project": project, "state": None, "since": seat.since}
            with contextlib.suppress(DuplicateKeyError):
                await self.shared.insert(
                    project, [({**doc, "process": self.process, "seen": seat.since}, [(message, connection_id)])]
                )
        return others

    def offer(self, connection_id: str, state: dict[str, Any]) -> None:
        """A ``presence.update``: forwarded now, or when this connection's interval has passed (latest wins)."""
        seat = self.seats.get(connection_id)
        if seat is None:
            return
        seat.pending = {**state, "user": seat.user} if seat.user is not None else dict(state)
        if seat.timer is not None:
            return  # already waiting: this state replaces the one it waits with
        wait = seat.last_sent + self.interval_s - self.clock()
        if wait <= 0:
            self._forward(connection_id, seat)
        else:
            seat.timer = asyncio.get_running_loop().call_later(wait, self._forward, connection_id, seat)

    async def leave(self, connection_id: str) -> None:
        seat = self.seats.pop(connection_id, None)
        if seat is None:
            return
        left = self._per_project.pop(seat.project, 1) - 1
        if left > 0:
            self._per_project[seat.project] = left
        if seat.timer is not None:
            seat.timer.cancel()
        if seat.tasks:
            await asyncio.wait(list(seat.tasks), timeout=2)
        message = PresenceLeft(connection_id=connection_id)
        if self.shared is None:
            self.publish(seat.project, message, connection_id)
            return
        try:
            await self.shared.delete(seat.project, {"_id": connection_id}, [(message, connection_id)])
        except PyMongoError as exc:  # the sweep of another process (or ours) removes it later
            logger.warning("presence of {} not removed: {}", connection_id, type(exc).__name__)

    # ---- forwarding -------------------------------------------------------------------------------------------

    def _forward(self, connection_id: str, seat: _Seat) -> None:
        seat.timer = None
        state, seat.pending = seat.pending, None
        if state is None or self.seats.get(connection_id) is not seat:
            return
        seat.state, seat.last_sent = state, self.clock()
        self.forwarded += 1
        message = PresenceChanged(connection_id=connection_id, state=state)
        if self.shared is None:
            self.publish(seat.project, message, connection_id)
            return
        task = asyncio.create_task(self._write(seat, connection_id, message), name=f"presence:{connection_id}")
        seat.tasks.add(task)
        task.add_done_callback(seat.tasks.discard)

    async def _write(self, seat: _Seat, connection_id: str, message: PresenceChanged) -> None:
        assert self.shared is not None
        try:
            await self.shared.update(
                seat.project, {"_id": connection_id}, {"$set": {"state": message.state}}, [(message, connection_id)],
                batched=True,
            )  # fmt: skip
        except PyMongoError as exc:  # presence is a hint: the next update (or nothing) replaces it
            logger.warning("presence of {} not written: {}", connection_id, type(exc).__name__)

    async def _others(self, project: str, connection_id: str) -> list[PresenceEntry]:
        if self.shared is None:
            return [
                PresenceEntry(connection_id=cid, state=s.state, since=iso(s.since) or "")
                for cid, s in self.seats.items()
                if s.project == project and cid != connection_id
            ]
        cursor = self.shared.collection.find(
            {"project": project, "_id": {"$ne": connection_id}}, {"state": 1, "since": 1}
        )
        return [
            PresenceEntry(connection_id=d["_id"], state=d.get("state"), since=iso(d["since"]) or "")
            async for d in cursor
        ]

    # ---- FANOUT=changestream: heartbeat and sweep --------------------------------------------------------------

    async def run(self) -> None:
        """Until ``stop()``: mark this process's seats as seen, and remove the seats of processes that stopped."""
        if self.shared is None:
            return
        while not self._stop.is_set():
            try:
                await self.heartbeat()
                await self.sweep()
            except PyMongoError as exc:
                logger.warning("presence heartbeat: {}", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.heartbeat_s)

    def stop(self) -> None:
        self._stop.set()

    async def heartbeat(self, now: datetime | None = None) -> None:
        assert self.shared is not None
        await self.shared.collection.update_many({"process": self.process}, {"$set": {"seen": now or utcnow()}})

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete (and announce as left) the seats not seen for ``stale_s``; how many."""
        assert self.shared is not None
        cutoff = (now or utcnow()) - timedelta(seconds=self.stale_s)
        stale = [d async for d in self.shared.collection.find({"seen": {"$lt": cutoff}}, {"project": 1})]
        gone = 0
        for doc in stale:
            left = PresenceLeft(connection_id=doc["_id"])
            if await self.shared.delete(doc["project"], {"_id": doc["_id"], "seen": {"$lt": cutoff}}, [(left, None)]):
                gone += 1
        return gone
