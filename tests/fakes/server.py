"""The base of the fake provider servers: a Starlette app of fake routes served by uvicorn on a free loopback
port, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from app.db import free_port


class FakeServer:
    """A Starlette app of fake routes served by uvicorn on a free loopback port, in this event loop."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.port = free_port()
        self.app = Starlette(routes=routes)
        self.server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            await self._task
