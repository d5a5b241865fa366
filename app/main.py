"""The app factory and the lifespan that owns every resource (database client, hub, services)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from loguru import logger
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app.api.callbacks import provider_callback
from app.api.direct_upload import commit_upload, presign_upload
from app.api.generate import ai_suggest, cancel_video, generate_video
from app.api.health import health, livez, metrics, protocol, readyz  # livez, readyz
from app.api.jobs import cancel_job, get_job, list_jobs, start_job
from app.api.responses import app_error_handler, http_exception_handler
from app.api.uploads import upload_image
from app.api.workspaces import get_workspace, list_workspaces
from app.auth import MediaAccess, Verifier, signing_key
from app.db import DatabaseHealth, JobDoc, PollerLease, WorkspaceDoc, connect
from app.errors import AppError
from app.jobs import JobEngine, JobServices, job_fanout, load_kinds
from app.media import MediaStore, open_media_store  # disk or S3 (MEDIA_STORE)
from app.metrics import Metrics
from app.middleware import AccessLogMiddleware, GuardMiddleware, OriginPolicy
from app.poller import Poller
from app.realtime.endpoint import websocket_endpoint
from app.realtime.fanout import ChangeStreamFanout, LocalFanout
from app.realtime.hub import Hub
from app.runtime import Runtime
from app.services.ai import AiService
from app.services.providers import ProviderPool
from app.services.video import VideoService
from app.services.workspaces import WorkspaceService
from app.settings import Settings

DEFAULT_UI_DIR = Path(__file__).resolve().parent.parent / "ecosystem" / "timeline-ui" / "dist"


def _routes(settings: Settings, media: MediaStore) -> list[Any]:
    routes: list[Any] = [
        Route("/health", health, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),  # PROTOCOL.md 9.4
        Route("/readyz", readyz, methods=["GET"]),
        Route("/api/callbacks/{provider}", provider_callback, methods=["POST"]),  # PROTOCOL.md 9.3
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/protocol", protocol, methods=["GET"]),
        Route("/api/workspaces", list_workspaces, methods=["GET"]),
        Route("/api/workspaces/{workspace_id}", get_workspace, methods=["GET"]),
        Route("/api/upload/image", upload_image, methods=["POST"]),
        Route("/api/upload/presign", presign_upload, methods=["POST"]),
        Route("/api/upload/commit", commit_upload, methods=["POST"]),
        Route("/api/generate/video", generate_video, methods=["POST"]),
        Route("/api/generate/video/cancel", cancel_video, methods=["POST"]),
        Route("/api/ai/suggest", ai_suggest, methods=["POST"]),
        Route("/api/jobs", start_job, methods=["POST"]),  # PROTOCOL.md 8.4
        Route("/api/jobs", list_jobs, methods=["GET"]),
        Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/api/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
        WebSocketRoute("/ws", websocket_endpoint),
        # access per project checked in front of whatever the store answers (files or 307s)
        Mount("/uploads", MediaAccess(media.app("uploads"), "uploads"), name="uploads"),
        Mount("/media", MediaAccess(media.app("media"), "media"), name="media"),
    ]
    ui_dir = settings.ui_dir or DEFAULT_UI_DIR
    if (ui_dir / "index.html").is_file():
        routes.append(Mount("/", StaticFiles(directory=ui_dir, html=True), name="ui"))
    return routes


def _environment() -> dict[str, str]:
    """Provider variables come from ``.env`` and the environment (the environment wins), like the settings."""
    dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**dotenv, **os.environ}


async def _settle(tasks: set[asyncio.Task[Any]], timeout: float, what: str) -> None:
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


def _background(
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
            await _settle({task}, timeout, what)
        else:
            task.cancel()
            await asyncio.wait([task])

    stack.push_async_callback(end)
    return task


async def _drain_unless_drained(runtime: Runtime) -> None:
    if not runtime.shutting_down:
        await runtime.drain()


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app. ``settings.mongodb_uri`` must be set (``python -m app`` starts the embedded database and
    fills it in)."""
    settings = settings or Settings()
    media: MediaStore = open_media_store(settings)  # nothing to close (see app/media.py)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.mongodb_uri is None:
            raise RuntimeError("MONGODB_URI is not set (python -m app starts the embedded database)")
        # One exit stack owns everything: a failure half-way through start-up closes what was already opened, and
        # on shutdown every background task is stopped and awaited, in the reverse order of starting.
        async with contextlib.AsyncExitStack() as stack:
            client = await connect(
                settings.mongodb_uri.get_secret_value(), settings.mongodb_db, timeout_ms=settings.db_timeout_ms
            )
            stack.push_async_callback(client.close)
            db_health = DatabaseHealth(client)  # while it says down, requests are refused at once
            hub = Hub(settings.max_connections)
            metrics_ = Metrics()

            def on_write(seconds: float, updates: int) -> None:
                metrics_.db_writes.inc()
                metrics_.updates.inc(updates)
                metrics_.coalesced.inc(updates - 1)
                metrics_.write_latency.observe(seconds)

            providers = ProviderPool(settings, _environment(), metrics=metrics_)
            stack.push_async_callback(providers.aclose)
            background: set[asyncio.Task[None]] = set()  # provider cancels of deleted workspaces' generations
            stack.push_async_callback(_settle, background, 10.0, "provider cancels")
            _background(stack, db_health.run(), "db-health", stop=None, timeout=1.0)
            collection = WorkspaceDoc.get_pymongo_collection()
            fanout: LocalFanout | ChangeStreamFanout = LocalFanout(hub)
            if settings.fanout == "changestream":
                stream = fanout = ChangeStreamFanout(hub, collection)
                await stream.start()  # before the first connection: no change after start-up is missed
                _background(stack, stream.run(), "the change stream", stop=stream.stop, timeout=5.0)
                metrics_.fanout_up.set_function(lambda: float(stream.up))
                metrics_.counted(
                    "fanout_stream_resumes",
                    "Times the change stream was reopened from its resume token",
                    lambda: stream.resumes,
                )
                metrics_.counted(
                    "fanout_events_delivered",
                    "Events the change stream handed to this process's connections",
                    lambda: stream.delivered,
                )
            video = VideoService(collection, fanout, providers, media, settings, metrics=metrics_)

            async def on_deleted(raw: dict[str, Any]) -> None:  # cancel at the provider without holding the reply
                task = asyncio.create_task(video.on_deleted(raw))
                background.add(task)
                task.add_done_callback(background.discard)

            workspaces = WorkspaceService(
                collection,
                fanout,
                media=media,
                debounce_s=settings.sync_debounce_ms / 1000,
                max_wait_s=settings.sync_max_wait_ms / 1000,
                on_write=on_write,
                on_deleted=on_deleted,
                on_reorder=metrics_.reorder_writes.inc,
                admit=db_health.require,
            )
            bulk = workspaces.bulk
            metrics_.counted(
                "db_workspace_write_commands",
                "Database commands that carried the writer's workspace writes (several workspaces share one "
                "bulk_write)",
                lambda: bulk.commands,
            )
            poller = Poller(
                collection,
                PollerLease.get_pymongo_collection(),
                video,
                interval_s=settings.poll_interval_s,
                timeout_s=settings.video_timeout_s,
                metrics=metrics_,
            )
            stack.push_async_callback(poller.aclose)
            providers.on_change = poller.poke  # the local renderer's progress is pushed, not polled
            _background(stack, poller.run(), "the poller", stop=poller.stop, timeout=30.0)
            # Jobs (PROTOCOL.md 8, app/jobs): the engine claims and runs jobs of the whole deployment; with
            # FANOUT=changestream a watcher of the jobs collection (opened before the first connection) brings
            # every process's job.status_update to this process's connections.
            jobs_fanout, jobs_watcher = job_fanout(settings.fanout, hub, JobDoc.get_pymongo_collection())
            if jobs_watcher is not None:
                await jobs_watcher.start()
                _background(stack, jobs_watcher.run(), "the jobs change stream", stop=jobs_watcher.stop, timeout=5.0)
            jobs = JobEngine(
                JobDoc.get_pymongo_collection(),
                jobs_fanout,
                load_kinds(),
                JobServices(workspaces=workspaces, providers=providers, settings=settings),
                lease_s=settings.job_lease_s,
                timeout_s=settings.job_timeout_s,
                concurrency={"export": settings.export_concurrency},
            )
            jobs_task = asyncio.create_task(jobs.run(), name="jobs")
            stack.push_async_callback(_settle, {jobs_task}, 5.0, "the job engine")
            stack.push_async_callback(jobs.stop)  # jobs running here go back to the queue
            runtime = Runtime(
                settings=settings,
                hub=hub,
                metrics=metrics_,
                client=client,
                workspaces=workspaces,
                media=media,
                providers=providers,
                video=video,
                ai=AiService(collection, fanout, providers),
                poller=poller,
                fanout=fanout,
                db_health=db_health,
                jobs=jobs,
            )
            app.state.runtime = runtime
            # First on the way out: confirm what was received and close the sockets (python -m app has already
            # done this on SIGTERM, before uvicorn's own shutdown; an embedding app may not have).
            stack.push_async_callback(_drain_unless_drained, runtime)
            yield
        logger.info("stopped")

    origins = OriginPolicy(settings.origins)  # one policy for CORS, WebSockets and state-changing requests
    verifier = Verifier.from_settings(settings)  # the endpoint reaches it for auth.refresh
    middleware = [
        Middleware(AccessLogMiddleware),
        Middleware(
            CORSMiddleware,
            **origins.cors_options(),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Token", "Content-Type"],
            max_age=600,
        ),
        Middleware(
            GuardMiddleware,
            verifier=verifier,  # AUTH_TOKEN and JWTs, one verifier (app/auth)
            policy=origins,
            signing_key=signing_key(settings),
        ),
    ]
    app = Starlette(
        routes=_routes(settings, media),
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            AppError: app_error_handler,
            HTTPException: http_exception_handler,
            Exception: app_error_handler,
        },
    )
    app.state.settings = settings
    app.state.verifier = verifier
    return app
