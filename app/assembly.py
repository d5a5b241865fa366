"""Everything a process of the deployment runs, built in order on one ``AsyncExitStack``: the database client,
the hub, the write paths and their fanouts, the services, the poller and the job engine.

The exit stack owns it all: a failure half-way through start-up closes what was already opened, and on exit every
background task is stopped and awaited, in the reverse order of starting. The web app's lifespan (``app.main``)
and the jobs-only worker (``python -m app worker``: ``app.worker``) both build a process with ``assemble``; a
worker has no connections, so it watches no change stream (what it writes still carries its events, which the
socket-serving processes' streams deliver).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine
from typing import Any

from dotenv import dotenv_values
from loguru import logger
from pymongo.asynchronous.collection import AsyncCollection

from app.db import DatabaseHealth, HistoryDoc, JobDoc, PollerLease, PresenceDoc, WorkspaceDoc, connect
from app.jobs import JobEngine, JobServices, load_kinds
from app.media import MediaStore
from app.media_fetch import MediaFetcher
from app.metrics import Metrics
from app.poller import Poller
from app.realtime.fanout import ChangeStreamFanout, LocalFanout
from app.realtime.hub import Hub
from app.runtime import Runtime
from app.services.ai import AiService
from app.services.presence import Presence
from app.services.providers import ProviderPool
from app.services.video import VideoService
from app.services.workspaces import WorkspaceService
from app.settings import Settings
from app.writes import History, WritePath
from providers.image import MAX_PICTURE_BYTES, Fetch


def _environment() -> dict[str, str]:
    """Provider variables come from ``.env`` and the environment (the environment wins), like the settings."""
    dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**dotenv, **os.environ}


async def settle(tasks: set[asyncio.Task[Any]], timeout: float, what: str) -> None:
    """Wait for ``tasks`` to end, at most ``timeout`` seconds, then cancel and await what is left."""
    pending = {t for t in tasks if not t.done()}
    if not pending:
        return
    _, late = await asyncio.wait(pending, timeout=timeout)
    if late:
        logger.error("{} did not stop within {:g} s", what, timeout)
        for task in late:
            task.cancel()
        await asyncio.wait(late)


def background(
    stack: contextlib.AsyncExitStack,
    run: Coroutine[Any, Any, None],
    what: str,
    *,
    stop: Callable[[], None] | None,
    timeout: float,
) -> asyncio.Task[None]:
    """Start ``run`` as a task owned by ``stack``: on exit ``stop()`` asks it to end (none: it is cancelled), and
    it is awaited, cancelled after ``timeout``."""
    task = asyncio.create_task(run, name=what)

    async def end() -> None:
        if stop is not None:
            stop()
            await settle({task}, timeout, what)
        else:
            task.cancel()
            await asyncio.wait([task])

    stack.push_async_callback(end)
    return task


async def _fanout(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    hub: Hub,
    collection: AsyncCollection[dict[str, Any]],
    what: str,
    *,
    watch: bool,
) -> LocalFanout | ChangeStreamFanout:
    if settings.fanout != "changestream":
        return LocalFanout(hub)
    stream = ChangeStreamFanout(hub, collection)
    if watch:
        await stream.start()  # before the first connection: no change after start-up is missed
        background(stack, stream.run(), what, stop=stream.stop, timeout=5.0)
    return stream


def _count(metrics: Metrics, stream: ChangeStreamFanout) -> None:
    metrics.fanout_up.set_function(lambda: float(stream.up))
    metrics.counted(
        "fanout_stream_resumes", "Times the change stream was reopened from its resume token", lambda: stream.resumes
    )
    metrics.counted(
        "fanout_events_delivered",
        "Events the change stream handed to this process's connections",
        lambda: stream.delivered,
    )


def _picture_fetch(providers: ProviderPool) -> Callable[[str], Fetch]:
    """Pictures an image provider answers with a URL come through the media policy of ``app.media_fetch`` (https,
    no internal address, bounded), as finished videos do."""
    fetcher = MediaFetcher(max_bytes=MAX_PICTURE_BYTES)

    def fetch_for(name: str) -> Fetch:
        trusted = providers.config(name).base_url or None

        async def fetch(url: str) -> bytes:
            async with fetcher.open(url, trusted_base=trusted) as chunks:
                return b"".join([chunk async for chunk in chunks])

        return fetch

    return fetch_for


async def _presence(stack: contextlib.AsyncExitStack, settings: Settings, hub: Hub, *, serving: bool) -> Presence:
    """PROTOCOL.md 10.1: in this process (FANOUT=local), or in the ``presence`` collection, whose change stream
    brings every process's presence to this one's connections (FANOUT=changestream)."""
    if settings.fanout != "changestream":
        return Presence(hub.publish, max_seats=settings.presence_max_seats)
    collection = PresenceDoc.get_pymongo_collection()
    fanout = await _fanout(stack, settings, hub, collection, "the presence change stream", watch=serving)
    shared = WritePath(collection, fanout)
    presence = Presence(
        hub.publish, shared=shared, stale_s=settings.presence_stale_s, max_seats=settings.presence_max_seats
    )
    background(stack, presence.run(), "presence heartbeat", stop=presence.stop, timeout=5.0)
    return presence


async def assemble(
    stack: contextlib.AsyncExitStack, settings: Settings, media: MediaStore, *, serving: bool = True
) -> Runtime:
    """Build one process on ``stack``. ``serving``: it has connections (the web app); False for a worker."""
    if settings.mongodb_uri is None:
        raise RuntimeError("MONGODB_URI is not set (python -m app starts the embedded database)")
    client = await connect(
        settings.mongodb_uri.get_secret_value(), settings.mongodb_db, timeout_ms=settings.db_timeout_ms
    )
    stack.push_async_callback(client.close)
    db_health = DatabaseHealth(client)  # while it says down, requests are refused at once
    hub = Hub(settings.max_connections)
    metrics = Metrics()

    def on_write(seconds: float, updates: int) -> None:
        metrics.db_writes.inc()
        metrics.updates.inc(updates)
        metrics.coalesced.inc(updates - 1)
        metrics.write_latency.observe(seconds)

    providers = ProviderPool(settings, _environment(), metrics=metrics)
    stack.push_async_callback(providers.aclose)
    providers.fetch_for = _picture_fetch(providers)
    cleanups: set[asyncio.Task[None]] = set()  # provider cancels and job cancels of deleted workspaces
    stack.push_async_callback(settle, cleanups, 10.0, "the clean-ups of deleted workspaces")
    background(stack, db_health.run(), "db-health", stop=None, timeout=1.0)

    collection = WorkspaceDoc.get_pymongo_collection()
    fanout = await _fanout(stack, settings, hub, collection, "the change stream", watch=serving)
    if isinstance(fanout, ChangeStreamFanout) and serving:
        _count(metrics, fanout)
    history = History(HistoryDoc.get_pymongo_collection())  # PROTOCOL.md 10.2, written by the write path
    stack.push_async_callback(history.aclose)
    writes = WritePath(collection, fanout, admit=db_health.require, history=history)
    jobs_writes = WritePath(
        JobDoc.get_pymongo_collection(),
        await _fanout(stack, settings, hub, JobDoc.get_pymongo_collection(), "the jobs change stream", watch=serving),
    )
    video = VideoService(writes, providers, media, settings, metrics=metrics)
    presence = await _presence(stack, settings, hub, serving=serving)
    engine: JobEngine | None = None

    async def clean_up(raw: dict[str, Any]) -> None:
        await video.on_deleted(raw)  # cancel its generation at the provider
        await history.forget(str(raw["_id"]))  # its history goes with it
        if engine is not None:  # PROTOCOL.md 8.5: and its queued or running jobs
            await engine.cancel_for_workspace(raw["project"], str(raw["_id"]))

    async def on_deleted(raw: dict[str, Any]) -> None:  # in the background: the reply does not wait for it
        task = asyncio.create_task(clean_up(raw), name="clean-up of a deleted workspace")
        cleanups.add(task)
        task.add_done_callback(cleanups.discard)

    workspaces = WorkspaceService(
        writes,
        media=media,
        debounce_s=settings.sync_debounce_ms / 1000,
        max_wait_s=settings.sync_max_wait_ms / 1000,
        on_write=on_write,
        on_deleted=on_deleted,
        on_reorder=metrics.reorder_writes.inc,
        admit=db_health.require,
    )
    bulk = writes.bulk
    metrics.counted(
        "db_workspace_write_commands",
        "Database commands that carried the writer's workspace writes (several workspaces share one bulk_write)",
        lambda: bulk.commands,
    )
    poller = Poller(
        collection,
        PollerLease.get_pymongo_collection(),
        video,
        interval_s=settings.poll_interval_s,
        timeout_s=settings.video_timeout_s,
        metrics=metrics,
    )
    stack.push_async_callback(poller.aclose)
    providers.on_change = poller.poke  # the local renderer's progress is pushed, not polled
    background(stack, poller.run(), "the poller", stop=poller.stop, timeout=30.0)
    engine = JobEngine(
        jobs_writes,
        load_kinds(),
        JobServices(workspaces=workspaces, providers=providers, settings=settings, media=media, video=video),
        lease_s=settings.job_lease_s,
        timeout_s=settings.job_timeout_s,
        concurrency={"export": settings.export_concurrency},
        claiming=settings.run_jobs or not serving,
        on_end=lambda kind, status: metrics.jobs_ended.labels(kind=kind, status=status).inc(),
    )
    running = engine.running
    metrics.jobs_running.set_function(lambda: float(len(running)))
    jobs_task = asyncio.create_task(engine.run(), name="jobs")
    stack.push_async_callback(settle, {jobs_task}, 5.0, "the job engine")
    stack.push_async_callback(engine.stop)  # jobs running here go back to the queue
    return Runtime(
        settings=settings,
        hub=hub,
        metrics=metrics,
        client=client,
        workspaces=workspaces,
        media=media,
        providers=providers,
        video=video,
        ai=AiService(writes, providers),
        poller=poller,
        fanout=fanout,
        db_health=db_health,
        jobs=engine,
        presence=presence,
    )
