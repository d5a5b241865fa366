"""The typed state the lifespan builds and every handler and route reaches through ``runtime_of``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from pymongo import AsyncMongoClient

    from app.db.health import DatabaseHealth
    from app.jobs import JobEngine
    from app.media import MediaStore
    from app.metrics import Metrics
    from app.poller import Poller
    from app.realtime.fanout import ChangeStreamFanout, LocalFanout
    from app.realtime.hub import Hub
    from app.services.ai import AiService
    from app.services.presence import Presence
    from app.services.providers import ProviderPool
    from app.services.video import VideoService
    from app.services.workspaces import WorkspaceService
    from app.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    hub: Hub
    metrics: Metrics
    client: AsyncMongoClient[dict[str, Any]]
    workspaces: WorkspaceService
    media: MediaStore
    providers: ProviderPool
    video: VideoService
    ai: AiService
    poller: Poller
    fanout: LocalFanout | ChangeStreamFanout
    db_health: DatabaseHealth  # up/down, from a ping every half second
    jobs: JobEngine | None = None  # PROTOCOL.md 8 (app/jobs)
    presence: Presence | None = None  # PROTOCOL.md 10.1
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)  # in-flight message handlers
    shutting_down: bool = False

    @property
    def poller_state(self) -> str:
        return self.poller.state

    def spawn(self, coro: Any, *, name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Graceful shutdown, step one: stop taking messages, finish and confirm what was received."""
        from protocol import codes

        self.shutting_down = True
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        await asyncio.wait_for(self.workspaces.writer.barrier_all(), timeout)
        await self.hub.close_all(codes.WS_GOING_AWAY, "server shutting down")


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime
