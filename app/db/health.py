"""Whether the database answers right now: a monitor that pings it every half second with a short timeout.

The server asks it before it touches the database (``require()``): while the database is down a request is
refused at once with ``unavailable`` instead of each one waiting out the driver's server selection timeout one
after the other, and ``/health`` reports it without waiting. One failed ping is enough to say "down" (a database
that cannot answer a ping within ``timeout_s`` cannot confirm a write either); one answered ping says "up".
When the driver itself has already seen the server fail (a write's connection broke, or its own heartbeat
did), the monitor says "down" without waiting for its ping to time out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pymongo
from loguru import logger
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from app.errors import AppError
from protocol import codes

INTERVAL_S = 0.5
TIMEOUT_S = 1.0


def db_unavailable() -> AppError:
    return AppError(codes.UNAVAILABLE, "the database is unreachable right now; nothing was changed")


class DatabaseHealth:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        *,
        interval_s: float = INTERVAL_S,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.up = True  # the lifespan has just connected and created the indexes
        self.down_since: float | None = None  # clock() when the current outage was first seen
        self.outages = 0
        self._down = asyncio.Event()

    def require(self) -> None:
        """Raise ``unavailable`` while the database is known to be down (nothing was sent to it)."""
        if not self.up:
            raise db_unavailable()

    async def wait_down(self) -> None:
        """Return once the database is known to be down (at once if it is)."""
        await self._down.wait()

    async def check(self) -> bool:
        """Ping once (bounded by ``timeout_s``, server selection included) and record the outcome."""
        if self.up and not self._client.topology_description.has_writable_server():
            self._went_down("the driver lost the server")
        try:
            with pymongo.timeout(self.timeout_s):
                await self._client.admin.command("ping")
        except PyMongoError as exc:
            self._went_down(type(exc).__name__)
        else:
            self._came_up()
        return self.up

    async def run(self) -> None:
        """Check every ``interval_s`` until cancelled."""
        while True:
            try:
                await self.check()
            except Exception as exc:  # a bug here must not stop the monitor, nor leave it saying "up"
                logger.opt(exception=exc).error("database health check failed")
                self._went_down(type(exc).__name__)
            await self._sleep(self.interval_s)

    def _went_down(self, reason: str) -> None:
        if not self.up:
            return
        self.up = False
        self.down_since = self._clock()
        self.outages += 1
        self._down.set()
        logger.warning("database unreachable ({}): refusing requests that need it until it answers", reason)

    def _came_up(self) -> None:
        if self.up:
            return
        down_for = self._clock() - (self.down_since or self._clock())
        self.up, self.down_since = True, None
        self._down.clear()
        logger.info("database answers again after {:.1f}s", down_for)
