"""Connections whose request headers never finish are closed (slowloris); finished requests and WebSockets are not."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from app.serving import HEADER_TIMEOUT_S
from tests.conftest import make_settings
from tests.support import LiveServer

TIMEOUT_S = 0.5


async def _server(db_uri: str, tmp_path: Path) -> LiveServer:
    server = LiveServer(make_settings(tmp_path / "data", db_uri))
    server.header_timeout_s = TIMEOUT_S
    await server.start()
    return server


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closed the connection (EOF), reading and discarding what it sends."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), limit):
        pass
    return time.monotonic() - started


async def test_half_sent_headers_and_silent_connections_are_closed(db_uri: str, tmp_path: Path) -> None:
    """A connection that sends part of its headers and then a header line now and then, and one that sends nothing,
    are both closed after the header timeout; uvicorn alone keeps them open for as long as the client likes."""
    assert HEADER_TIMEOUT_S <= 30
    server = await _server(db_uri, tmp_path)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()

        async def drip() -> None:
            for _ in range(40):  # a header line every 0.1 s: well past the timeout if nobody stops it
                await asyncio.sleep(0.1)
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()

        dripping = asyncio.create_task(drip())
        elapsed = await _closed_after(reader, 5)
        dripping.cancel()
        assert TIMEOUT_S * 0.8 <= elapsed < TIMEOUT_S + 2
        silent_reader, silent = await asyncio.open_connection("127.0.0.1", server.port)
        assert await _closed_after(silent_reader, 5) < TIMEOUT_S + 2
        writer.close()
        silent.close()
    finally:
        await server.stop()


async def test_complete_requests_and_websockets_outlive_the_header_timeout(db_uri: str, tmp_path: Path) -> None:
    """The timer stops once the headers are in: a WebSocket stays usable well past it, and a keep-alive connection
    serves a second request after the first."""
    server = await _server(db_uri, tmp_path)
    try:
        client = await server.connect()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b"}"), 5)
        assert first.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(TIMEOUT_S * 2)  # the point of the test: time passes with the headers long complete
        reply = await client.request({"type": "ping"})
        assert reply["type"] == "pong"
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        second = await asyncio.wait_for(reader.readuntil(b"}"), 5)
        assert second.startswith(b"HTTP/1.1 200")
        writer.close()
    finally:
        await server.stop()


async def test_python_m_app_closes_slow_headers(tmp_path: Path) -> None:
    """The server as started by ``python -m app`` uses the same protocol (HTTP_HEADER_TIMEOUT_S)."""
    from tests.support import ServerProcess

    proc = ServerProcess(tmp_path / "data", env={"HTTP_HEADER_TIMEOUT_S": str(TIMEOUT_S)})
    await proc.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proc.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    assert await _closed_after(reader, 10) < TIMEOUT_S + 3
    writer.close()
    assert await proc.terminate() == 0
