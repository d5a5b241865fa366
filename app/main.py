"""The app factory and the lifespan that owns every resource (database client, hub, services)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from loguru import logger
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app.api.audio_upload import upload_audio
from app.api.callbacks import provider_callback
from app.api.direct_upload import commit_upload, presign_upload
from app.api.generate import ai_suggest, cancel_video, generate_video
from app.api.health import health, livez, metrics, protocol, readyz  # livez, readyz
from app.api.jobs import cancel_job, get_job, list_jobs, start_job
from app.api.projects import list_projects, project_timeline
from app.api.responses import app_error_handler, http_exception_handler
from app.api.uploads import upload_image
from app.api.workspaces import get_workspace, list_workspaces, workspace_history
from app.assembly import assemble
from app.auth import MediaAccess, Verifier, signing_key
from app.errors import AppError
from app.media import MediaStore, open_media_store  # disk or S3 (MEDIA_STORE); nothing to close
from app.middleware import AccessLogMiddleware, GuardMiddleware, OriginPolicy
from app.realtime.endpoint import websocket_endpoint
from app.runtime import Runtime
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
        Route("/api/workspaces/{workspace_id}/history", workspace_history, methods=["GET"]),  # PROTOCOL.md 10.2
        Route("/api/upload/image", upload_image, methods=["POST"]),
        Route("/api/upload/audio", upload_audio, methods=["POST"]),  # PROTOCOL.md 8.4
        Route("/api/upload/presign", presign_upload, methods=["POST"]),
        Route("/api/upload/commit", commit_upload, methods=["POST"]),
        Route("/api/generate/video", generate_video, methods=["POST"]),
        Route("/api/generate/video/cancel", cancel_video, methods=["POST"]),
        Route("/api/ai/suggest", ai_suggest, methods=["POST"]),
        Route("/api/jobs", start_job, methods=["POST"]),  # PROTOCOL.md 8.4
        Route("/api/jobs", list_jobs, methods=["GET"]),
        Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/api/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
        Route("/api/projects", list_projects, methods=["GET"]),  # PROTOCOL.md 8.4
        Route("/api/projects/{project}/timeline.otio", project_timeline, methods=["GET"]),
        WebSocketRoute("/ws", websocket_endpoint),
        # access per project checked in front of whatever the store answers (files or 307s)
        Mount("/uploads", MediaAccess(media.app("uploads"), "uploads"), name="uploads"),
        Mount("/media", MediaAccess(media.app("media"), "media"), name="media"),
    ]
    ui_dir = settings.ui_dir or DEFAULT_UI_DIR
    if (ui_dir / "index.html").is_file():
        routes.append(Mount("/", StaticFiles(directory=ui_dir, html=True), name="ui"))
    return routes


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
        # One exit stack owns everything (app.assembly): a failure half-way through start-up closes what was
        # already opened, and on shutdown every background task is stopped and awaited.
        async with contextlib.AsyncExitStack() as stack:
            runtime = await assemble(stack, settings, media)
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
