"""``python -m app worker``: a process of the deployment that runs jobs (and polls video providers), with no HTTP
or WebSocket, so heavy work such as exports scales on machines of its own while the socket servers stay light
(start those with ``RUN_JOBS=false`` to leave every job to the workers).

It is assembled exactly as a socket server is (``app.assembly``), minus the connections: it claims jobs from the
shared ``jobs`` collection, and what it writes carries its events (``FANOUT=changestream``), which the socket
servers' change streams deliver to their clients. Hence it needs the deployment's database (``MONGODB_URI``) and
``FANOUT=changestream``; with media on disk it must share ``DATA_DIR`` with the socket servers (or use
``MEDIA_STORE=s3``). SIGTERM/SIGINT: the jobs running here go back to the queue, for any process to carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from loguru import logger

from app.assembly import assemble
from app.media import open_media_store
from app.settings import Settings


class WorkerRefused(RuntimeError):
    """The settings cannot make a working worker; the message says what to set."""


def check(settings: Settings) -> None:
    if settings.mongodb_uri is None:
        raise WorkerRefused("a worker needs MONGODB_URI: the database of the socket servers it works for")
    if settings.fanout != "changestream":
        raise WorkerRefused(
            "a worker needs FANOUT=changestream: its jobs' events reach the socket servers' clients through the "
            "database"
        )


async def work(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (default: SIGTERM or SIGINT). Returns the exit status."""
    check(settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        runtime = await assemble(stack, settings, open_media_store(settings), serving=False)
        assert runtime.jobs is not None
        logger.info("worker {} running jobs: {}", runtime.jobs.owner, ", ".join(sorted(runtime.jobs.kinds)))
        await stop.wait()
        logger.info("worker stopping: its running jobs go back to the queue")
    logger.info("worker stopped")
    return 0
