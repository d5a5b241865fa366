"""The ``/ws`` endpoint: accept, register with the hub, read frames, dispatch each to its handler.

Reading is sequential; each message's handler runs as its own task (bounded per connection), so a slow
database write does not hold up the next message, while updates keep their order because they are queued
with the writer before the handler's first await. A ``ping`` is answered by the reader itself (never behind
the in-flight limit), and while the database is known to be down every other message is answered
``unavailable`` at once, without taking a slot.

Access (PROTOCOL.md 9.1): the guard has authenticated the socket and checked its project; the connection carries
the ``Principal``. A message of ``EDITOR_ONLY`` from a token that may not edit is ``forbidden`` before anything
else about it is looked at. ``auth.refresh`` is answered by the reader too (it needs no database). Log lines of
the connection carry ``conn`` and the token's ``sub`` (never the token).
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pymongo.errors import PyMongoError
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.auth import Verifier, principal_in, user_of
from app.db import DatabaseHealth, db_unavailable, iso, utcnow
from app.errors import AppError
from app.realtime.connection import WsConnection
from app.realtime.handlers import (
    EDITOR_ONLY,
    EDITOR_ONLY_TYPES,
    HANDLERS,
    INLINE_HANDLERS,
    QUEUED_HANDLERS,
    Context,
    run_handler,
    send_error,
)
from app.realtime.ratelimit import TokenBucket
from app.runtime import Runtime, runtime_of
from protocol import ConnectionReady, PresenceEntry, ProtocolError, codes, loads, parse_client_message
from protocol.codes import PROTOCOL_VERSION
from protocol.fields import PROJECT_RE

MAX_IN_FLIGHT = 64  # handlers running at once per connection; the reader waits beyond that
FEATURES = ("jobs", "presence", "history")  # what connection.ready says this server supports beyond 1.0


def _field(text: str | None, name: str) -> str | None:
    """A string field (``id``, ``type``) of a frame we will not process (rate limited, invalid), if cheap to find."""
    if text is None:
        return None
    try:
        data = loads(text)
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) and 1 <= len(value) <= 64 else None


async def _take_slot(slots: asyncio.Semaphore, health: DatabaseHealth) -> bool:
    """Take a handler slot (True), or give up as soon as the database is known to be down (False)."""
    if not slots.locked():
        await slots.acquire()
        return True
    acquire = asyncio.ensure_future(slots.acquire())
    down = asyncio.ensure_future(health.wait_down())
    try:
        await asyncio.wait((acquire, down), return_when=asyncio.FIRST_COMPLETED)
    finally:
        down.cancel()
        acquire.cancel()  # no effect when it has the slot already; otherwise the semaphore passes it on
    await asyncio.wait((acquire,))
    got = acquire.done() and not acquire.cancelled()
    if got and not health.up:
        slots.release()
        return False
    return got


async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    settings = runtime.settings
    project = websocket.query_params.get("project") or "default"
    await websocket.accept()
    if runtime.shutting_down:
        await websocket.close(codes.WS_GOING_AWAY, "server shutting down")
        return
    if not PROJECT_RE.match(project):
        await websocket.close(codes.WS_POLICY_VIOLATION, "invalid project name")
        return
    conn = WsConnection(websocket, project, principal=principal_in(websocket.scope))
    verifier: Verifier = getattr(websocket.app.state, "verifier", None) or Verifier.from_settings(settings)
    if not runtime.hub.add(conn):
        logger.warning("connection refused: {} connections open (MAX_CONNECTIONS)", runtime.hub.count)
        await websocket.close(codes.WS_TRY_AGAIN_LATER, "too many connections")
        return
    runtime.metrics.connections.inc()
    close_code = codes.WS_NORMAL_CLOSURE
    # Log lines of this connection, and of the handler tasks and the expiry timer it starts (they copy the
    # context), name it and the token's sub; a refresh with another sub takes over from the next frame on.
    with logger.contextualize(conn=conn.id, sub=conn.principal.sub):
        try:
            conn.start()
            logger.info("ws open {} project={} ({} open)", conn.id, project, runtime.hub.count)
            ready = ConnectionReady(
                connection_id=conn.id,
                project=project,
                protocol=PROTOCOL_VERSION,
                server_time=iso(utcnow()) or "",
                features=list(FEATURES),
                presence=await _join(runtime, conn),
            )
            conn.open_with(ready.model_dump_json(exclude={"reply_to"}))  # the first frame, whatever came meanwhile
            del ready  # it holds one PresenceEntry per other seat: ~120 KiB per idle connection at 1,000 if kept
            reader = _Reader(runtime, conn, verifier)
            close_code = await _read(websocket, reader, conn)
        except WebSocketDisconnect as exc:
            close_code = exc.code
        finally:
            runtime.hub.remove(conn)
            if runtime.presence is not None:
                try:
                    await runtime.presence.leave(conn.id)  # the others hear presence.left
                except Exception:  # the close goes on; another process's sweep removes a seat left behind
                    logger.exception("presence of {} not released", conn.id)
            runtime.metrics.connections.dec()
            await conn.stop()
            with logger.contextualize(sub=conn.principal.sub):
                logger.info("ws close {} code={} ({} open)", conn.id, close_code, runtime.hub.count)


async def _join(runtime: Runtime, conn: WsConnection) -> list[PresenceEntry]:
    """Seat the connection in its project's presence; the others already there (PROTOCOL.md 10.1)."""
    if runtime.presence is None:
        return []
    try:
        return await runtime.presence.join(conn.project, conn.id, user=user_of(conn.principal))
    except PyMongoError as exc:  # presence is a courtesy: the connection works without it
        logger.warning("presence unavailable for {}: {}", conn.id, type(exc).__name__)
        return []


async def _read(websocket: WebSocket, reader: _Reader, conn: WsConnection) -> int:
    """Read frames until the connection ends; its close code. The log context (set once per connection: per frame
    it showed in the profile of the updates benchmark) is entered again only when a refresh changed the sub."""
    while True:
        sub = conn.principal.sub
        with logger.contextualize(sub=sub):
            while conn.principal.sub == sub:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    code: int = frame.get("code", codes.WS_NORMAL_CLOSURE)
                    return code
                closing = await reader.on_frame(frame)
                if closing is not None:
                    return closing


class _Reader:
    """What the reader does with one frame: limits, parse, access, then answer it or spawn its handler."""

    def __init__(self, runtime: Runtime, conn: WsConnection, verifier: Verifier) -> None:
        self.runtime = runtime
        self.conn = conn
        self.verifier = verifier
        self.bucket = TokenBucket(runtime.settings.ws_rate, runtime.settings.ws_burst)
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def _refuse(self, ctx: Context, error: AppError) -> None:
        send_error(ctx, error)
        self.runtime.metrics.errors.labels(code=error.code).inc()

    async def on_frame(self, frame: Message) -> int | None:
        """Handle one received frame; a close code when the connection must end."""
        runtime, conn = self.runtime, self.conn
        text: str | None = frame.get("text")
        data: bytes | None = frame.get("bytes")
        size = len(data) if text is None and data is not None else len(text.encode()) if text else 0
        if size > runtime.settings.max_message_bytes:
            await conn.close(codes.WS_MESSAGE_TOO_BIG, "message too big")
            return codes.WS_MESSAGE_TOO_BIG
        ctx = Context(runtime, conn, None)
        if not self.bucket.take():
            ctx.message_id = _field(text, "id")
            self._refuse(ctx, AppError(codes.RATE_LIMITED, "too many messages; this one was dropped"))
            return None
        try:
            msg = parse_client_message(text if text is not None else (data or b""))
        except ProtocolError as exc:
            ctx.message_id = exc.reply_to
            if not conn.principal.can_edit and _field(text, "type") in EDITOR_ONLY_TYPES:  # forbidden comes first
                self._refuse(ctx, AppError(codes.FORBIDDEN, f"role {conn.principal.role} may not send this"))
                return None
            send_error(ctx, exc)
            runtime.metrics.errors.labels(code=exc.code).inc()
            return None
        ctx.message_id = msg.id
        runtime.metrics.count_message(msg.type)
        if type(msg) in EDITOR_ONLY and not conn.principal.can_edit:  # before anything else about the message
            self._refuse(ctx, AppError(codes.FORBIDDEN, f"role {conn.principal.role} may not send {msg.type}"))
            return None
        if runtime.shutting_down:
            send_error(ctx, AppError(codes.UNAVAILABLE, "the server is shutting down; nothing was changed"))
            return None
        inline = INLINE_HANDLERS.get(type(msg))
        if inline is not None:  # ping, auth.refresh: answered here, never behind a slot or the database
            try:
                inline(ctx, msg, self.verifier)
            except AppError as exc:
                self._refuse(ctx, exc)
            return None
        queued = QUEUED_HANDLERS.get(type(msg))
        handler = HANDLERS.get(type(msg))
        if handler is None and queued is None:
            send_error(ctx, AppError(codes.UNAVAILABLE, f"{msg.type} is not available on this server"))
            return None
        # Every other message needs the database: while it is down, refuse at once, also when waiting for a slot
        # (the handlers holding them wait for the database too).
        if not runtime.db_health.up or not await _take_slot(self.slots, runtime.db_health):
            self._refuse(ctx, db_unavailable())
            return None
        if queued is not None:  # workspace.update: no task of its own
            queued(ctx, msg, self.slots.release)
            return None
        assert handler is not None
        task = runtime.spawn(run_handler(ctx, handler, msg), name=f"{conn.id}:{msg.type}")
        task.add_done_callback(lambda _t: self.slots.release())
        return None
