"""The connection hub: who is connected to which project, and fan-out of events.

It knows nothing of Starlette: a connection is anything with ``id``, ``project``, ``send(text)`` (non-blocking,
bounded) and ``close(code)``. Each event is encoded once, however many listeners get it, and framed once: the
same ``str`` goes to every listener, and ``app.realtime.wire`` reuses the frame of the last text it framed.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from protocol import encode
from protocol.outbound import ServerMessage


class Connection(Protocol):
    id: str
    project: str

    def send(self, text: str) -> None:
        """Queue a text frame; never blocks. A connection that cannot keep up closes itself."""
        ...

    async def close(self, code: int, reason: str = "") -> None: ...


class Hub:
    def __init__(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self._by_project: dict[str, dict[str, Connection]] = {}
        self._count = 0
        self.events_sent = 0

    @property
    def count(self) -> int:
        return self._count

    def add(self, conn: Connection) -> bool:
        """Register ``conn``; False when the process is at ``max_connections``."""
        if self._count >= self.max_connections:
            return False
        self._by_project.setdefault(conn.project, {})[conn.id] = conn
        self._count += 1
        return True

    def remove(self, conn: Connection) -> None:
        members = self._by_project.get(conn.project)
        if members is not None and members.pop(conn.id, None) is not None:
            self._count -= 1
            if not members:
                del self._by_project[conn.project]

    def publish(self, project: str, message: ServerMessage, exclude: str | None = None) -> None:
        """Send ``message`` to every connection of ``project`` except the one with id ``exclude``."""
        if project in self._by_project:
            self.publish_text(project, encode(message), exclude)

    def publish_text(self, project: str, text: str, exclude: str | None = None) -> None:
        """Send an already-encoded frame to every connection of ``project`` except the one with id ``exclude``."""
        members = self._by_project.get(project)
        if not members:
            return
        self.events_sent += len(members) - (exclude in members)
        for conn_id, conn in list(members.items()):
            if conn_id != exclude:
                conn.send(text)

    async def close_all(self, code: int, reason: str = "") -> None:
        conns = [c for members in self._by_project.values() for c in members.values()]
        await asyncio.gather(*(c.close(code, reason) for c in conns), return_exceptions=True)
