"""The dispatch table: one small handler per client message type.

A handler gets the message context and the parsed model; it replies with ``ctx.reply`` and raises
``AppError`` (or any exception) for errors, which ``run_handler`` turns into one ``error`` message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from loguru import logger
from pydantic import BaseModel

from app.auth import AuthError, Principal, Verifier, user_of
from app.db import iso, utcnow
from app.errors import AppError, to_app_error, wire_code
from app.jobs import JobEngine
from app.runtime import Runtime
from app.services.updates import WriteResult
from protocol import (
    AiDelta,
    AiSuggest,
    AiSuggestion,
    AuthRefresh,
    AuthRefreshed,
    Error,
    JobCancel,
    JobList,
    JobListResult,
    JobStart,
    JobStatusUpdate,
    Ping,
    Pong,
    PresenceUpdate,
    ReorderConfirm,
    SyncConfirm,
    VideoCancel,
    VideoGenerate,
    VideoStatusUpdate,
    WorkspaceCreate,
    WorkspaceCreated,
    WorkspaceDelete,
    WorkspaceDeleted,
    WorkspaceHistory,
    WorkspaceHistoryResult,
    WorkspaceList,
    WorkspaceListResult,
    WorkspaceReorder,
    WorkspaceRestore,
    WorkspaceUpdate,
    codes,
    encode,
)
from protocol.outbound import ServerMessage


@dataclass
class Context:
    runtime: Runtime
    conn: Any  # app.realtime.connection.WsConnection (anything with id, project, send)
    message_id: str | None
    received: float = field(default_factory=time.perf_counter)  # made when the frame is read

    @property
    def project(self) -> str:
        project: str = self.conn.project
        return project

    @property
    def principal(self) -> Principal:
        principal: Principal = self.conn.principal
        return principal

    @property
    def user(self) -> str | None:
        """The token's ``sub`` with per-project tokens (PROTOCOL.md 10), else None."""
        return user_of(self.principal)

    def reply(self, message: ServerMessage) -> None:
        message.reply_to = self.message_id
        self.conn.send(encode(message))


Handler = Callable[[Context, Any], Awaitable[None]]


def handle_ping(ctx: Context, msg: Ping, verifier: Verifier) -> None:
    """``ping``: needs nothing but the socket, so the reader answers it itself, even while the database is down."""
    ctx.reply(Pong(server_time=iso(utcnow()) or ""))


async def handle_list(ctx: Context, msg: WorkspaceList) -> None:
    ctx.reply(WorkspaceListResult(workspaces=await ctx.runtime.workspaces.list_all(ctx.project)))


async def handle_create(ctx: Context, msg: WorkspaceCreate) -> None:
    workspace = await ctx.runtime.workspaces.create(
        ctx.project, msg.workspace, position=msg.position, message_id=msg.id, origin=ctx.conn.id, user=ctx.user
    )
    ctx.reply(WorkspaceCreated(workspace=workspace))


async def handle_history(ctx: Context, msg: WorkspaceHistory) -> None:
    _, entries = await ctx.runtime.workspaces.history_of(
        ctx.project, msg.workspace_id, before_version=msg.before_version, limit=msg.limit
    )
    ctx.reply(WorkspaceHistoryResult(workspace_id=msg.workspace_id, entries=entries))


async def handle_restore(ctx: Context, msg: WorkspaceRestore) -> None:
    result = await ctx.runtime.workspaces.restore(
        ctx.project, msg.workspace_id, msg.version, origin=ctx.conn.id, user=ctx.user
    )
    ctx.reply(SyncConfirm(workspace_id=msg.workspace_id, version=result.version, updated_at=result.updated_at))


async def handle_delete(ctx: Context, msg: WorkspaceDelete) -> None:
    existed = await ctx.runtime.workspaces.delete(ctx.project, msg.workspace_id, origin=ctx.conn.id)
    ctx.reply(WorkspaceDeleted(workspace_id=msg.workspace_id, existed=existed))


async def handle_reorder(ctx: Context, msg: WorkspaceReorder) -> None:
    order = await ctx.runtime.workspaces.reorder(ctx.project, list(msg.order), origin=ctx.conn.id)
    ctx.reply(ReorderConfirm(order=order))


async def handle_generate(ctx: Context, msg: VideoGenerate) -> None:
    _, video = await ctx.runtime.video.start(ctx.project, msg.workspace_id, msg.provider, origin=ctx.conn.id)
    ctx.reply(VideoStatusUpdate(workspace_id=msg.workspace_id, video=video))


async def handle_cancel(ctx: Context, msg: VideoCancel) -> None:
    _, video = await ctx.runtime.video.cancel(ctx.project, msg.workspace_id, origin=ctx.conn.id)
    ctx.reply(VideoStatusUpdate(workspace_id=msg.workspace_id, video=video))


async def handle_suggest(ctx: Context, msg: AiSuggest) -> None:
    def on_delta(delta: str) -> None:
        ctx.reply(AiDelta(workspace_id=msg.workspace_id, delta=delta))

    _, entry = await ctx.runtime.ai.suggest(
        ctx.project, msg.workspace_id, msg.message, apply=msg.apply, on_delta=on_delta, origin=ctx.conn.id
    )
    ctx.reply(AiSuggestion(workspace_id=msg.workspace_id, suggestion=entry))


def _jobs(ctx: Context) -> JobEngine:
    engine = ctx.runtime.jobs
    if engine is None:
        raise AppError(codes.UNAVAILABLE, "jobs are not available on this server")
    return engine


async def handle_job_start(ctx: Context, msg: JobStart) -> None:
    job = await _jobs(ctx).start(
        ctx.project, msg.kind, workspace_id=msg.workspace_id, params=msg.params, origin=ctx.conn.id
    )
    ctx.reply(JobStatusUpdate(job=job))


async def handle_job_cancel(ctx: Context, msg: JobCancel) -> None:
    ctx.reply(JobStatusUpdate(job=await _jobs(ctx).cancel(ctx.project, msg.job_id, origin=ctx.conn.id)))


async def handle_job_list(ctx: Context, msg: JobList) -> None:
    ctx.reply(JobListResult(jobs=await _jobs(ctx).list_jobs(ctx.project, list(msg.status) if msg.status else None)))


HANDLERS: dict[type, Handler] = {
    VideoGenerate: handle_generate,
    VideoCancel: handle_cancel,
    AiSuggest: handle_suggest,
    WorkspaceList: handle_list,
    WorkspaceCreate: handle_create,
    WorkspaceDelete: handle_delete,
    WorkspaceReorder: handle_reorder,
    JobStart: handle_job_start,  # PROTOCOL.md 8.2
    JobCancel: handle_job_cancel,
    JobList: handle_job_list,
    WorkspaceHistory: handle_history,  # PROTOCOL.md 10.2
    WorkspaceRestore: handle_restore,
}

# The messages that change state (PROTOCOL.md 9.1): a token whose role may not edit gets ``forbidden`` for them,
# before anything else about the message is looked at. Every other type (ping, list, auth.refresh) is a read.
EDITOR_ONLY: frozenset[type[BaseModel]] = frozenset(
    {
        WorkspaceCreate,
        WorkspaceUpdate,
        WorkspaceDelete,
        WorkspaceReorder,
        VideoGenerate,
        VideoCancel,
        AiSuggest,
        JobStart,
        JobCancel,
        WorkspaceRestore,
    }
)
# Their ``type`` strings: a malformed message of one of these types is ``forbidden`` too, not ``invalid_message``.
EDITOR_ONLY_TYPES: frozenset[str] = frozenset(get_args(m.model_fields["type"].annotation)[0] for m in EDITOR_ONLY)


def handle_refresh(ctx: Context, msg: AuthRefresh, verifier: Verifier) -> None:
    """``auth.refresh``: needs nothing but the verifier, so the reader answers it itself (as ``ping``)."""
    try:
        principal = verifier.verify(msg.token)
    except AuthError as exc:
        raise AppError(codes.UNAUTHORIZED, f"{exc}; the connection keeps its token") from None
    if not principal.may_open(ctx.project):
        raise AppError(codes.UNAUTHORIZED, "the new token does not name this connection's project")
    ctx.conn.set_principal(principal)
    logger.info("connection {} refreshed its token (sub={})", ctx.conn.id, principal.sub)
    ctx.reply(AuthRefreshed(expires_at=iso(principal.expires_at)))


# Messages the reader answers itself, in order and without a handler slot or the database (ping must answer while
# the database is away and the slots are full); an ``AppError`` they raise is the reply.
InlineHandler = Callable[[Context, Any, Verifier], None]


def handle_presence(ctx: Context, msg: PresenceUpdate, verifier: Verifier) -> None:
    """``presence.update``: no reply, no database on the way (forwarded, rate limited: app/services/presence.py)."""
    if ctx.runtime.presence is None:
        raise AppError(codes.UNAVAILABLE, "presence is not available on this server")
    ctx.runtime.presence.offer(ctx.conn.id, dict(msg.state))


INLINE_HANDLERS: dict[type, InlineHandler] = {
    Ping: handle_ping,
    AuthRefresh: handle_refresh,
    PresenceUpdate: handle_presence,
}


# workspace.update, the hot message (issue 17): queued by the reader itself and confirmed from its write's own
# callback, with no task per update (``done`` gives the handler slot back). Its order is the reader's order, as
# a task's first step was; what it raises or its write fails with is the reply, as in ``run_handler``.
QueuedHandler = Callable[[Context, Any, Callable[[], None]], None]


def queue_update(ctx: Context, msg: WorkspaceUpdate, done: Callable[[], None]) -> None:
    try:
        future = ctx.runtime.workspaces.submit_update(
            ctx.project, msg.workspace_id, msg.updates.patch(), origin=ctx.conn.id, user=ctx.user
        )
    except Exception as exc:
        done()
        report_failure(ctx, exc, msg.type)
        return

    def confirm(written: asyncio.Future[WriteResult]) -> None:
        done()
        if written.cancelled():
            return
        failure = written.exception()
        if failure is not None:
            report_failure(ctx, failure, msg.type)
            return
        result = written.result()
        ctx.reply(SyncConfirm(workspace_id=msg.workspace_id, version=result.version, updated_at=result.updated_at))
        ctx.runtime.metrics.confirm_latency.observe(time.perf_counter() - ctx.received)

    future.add_done_callback(confirm)


QUEUED_HANDLERS: dict[type, QueuedHandler] = {WorkspaceUpdate: queue_update}


def send_error(ctx: Context, exc: BaseException) -> AppError:
    """Reply with the one error ``exc`` maps to (an internal one is logged once, with the correlation id that
    goes into the reply's ``details``) and return it."""
    error = to_app_error(exc)
    ctx.reply(Error(code=wire_code(error.code), message=error.message, details=error.details))
    return error


async def run_handler(ctx: Context, handler: Handler, msg: Any) -> None:
    try:
        await handler(ctx, msg)  # the log context (conn) is the endpoint's, copied into this task
    except Exception as exc:
        report_failure(ctx, exc, msg.type)


def report_failure(ctx: Context, exc: BaseException, message_type: str) -> None:
    error = send_error(ctx, exc)  # one mapping: a second one logged the error again under a second id
    code = wire_code(error.code)
    ctx.runtime.metrics.errors.labels(code=code).inc()
    logger.info("error {} on {} from {}", code, message_type, ctx.conn.id)  # no user content at INFO
    logger.debug("error {} detail: {}", code, error.message[:200])
