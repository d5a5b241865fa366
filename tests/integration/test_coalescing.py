"""The coalescing writer against the real database: fewer writes than updates, every update confirmed."""

from __future__ import annotations

import asyncio
import base64
import os

from tests.support import LiveServer


async def _burst(server: LiveServer, project: str, n: int) -> tuple[list[int], dict]:
    c = await server.connect(project)
    ws = await c.create()
    for i in range(n):
        await c.send(
            {
                "type": "workspace.update",
                "id": f"u{i}",
                "workspace_id": ws["id"],
                "updates": {"form_data": {"prompt": f"p{i}", f"k{i % 8}": i}},
            }
        )
    confirms: dict[str, int] = {}
    while len(confirms) < n:
        m = await c.expect_type("workspace.sync_confirm", timeout=20)
        confirms[m["reply_to"]] = m["version"]
    final = (await c.request({"type": "workspace.list"}))["workspaces"][0]
    return [confirms[f"u{i}"] for i in range(n)], final


async def test_burst_is_coalesced(server: LiveServer) -> None:
    """200 updates sent back to back: each confirmed, versions never go down, far fewer writes than updates,
    and the stored form equals applying every update in order."""
    writer = server.runtime.workspaces.writer
    flushes_before = writer.flushes
    versions, final = await _burst(server, "burst", 200)
    writes = writer.flushes - flushes_before
    assert versions == sorted(versions)
    assert writes < 200, writes
    assert final["form_data"]["prompt"] == "p199"
    assert {final["form_data"][f"k{j}"] for j in range(8)} == {192 + j for j in range(8)}
    assert final["version"] == versions[-1] == 1 + writes


async def test_debounce_merges_a_quiet_burst(start_server) -> None:
    """With SYNC_DEBOUNCE_MS, a handful of updates sent within the window share one write."""
    server = await start_server(sync_debounce_ms=200, sync_max_wait_ms=1000)
    writer = server.runtime.workspaces.writer
    c = await server.connect("debounce")
    ws = await c.create()
    before = writer.flushes
    for i in range(5):
        await c.send(
            {"type": "workspace.update", "id": f"d{i}", "workspace_id": ws["id"], "updates": {"title": f"{i}"}}
        )
    versions = [(await c.expect(lambda m, i=i: m.get("reply_to") == f"d{i}"))["version"] for i in range(5)]
    assert writer.flushes - before == 1 and len(set(versions)) == 1


async def test_two_tabs_editing_one_workspace_converge(server: LiveServer) -> None:
    """Two connections racing on one workspace: each sees the other's changes; both end on the stored state."""
    a, b = await server.connect("tabs"), await server.connect("tabs")
    ws = await a.create()
    await b.expect_type("workspace.created")

    async def edit(c, tag):
        for i in range(30):
            await c.send(
                {
                    "type": "workspace.update",
                    "id": f"{tag}{i}",
                    "workspace_id": ws["id"],
                    "updates": {"form_data": {tag: i, "shared": f"{tag}{i}"}},
                }
            )

    await asyncio.gather(edit(a, "a"), edit(b, "b"))
    for c, tag in ((a, "a"), (b, "b")):
        for i in range(30):
            await c.expect(lambda m, i=i, tag=tag: m.get("reply_to") == f"{tag}{i}", timeout=20)
    final = (await a.request({"type": "workspace.list"}))["workspaces"][0]["form_data"]
    assert final["a"] == 29 and final["b"] == 29
    # a's view of b: the last b value it was told about is b's last write
    got = [m for m in a.buffer + await a.nothing_more(0.5) if m.get("type") == "workspace.updated"]
    assert any(m["changes"].get("form_data", {}).get("b") == 29 for m in got)


async def test_dead_peer_is_closed_by_protocol_pings(start_server) -> None:
    """A peer that never answers WebSocket pings is closed after WS_PING_INTERVAL_S + WS_PING_TIMEOUT_S."""
    server = await start_server(ws_ping_interval_s=0.2, ws_ping_timeout_s=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    assert b"101" in await reader.readline()
    assert server.runtime.hub.count >= 0

    # Read (and never answer) until the server gives up on us.
    async def until_eof() -> None:
        while await reader.read(4096):
            pass

    await asyncio.wait_for(until_eof(), 5)
    writer.close()
