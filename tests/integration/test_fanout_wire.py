"""Fan-out on both paths of ``app.realtime.connection``: frames written straight to the socket (``app.realtime.wire``,
permessage-deflate off: the default) and through ``WebSocket.send_text`` (compression on). Either way each listener
gets every event once and in order, a listener that stops reading does not hold the others up, keeps its order
while its backlog drains, and is closed with 1013 once ``MAX_QUEUE_BYTES`` wait for it."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from app.realtime.connection import MAX_QUEUE_BYTES, WsConnection
from tests.conftest import ServerFactory
from tests.support import LiveServer, WsClient

KEYS, CHARS = 10, 3_900  # ~40 KB per update event (form_data values are at most 4000 characters)


def _conn(server: LiveServer, project: str, client: WsClient) -> WsConnection:
    conn: WsConnection = server.runtime.hub._by_project[project][client.ready["connection_id"]]
    return conn


async def _stalled(server: LiveServer, project: str, **kwargs: Any) -> WsClient:
    """A client that reads nothing until asked (websockets stops reading at one queued frame) on a socket with a
    small receive buffer, so the server's transport fills after tens of KB rather than the kernel's megabytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    return await server.connect(project, sock=sock, max_queue=1, **kwargs)


def _big(i: int) -> dict[str, Any]:
    """~40 KB of random text: permessage-deflate cannot shrink it into the socket buffers."""
    return {f"k{k}": f"{i:06d}" + secrets.token_hex(CHARS // 2) for k in range(KEYS)}


async def _updated(client: WsClient, timeout: float = 10.0) -> dict[str, Any]:
    return await client.expect_type("workspace.updated", timeout)


@pytest.mark.parametrize("compression", [False, True])
async def test_every_listener_gets_every_event_in_order(start_server: ServerFactory, compression: bool) -> None:
    server = await start_server(ws_compression=compression, ws_rate=100_000, ws_burst=100_000)
    writer = await server.connect("fan")
    listeners = [await server.connect("fan") for _ in range(5)]
    conns = [_conn(server, "fan", listener) for listener in listeners]
    # The path each connection took: compression on means a zlib context per socket, so no shared frame.
    assert all((conn._wire is None) == compression for conn in conns)
    assert all(bool(listener.ws.protocol.extensions) == compression for listener in listeners)
    workspace = await writer.create(title="fan")
    for i in range(30):
        reply = await writer.request(
            {"type": "workspace.update", "workspace_id": workspace["id"], "updates": {"form_data": {"i": i}}}
        )
        assert reply["type"] == "workspace.sync_confirm", reply
    for listener in listeners:
        got = [(await _updated(listener))["changes"]["form_data"]["i"] for _ in range(30)]
        assert got == list(range(30))
        assert [m for m in await listener.nothing_more() if m["type"] == "workspace.updated"] == []  # once each
    # Straight to the socket: no frame ever waited, so no send task was made; the plain path has one.
    assert all((conn._sender is None) == (not compression) for conn in conns)


@pytest.mark.parametrize("compression", [False, True])
async def test_a_listener_that_stops_reading_keeps_its_order_and_holds_nobody_up(
    start_server: ServerFactory, compression: bool
) -> None:
    server = await start_server(ws_compression=compression, ws_rate=100_000, ws_burst=100_000)
    writer = await server.connect("lag")
    stalled = await _stalled(server, "lag")
    reader = await server.connect("lag")
    stalled_conn, reader_conn = _conn(server, "lag", stalled), _conn(server, "lag", reader)
    workspace = await writer.create(title="lag")
    sent = 0

    async def update() -> None:
        nonlocal sent
        reply = await writer.request(
            {"type": "workspace.update", "workspace_id": workspace["id"], "updates": {"form_data": _big(sent)}}
        )
        assert reply["type"] == "workspace.sync_confirm", reply
        assert (await _updated(reader))["changes"]["form_data"]["k0"][:6] == f"{sent:06d}"  # the others go on
        sent += 1

    while len(stalled_conn._backlog or ()) < 3:  # until frames wait for the stalled one (its transport paused)
        assert sent < 500, "the stalled listener's transport never filled"
        await update()
    for _ in range(5):  # and a few more behind them
        await update()
    assert stalled_conn._backlog and stalled_conn.queued_bytes < MAX_QUEUE_BYTES
    assert not reader_conn._backlog
    total = sent + 20
    got: list[int] = []
    while len(got) < total:  # it reads again while events keep coming: the backlog drains as new ones join
        got.append(int((await _updated(stalled))["changes"]["form_data"]["k0"][:6]))
        if sent < total:
            await update()
    assert got == list(range(total))  # nothing lost, nothing out of order across straight writes and the backlog
    assert stalled_conn._close_code is None and not stalled_conn._backlog


@pytest.mark.parametrize("compression", [False, True])
async def test_a_listener_that_never_reads_is_closed_with_1013(start_server: ServerFactory, compression: bool) -> None:
    server = await start_server(ws_compression=compression, ws_rate=100_000, ws_burst=100_000)
    writer = await server.connect("never")
    stalled = await _stalled(server, "never")
    stalled_conn = _conn(server, "never", stalled)
    assert (stalled_conn._wire is None) == compression
    workspace = await writer.create(title="never")
    sent, peak = 0, 0
    while stalled_conn._close_code is None:
        assert sent < 1000, f"still open after {sent} updates (backlog {stalled_conn.queued_bytes} characters)"
        reply = await writer.request(
            {"type": "workspace.update", "workspace_id": workspace["id"], "updates": {"form_data": _big(sent)}}
        )
        assert reply["type"] == "workspace.sync_confirm", reply
        sent += 1
        peak = max(peak, stalled_conn.queued_bytes)
    assert stalled_conn._close_code == 1013
    assert MAX_QUEUE_BYTES - 50_000 <= peak <= MAX_QUEUE_BYTES  # closed at the byte bound, not before or after
    received = 0
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(stalled.ws.recv(), 10)
            received += 1
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    assert received < sent  # what waited was dropped for the close


@pytest.mark.parametrize("waiting", [1, 3])
async def test_an_event_as_the_socket_drains_goes_behind_what_waits(start_server: ServerFactory, waiting: int) -> None:
    """The moment the transport resumes, before the send task has run: an event published then (the hub may run
    in that very loop step) must not overtake the frame the task holds, nor those still in the backlog."""
    server = await start_server()
    stalled = await _stalled(server, "drain")
    conn = _conn(server, "drain", stalled)
    assert conn._wire is not None
    hub = server.runtime.hub
    n = 0

    def publish() -> None:
        nonlocal n
        hub.publish_text("drain", json.dumps({"type": "test.frame", "n": n, "pad": secrets.token_hex(20_000)}))
        n += 1

    while len(conn._backlog or ()) < waiting:  # no await: the client cannot read meanwhile
        assert n < 500, "the transport never paused"
        publish()
    while not conn._sending:  # the send task takes the first waiting frame and waits for the transport
        await asyncio.sleep(0)
    assert len(conn._backlog or ()) == waiting - 1
    protocol = conn._wire._protocol
    resume = protocol.resume_writing
    resumed = 0

    def resume_and_publish() -> None:
        nonlocal resumed
        resume()
        resumed += 1
        publish()

    protocol.resume_writing = resume_and_publish
    got = [json.loads(await stalled.ws.recv())["n"] for _ in range(n)]  # n grows as the transport resumes
    while len(got) < n:
        got.append(json.loads(await stalled.ws.recv())["n"])
    assert resumed >= 1
    assert got == list(range(n))
