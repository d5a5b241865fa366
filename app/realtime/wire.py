"""A connection's socket under Starlette's ``WebSocket``: text frames framed once per event, written straight to it.

Through Starlette, each delivery of one event to one listener went: ``WebSocket.send_text`` (its state checks),
two ``sender`` wrappers of Starlette's exception handling, uvicorn's ``send`` (an await on ``writable``),
python-websockets' ``Protocol.send_text`` (a ``Frame``, its checks, a ``BytesIO``), a ``b"".join`` and the
transport's ``write``, all after a hop through the connection's send task. Here it is ``transport.write`` of bytes
framed once for every listener (``frame``), called by ``WsConnection.send`` when nothing waits ahead of the frame
and the transport is not paused; the send task only drains a backlog.

What this relies on, checked by ``wire_of`` once per connection (when any of it is not there, ``wire_of`` returns
None and the connection sends through ``WebSocket.send_text`` as before):

- Starlette (1.10) keeps the ASGI ``receive`` callable as ``WebSocket._receive``. Neither our middleware nor
  Starlette's wrap ``receive`` (they wrap ``send``), so it is the bound method ``receive`` of uvicorn's protocol.
- That protocol is uvicorn's ``WebSocketsSansIOProtocol`` (``ws="websockets-sansio"``, named in app/serving.py;
  read against uvicorn 0.54) with ``transport``, ``writable`` (an ``asyncio.Event`` that ``pause_writing``
  clears), ``close_sent``, ``disconnected`` and ``conn``: python-websockets' ``ServerProtocol`` (17.x) with
  ``state``, ``extensions`` and ``expect_continuation_frame``.
- No extension was negotiated: permessage-deflate is off (``WS_COMPRESSION=false``, the default). Then a text
  frame is the same bytes for every connection. With compression on each socket has its own zlib context, and
  the plain path is used.

The bytes are what ``Protocol.send_text`` makes for a server (FIN, opcode text, no RSV bits, unmasked; checked
by tests/unit/test_wire.py). uvicorn writes its pings, pongs and close frames to the same transport, a whole
frame per write, so they fall between our frames, never inside one. Nothing is written once uvicorn has sent a
close, seen the peer's, or lost the transport.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from starlette.websockets import WebSocket

try:  # another uvicorn may name or place it otherwise: then there is no wire, and nothing else changes
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State
except ImportError:  # pragma: no cover - not with the pinned versions
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]
    State = None  # type: ignore[assignment,misc]

_FIN_TEXT = 0x81


class _LastFrame:
    """The frame of the last text framed. The hub hands the same ``str`` to every listener of an event, so the
    identity check makes it one ``encode`` and one header per event (the ``str`` is held, its id cannot be
    reused while it is the last)."""

    __slots__ = ("data", "text")

    def __init__(self) -> None:
        self.text = ""
        self.data = bytes((_FIN_TEXT, 0))

    def of(self, text: str) -> bytes:
        if text is self.text:
            return self.data
        payload = text.encode()
        n = len(payload)
        if n < 126:
            head = bytes((_FIN_TEXT, n))
        elif n < 65536:
            head = struct.pack("!BBH", _FIN_TEXT, 126, n)
        else:
            head = struct.pack("!BBQ", _FIN_TEXT, 127, n)
        self.text, self.data = text, head + payload
        return self.data


_last = _LastFrame()


def frame(text: str) -> bytes:
    """``text`` as one unmasked WebSocket text frame (a server's), reusing the bytes when it is the last text."""
    return _last.of(text)


class Wire:
    """The transport of one uvicorn WebSocket connection, for whole text frames."""

    __slots__ = ("_conn", "_protocol", "_transport", "_writable")

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._writable = protocol.writable
        self._conn = protocol.conn

    def is_open(self) -> bool:
        """Neither side has started closing, and the transport is there."""
        p = self._protocol
        return (
            not p.close_sent
            and not p.disconnected
            and self._conn.state is State.OPEN
            and not self._conn.expect_continuation_frame
            and not self._transport.is_closing()
        )

    def can_write(self) -> bool:
        """Open, and the transport is not paused (its buffer is under the high-water mark)."""
        return self._writable.is_set() and self.is_open()

    def write(self, text: str) -> None:
        self._transport.write(frame(text))

    async def wait_writable(self) -> bool:
        """Wait until the transport takes writes again; False when the connection closed meanwhile."""
        await self._writable.wait()
        return self.is_open()


def wire_of(websocket: WebSocket) -> Wire | None:
    """The wire under an accepted ``websocket``; None when what this module relies on is not there."""
    protocol: Any = getattr(getattr(websocket, "_receive", None), "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    conn = getattr(protocol, "conn", None)
    transport = getattr(protocol, "transport", None)  # uvloop's transports are not asyncio.Transport subclasses
    if (
        not callable(getattr(transport, "write", None))
        or not callable(getattr(transport, "is_closing", None))
        or not isinstance(getattr(protocol, "writable", None), asyncio.Event)
        or not hasattr(protocol, "close_sent")
        or not hasattr(protocol, "disconnected")
        or not isinstance(getattr(conn, "state", None), State)
        or getattr(conn, "extensions", None) != []
        or not hasattr(conn, "expect_continuation_frame")
    ):
        return None
    return Wire(protocol)
