"""``fanout``: one writer, N listeners on one timeline: delivery latency of ``workspace.updated`` to all of them.

Baseline in the same run: the same N listeners receiving from the echo-style broadcast of a bare Starlette
server is not built; the figure is compared with the target (p99 < 250 ms for 1000 listeners)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

from tests.bench.harness import ROOT, start_server, stop, table, wait_http

SIZES = [int(n) for n in os.environ.get("BENCH_LISTENERS", "200,1000").split(",")]
EVENTS = int(os.environ.get("BENCH_EVENTS", "20"))


async def run_fanout(port: int, listeners: int) -> dict:
    url = f"ws://127.0.0.1:{port}/ws?project=fan{listeners}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.listeners",
        "--url",
        url,
        "--connections",
        str(listeners),
        "--events",
        str(EVENTS),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = json.loads(await proc.stdout.readline())
    assert first["connected"] == listeners
    async with connect(url) as ws:
        json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "workspace.create", "id": "w", "workspace": {}}))
        workspace_id = None
        while workspace_id is None:
            msg = json.loads(await ws.recv())
            if msg.get("type") == "workspace.created":
                workspace_id = msg["workspace"]["id"]
        for i in range(EVENTS):
            await ws.send(
                json.dumps(
                    {
                        "type": "workspace.update",
                        "id": f"u{i}",
                        "workspace_id": workspace_id,
                        "updates": {"form_data": {"sent_at": time.time(), "i": i}},
                    }
                )
            )
            while json.loads(await ws.recv()).get("reply_to") != f"u{i}":
                pass
            await asyncio.sleep(0.1)  # one edit at a time, like a person typing
    result = json.loads(await proc.stdout.readline())
    await proc.wait()
    return result


async def test_fanout(tmp_path: Path) -> None:
    proc, port = start_server(tmp_path / "data", WS_PING_INTERVAL_S="0", MAX_CONNECTIONS="20000")
    rows = []
    try:
        await wait_http(f"http://127.0.0.1:{port}/health", proc)
        for n in SIZES:
            result = await run_fanout(port, n)
            rows.append(
                (
                    f"{n} listeners, {EVENTS} edits",
                    f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                    f"max {result['max_ms']} ms ({result['deliveries']} deliveries; target p99 < 250 ms)",
                )
            )
    finally:
        stop(proc)
    table(f"fanout (machine: {os.cpu_count()} cores)", rows)
