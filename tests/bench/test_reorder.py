"""``reorder``: moving one card in a timeline of 1000: database writes and latency (target: at most 2 writes)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from websockets.asyncio.client import connect

from tests.bench.harness import scrape, start_server, stop, table, wait_http

N = int(os.environ.get("BENCH_TIMELINE", "1000"))


async def test_reorder(tmp_path: Path) -> None:
    proc, port = start_server(tmp_path / "data")
    try:
        await wait_http(f"http://127.0.0.1:{port}/health", proc)
        # no client pings: 1000 creates are sent at once and queue up behind each other in front of the pong
        async with connect(f"ws://127.0.0.1:{port}/ws?project=long", max_size=2**24, ping_interval=None) as ws:
            json.loads(await ws.recv())
            for i in range(N):
                await ws.send(json.dumps({"type": "workspace.create", "id": f"c{i}", "workspace": {"title": str(i)}}))
            ids: dict[str, str] = {}
            while len(ids) < N:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "workspace.created":
                    ids[msg["reply_to"]] = msg["workspace"]["id"]
            await ws.send(json.dumps({"type": "workspace.list", "id": "l"}))
            while (msg := json.loads(await ws.recv())).get("reply_to") != "l":
                pass
            order = [w["id"] for w in msg["workspaces"]]
            rows = []
            for label, new in [
                ("move card 10 to position 900", order[:10] + order[11:901] + [order[10]] + order[901:]),
                ("move the last card to the front", [order[-1], *order[:-1]]),
            ]:
                before = await scrape(f"http://127.0.0.1:{port}")
                started = time.perf_counter()
                await ws.send(json.dumps({"type": "workspace.reorder", "id": "r", "order": new}))
                while (reply := json.loads(await ws.recv())).get("reply_to") != "r":
                    pass
                elapsed = (time.perf_counter() - started) * 1000
                assert reply["type"] == "workspace.reorder_confirm", reply
                after = await scrape(f"http://127.0.0.1:{port}")
                writes = after.get("workspace_server_db_reorder_writes_total", 0) - before.get(
                    "workspace_server_db_reorder_writes_total", 0
                )
                rows.append((label, f"{writes:.0f} document writes, {elapsed:.1f} ms to confirm (target <= 2 writes)"))
                order = new
    finally:
        stop(proc)
    table(f"reorder: timeline of {N} (machine: {os.cpu_count()} cores)", rows)
