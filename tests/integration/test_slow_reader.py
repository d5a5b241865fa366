"""A tab that never reads is closed once its send queue holds MAX_QUEUE_BYTES, not after thousands of messages."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from app.realtime.connection import MAX_QUEUE_BYTES
from tests.conftest import ServerFactory

KEYS, CHARS = 15, 3_900  # form_data near its 64 KiB limit (values at most 4000): one update event is ~60 KB


async def test_a_reader_that_never_reads_is_closed_by_bytes_queued(start_server: ServerFactory) -> None:
    """Big updates from a busy tab reach a stalled tab; once ~8 MiB wait for it, it is closed with 1013, long before
    the count bound (4096 messages) would have closed it: the server holds megabytes for it, not hundreds of them."""
    server = await start_server(ws_rate=100_000, ws_burst=100_000)
    writer = await server.connect("slow")
    stalled = await server.connect("slow", max_queue=1)  # websockets stops reading its socket when this fills
    workspace = await writer.create(title="big")
    stalled_conn = server.runtime.hub._by_project["slow"][stalled.ready["connection_id"]]
    peak = 0
    sent = 0
    # ~36 MB of events: far more than the loopback socket buffers can absorb, far fewer than 4096 messages
    for i in range(600):
        reply = await writer.request(
            {
                "type": "workspace.update",
                "workspace_id": workspace["id"],
                "updates": {"form_data": {f"k{k}": f"{i:06d}" + "x" * CHARS for k in range(KEYS)}},
            }
        )
        assert reply["type"] == "workspace.sync_confirm", reply
        sent += 1
        peak = max(peak, stalled_conn.queued_bytes)
        if stalled_conn._close_code is not None:
            break
    assert stalled_conn._close_code == 1013, f"still open after {sent} updates (queue {stalled_conn.queued_bytes} B)"
    assert peak <= MAX_QUEUE_BYTES
    received = 0
    try:
        while True:
            await asyncio.wait_for(stalled.ws.recv(), 10)
            received += 1
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == 1013
    assert received < sent
