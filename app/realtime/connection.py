"""One WebSocket connection: frames written straight to its socket while it keeps up, else a bounded backlog
drained by a send task (the only module, with the endpoint and ``wire``, that touches Starlette's ``WebSocket``).

``send`` writes a frame to the socket at once (``app.realtime.wire``: framed once per event, no hop through a
task) when nothing waits ahead of it and the transport is not paused. Otherwise the frame joins the backlog, in
order, and the send task writes it once the transport drains. Where ``wire`` finds nothing it can rely on
(permessage-deflate on, another ASGI server), every frame goes through the backlog and ``WebSocket.send_text``.
The backlog (a deque) and the send task are made when a first frame has to wait, so a connection that keeps up
holds neither (an ``asyncio.Queue``, its task and an ``Event`` were ~5 KB of each idle connection).

The backlog is bounded twice: by count and by bytes. A count alone let one tab that never read hold thousands
of ~65 KB updates (hundreds of MB); the byte bound closes such a reader with 1013 once ``max_queue_bytes`` of
text wait for it, whatever the size of each message. The transport's own buffer adds at most its high-water
mark and one frame: nothing is written to it while it is paused. A close is always queued, behind what waits
(``close``) or instead of it (too slow: the close matters more than late frames).

A connection carries the ``Principal`` of its token (PROTOCOL.md 9.1). A token that expires arms one timer for
this connection (re-armed by ``set_principal`` on ``auth.refresh``): at ``exp`` the connection is closed with
1008. No loop visits every connection."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import secrets
import time
from collections import deque
from typing import NamedTuple

from loguru import logger
from starlette.websockets import WebSocket, WebSocketState

from app.auth import ANONYMOUS, Principal
from app.realtime.wire import wire_of
from protocol import codes

MAX_QUEUE_BYTES = 8 * 1024 * 1024  # text waiting for one slow reader before it is closed with 1013


class _Close(NamedTuple):
    code: int
    reason: str


class WsConnection:
    def __init__(
        self,
        websocket: WebSocket,
        project: str,
        *,
        principal: Principal = ANONYMOUS,
        queue_size: int = 4096,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
    ) -> None:
        self.id = "c_" + secrets.token_hex(6)
        self.project = project
        self.principal = principal
        self._expiry: asyncio.TimerHandle | None = None
        self.websocket = websocket
        self._wire = wire_of(websocket)  # None: the plain path (WebSocket.send_text) for every frame
        self._backlog: deque[str | _Close] | None = None  # what waits for the send task, in order
        self._max_frames = queue_size
        self._max_bytes = max_queue_bytes
        self.queued_bytes = 0  # characters of the texts in the backlog (a bound, not an exact byte count)
        self._sender: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None  # the send task waits on it while the backlog is empty
        self._sending = False  # the send task holds a frame taken from the backlog and not yet written
        self._context: contextvars.Context | None = None  # the send task's (the connection's log context)
        self._close_code: int | None = None
        # Until ``open_with`` sends connection.ready, events for this connection wait here: it must be the first
        # frame, and building it may wait for the database (the project's presence).
        self._held: list[str] | None = []

    def start(self) -> None:
        self._context = contextvars.copy_context()  # the send task, when one is needed, logs as this connection
        self._arm_expiry()

    def set_principal(self, principal: Principal) -> None:
        """The token was refreshed: its sub and role apply from now on, and its expiry replaces the old one."""
        self.principal = principal
        self._arm_expiry()

    def _arm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        expires = self.principal.expires_at
        if expires is not None and self._close_code is None:
            delay = max(0.0, expires.timestamp() - time.time())
            self._expiry = asyncio.get_running_loop().call_later(delay, self._expired)

    def _expired(self) -> None:
        self._expiry = None
        logger.info("connection {} closed: its token expired", self.id)
        self._request_close(codes.WS_POLICY_VIOLATION, "token expired")

    def open_with(self, first: str) -> None:
        """Send ``first`` (connection.ready), then what was held back for it."""
        held, self._held = self._held or [], None
        for text in (first, *held):
            self.send(text)

    def send(self, text: str) -> None:
        if self._close_code is not None:
            return
        if self._held is not None:
            self._held.append(text)
            if len(self._held) > self._max_frames:
                self._held = None
                self._too_slow()
            return
        wire = self._wire
        if wire is not None and not self._backlog and not self._sending and wire.can_write():
            try:  # nothing waits ahead of it and the socket takes it: written now
                wire.write(text)
            except Exception:  # the transport is broken; the reader hears of the disconnect
                logger.opt(exception=True).debug("connection {}: a write failed", self.id)
                self._request_close(codes.WS_NORMAL_CLOSURE, "", drop_queue=True)
            return
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = deque()
        if len(backlog) >= self._max_frames or (self.queued_bytes and self.queued_bytes + len(text) > self._max_bytes):
            self._too_slow()
            return
        backlog.append(text)
        self.queued_bytes += len(text)
        self._wake()

    def _too_slow(self) -> None:
        logger.warning("connection {} is too slow to read its messages; closing it", self.id)
        self._request_close(codes.WS_TRY_AGAIN_LATER, "client too slow", drop_queue=True)

    def _request_close(self, code: int, reason: str, *, drop_queue: bool = False) -> None:
        if self._close_code is not None:
            return
        self._close_code = code
        if self._backlog is None:
            self._backlog = deque()
        if drop_queue:
            self._backlog.clear()
            self.queued_bytes = 0
        self._backlog.append(_Close(code, reason))
        self._wake()

    def _wake(self) -> None:
        """The backlog has something: start the send task, or wake it."""
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(
                self._send_loop(), name=f"ws-send:{self.id}", context=self._context
            )
        elif self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def close(self, code: int, reason: str = "", *, timeout: float = 5.0) -> None:
        """Send what is queued, then close with ``code``."""
        self._request_close(code, reason)
        if self._sender is not None:
            await asyncio.wait((self._sender,), timeout=timeout)

    async def _send_loop(self) -> None:
        wire, backlog = self._wire, self._backlog
        assert backlog is not None
        try:
            while True:
                while not backlog:
                    self._wakeup = asyncio.get_running_loop().create_future()
                    await self._wakeup
                    self._wakeup = None
                item = backlog.popleft()
                if isinstance(item, _Close):
                    if self.websocket.application_state == WebSocketState.CONNECTED:
                        with contextlib.suppress(Exception):
                            await self.websocket.close(item.code, item.reason)
                    return
                self.queued_bytes -= len(item)
                if wire is None:
                    await self.websocket.send_text(item)
                    continue
                self._sending = True
                if not wire.can_write() and not await wire.wait_writable():
                    return  # closing or gone
                wire.write(item)
                self._sending = False
        except Exception:  # the peer went away: nothing more to send
            return
        finally:
            self._close_code = self._close_code or codes.WS_NORMAL_CLOSURE
            self._backlog, self.queued_bytes = None, 0

    async def stop(self) -> None:
        """The reader ended (peer closed): stop the sender after it sent what it could."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        sender = self._sender
        if sender is None:  # nothing ever waited: nothing to send
            self._close_code = self._close_code or codes.WS_NORMAL_CLOSURE
            return
        if not sender.done():
            self._request_close(codes.WS_NORMAL_CLOSURE, "")
            await asyncio.wait((sender,), timeout=2.0)
            sender.cancel()
