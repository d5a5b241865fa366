"""The ``/ws`` endpoint: accept, register with the hub, read frames, dispatch each to its handler.

Reading is sequential; each message's handler runs as its own task (bounded per connection), so a slow
database write does not hold up the next message, while updates keep their order because they are queued
with the writer before the handler's first await. A ``ping`` is answered by the reader itself (never behind
the in-flight limit), and while the database is known to be down every other message is answered
``unavailable`` at once, without taking a slot.
"""

from __future__ import annotations

import asyncio

from loguru import logger
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.db import DatabaseHealth, db_unavailable, iso, utcnow
from app.errors import AppError
from app.realtime.connection import WsConnection
from app.realtime.handlers import HANDLERS, Context, handle_ping, run_handler, send_error
from app.realtime.ratelimit import TokenBucket
from app.runtime import runtime_of
from protocol import ConnectionReady, Ping, ProtocolError, codes, loads, parse_client_message
from protocol.codes import PROTOCOL_VERSION
from protocol.fields import PROJECT_RE

MAX_IN_FLIGHT = 64  # handlers running at once per connection; the reader waits beyond that


def _reply_id(text: str | None) -> str | None:
    """The ``id`` of a frame we will not process (rate limited), if it is cheap to find."""
    if text is None:
        return None
    try:
        data = loads(text)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
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
    conn = WsConnection(websocket, project)
    if not runtime.hub.add(conn):
        logger.warning("connection refused: {} connections open (MAX_CONNECTIONS)", runtime.hub.count)
        await websocket.close(codes.WS_TRY_AGAIN_LATER, "too many connections")
        return
    runtime.metrics.connections.inc()
    conn.start()
    logger.info("ws open {} project={} ({} open)", conn.id, project, runtime.hub.count)
    ready = ConnectionReady(
        connection_id=conn.id, project=project, protocol=PROTOCOL_VERSION, server_time=iso(utcnow()) or ""
    )
    conn.send(ready.model_dump_json(exclude={"reply_to"}))
    bucket = TokenBucket(settings.ws_rate, settings.ws_burst)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    close_code = codes.WS_NORMAL_CLOSURE
    # Log lines of this connection, and of the handler tasks it spawns (they copy the context), name it.
    with logger.contextualize(conn=conn.id):
        try:
            while True:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    close_code = frame.get("code", codes.WS_NORMAL_CLOSURE)
                    break
                text: str | None = frame.get("text")
                data: bytes | None = frame.get("bytes")
                size = len(data) if text is None and data is not None else len(text.encode()) if text else 0
                if size > settings.max_message_bytes:
                    close_code = codes.WS_MESSAGE_TOO_BIG
                    await conn.close(codes.WS_MESSAGE_TOO_BIG, "message too big")
                    break
                ctx = Context(runtime, conn, None)
                if not bucket.take():
                    ctx.message_id = _reply_id(text)
                    send_error(ctx, AppError(codes.RATE_LIMITED, "too many messages; this one was dropped"))
                    runtime.metrics.errors.labels(code=codes.RATE_LIMITED).inc()
                    continue
                try:
                    msg = parse_client_message(text if text is not None else (data or b""))
                except ProtocolError as exc:
                    ctx.message_id = exc.reply_to
                    send_error(ctx, exc)
                    runtime.metrics.errors.labels(code=exc.code).inc()
                    continue
                ctx.message_id = msg.id
                runtime.metrics.count_message(msg.type)
                if runtime.shutting_down:
                    send_error(ctx, AppError(codes.UNAVAILABLE, "the server is shutting down; nothing was changed"))
                    continue
                if isinstance(msg, Ping):  # needs nothing but this socket
                    await handle_ping(ctx, msg)
                    continue
                handler = HANDLERS.get(type(msg))
                if handler is None:
                    send_error(ctx, AppError(codes.UNAVAILABLE, f"{msg.type} is not available on this server"))
                    continue
                # Every other message needs the database: while it is down, refuse at once, also when waiting
                # for a slot (the handlers holding them wait for the database too).
                if not runtime.db_health.up or not await _take_slot(slots, runtime.db_health):
                    send_error(ctx, db_unavailable())
                    runtime.metrics.errors.labels(code=codes.UNAVAILABLE).inc()
                    continue
                task = runtime.spawn(run_handler(ctx, handler, msg), name=f"{conn.id}:{msg.type}")
                task.add_done_callback(lambda _t: slots.release())
        except WebSocketDisconnect as exc:
            close_code = exc.code
        finally:
            runtime.hub.remove(conn)
            runtime.metrics.connections.dec()
            await conn.stop()
            logger.info("ws close {} code={} ({} open)", conn.id, close_code, runtime.hub.count)
