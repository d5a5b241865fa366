"""One WebSocket connection: a send queue drained by its own task (the only module, with the endpoint, that
touches Starlette's ``WebSocket``).

The queue is bounded twice: by count and by bytes. A count alone let one tab that never read hold thousands of
~65 KB updates (hundreds of MB); the byte bound closes such a reader with 1013 once ``max_queue_bytes`` of text
wait for it, whatever the size of each message.

A connection carries the ``Principal`` of its token (PROTOCOL.md 9.1). A token that expires arms one timer for
this connection (re-armed by ``set_principal`` on ``auth.refresh``): at ``exp`` the connection is closed with
1008. No loop visits every connection."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time

from loguru import logger
from starlette.websockets import WebSocket, WebSocketState

from app.auth import ANONYMOUS, Principal
from protocol import codes

_CLOSE = object()
MAX_QUEUE_BYTES = 8 * 1024 * 1024  # text waiting for one slow reader before it is closed with 1013


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
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
        self._max_bytes = max_queue_bytes
        self.queued_bytes = 0  # characters of the texts in the queue (a bound, not an exact byte count)
        self._sender: asyncio.Task[None] | None = None
        self._close_code: int | None = None
        self.closed = asyncio.Event()
        # Until ``open_with`` sends connection.ready, events for this connection wait here: it must be the first
        # frame, and building it may wait for the database (the project's presence).
        self._held: list[str] | None = []

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_loop(), name=f"ws-send:{self.id}")
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
            if len(self._held) > self._queue.maxsize:
                self._held = None
                self._too_slow()
            return
        if self.queued_bytes + len(text) > self._max_bytes and self.queued_bytes:
            self._too_slow()
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._too_slow()
            return
        self.queued_bytes += len(text)

    def _too_slow(self) -> None:
        logger.warning("connection {} is too slow to read its messages; closing it", self.id)
        self._request_close(codes.WS_TRY_AGAIN_LATER, "client too slow", drop_queue=True)

    def _request_close(self, code: int, reason: str, *, drop_queue: bool = False) -> None:
        if self._close_code is not None:
            return
        self._close_code = code
        if drop_queue:
            while not self._queue.empty():
                self._queue.get_nowait()
            self.queued_bytes = 0
        if self._queue.full():
            self._queue.get_nowait()  # make room for the close: it matters more than one late frame
        self._queue.put_nowait((_CLOSE, code, reason))

    async def close(self, code: int, reason: str = "", *, timeout: float = 5.0) -> None:
        """Send what is queued, then close with ``code``."""
        self._request_close(code, reason)
        if self._sender is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), timeout)

    async def _send_loop(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple) and item and item[0] is _CLOSE:
                    _, code, reason = item
                    if self.websocket.application_state == WebSocketState.CONNECTED:
                        with contextlib.suppress(Exception):
                            await self.websocket.close(code, reason)
                    return
                assert isinstance(item, str)
                self.queued_bytes -= len(item)
                await self.websocket.send_text(item)
        except Exception:  # the peer went away: nothing more to send
            return
        finally:
            self._close_code = self._close_code or codes.WS_NORMAL_CLOSURE
            self.closed.set()

    async def stop(self) -> None:
        """The reader ended (peer closed): stop the sender after it sent what it could."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._sender is not None and not self._sender.done():
            self._request_close(codes.WS_NORMAL_CLOSURE, "")
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._sender), 2.0)
            self._sender.cancel()
