"""``fanout``: one writer, N listeners on one timeline: delivery latency of ``workspace.updated`` to all of them.

Two ways in the same run: one process (FANOUT=local, the default), and FANOUT=changestream with the writer on
one process and the listeners on another, both on one database, so every event travels through MongoDB's change
stream. Compared with the target (p99 < 250 ms for 1000 listeners). BENCH_LISTENERS, BENCH_EVENTS tune it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

from websockets.asyncio.client import connect

from app.db import EmbeddedDatabase
from tests.bench.harness import ROOT, cpu_seconds, start_server, stop, table, wait_http

SIZES = [int(n) for n in os.environ.get("BENCH_LISTENERS", "200,1000").split(",")]
EVENTS = int(os.environ.get("BENCH_EVENTS", "20"))


async def run_fanout(writer_port: int, listener_port: int, listeners: int) -> dict:
    project = f"fan{listeners}-{writer_port}"
    url = f"ws://127.0.0.1:{listener_port}/ws?project={project}"
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
    async with connect(f"ws://127.0.0.1:{writer_port}/ws?project={project}") as ws:
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


def _row(label: str, result: dict, server_cpu: float) -> tuple[str, str]:
    return (
        label,
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms "
        f"({result['deliveries']} deliveries; target p99 < 250 ms); "
        f"CPU per delivery: server {1e6 * server_cpu / max(result['deliveries'], 1):.0f} us (connecting "
        f"included), listening client {1e6 * result['cpu_s'] / max(result['deliveries'], 1):.0f} us",
    )


async def measured(procs: list[subprocess.Popen[bytes]], run: Awaitable[dict]) -> tuple[dict, float]:
    """The run's result and the CPU seconds the server processes used meanwhile (connecting included)."""
    before = sum(cpu_seconds(p.pid) for p in procs)
    result = await run
    return result, sum(cpu_seconds(p.pid) for p in procs) - before


async def test_fanout(tmp_path: Path) -> None:
    database = EmbeddedDatabase(tmp_path / "db", log_file=tmp_path / "db.log")
    uri = await database.start()
    rows = []
    try:
        env = {"WS_PING_INTERVAL_S": "0", "MAX_CONNECTIONS": "20000", "MONGODB_DB": "bench"}
        proc, port = start_server(tmp_path / "local", uri, **env)
        try:
            await wait_http(f"http://127.0.0.1:{port}/health", proc)
            for n in SIZES:
                result, cpu = await measured([proc], run_fanout(port, port, n))
                rows.append(_row(f"{n} listeners, {EVENTS} edits, one process", result, cpu))
        finally:
            stop(proc)
        env = {**env, "FANOUT": "changestream"}
        writer, writer_port = start_server(tmp_path / "a", uri, **env)
        listening, listener_port = start_server(tmp_path / "b", uri, **env)
        try:
            await wait_http(f"http://127.0.0.1:{writer_port}/health", writer)
            await wait_http(f"http://127.0.0.1:{listener_port}/health", listening)
            for n in SIZES:
                result, cpu = await measured([writer, listening], run_fanout(writer_port, listener_port, n))
                rows.append(_row(f"{n} listeners, {EVENTS} edits, change stream across 2 processes", result, cpu))
        finally:
            stop(writer)
            stop(listening)
    finally:
        await database.stop()
    table(f"fanout (machine: {os.cpu_count()} cores)", rows)
