"""``app.realtime.wire``: the frame it writes is python-websockets' own for a server, built once per text; and
``wire_of`` finds nothing under a WebSocket that is not uvicorn's websockets-sansio (the plain path then)."""

from __future__ import annotations

import pytest
from starlette.types import Message
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode

from app.realtime.wire import frame, wire_of


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_the_frame_is_what_websockets_serialises_for_a_server(size: int) -> None:
    text = ("é" + "x" * size)[:size]  # a two-byte character first: the length is in bytes, not characters
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert frame(text) == expected


def test_one_text_is_framed_once_and_another_afresh() -> None:
    first = '{"type":"workspace.updated","n":1}'
    framed = frame(first)
    assert frame(first) is framed  # the same str for every listener: the same bytes, not a copy
    second = '{"type":"workspace.updated","n":2}'
    assert frame(second) == Frame(Opcode.TEXT, second.encode()).serialize(mask=False)
    assert frame(first) == framed and frame(first) is not framed  # framed again once another came between


async def _receive() -> Message:
    return {"type": "websocket.connect"}


async def _send(message: Message) -> None:
    return None


def test_no_wire_under_another_asgi_server() -> None:
    websocket = WebSocket({"type": "websocket", "path": "/ws", "headers": []}, _receive, _send)
    assert wire_of(websocket) is None
