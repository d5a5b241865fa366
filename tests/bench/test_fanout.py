"""``fanout``: one writer, N listeners on one timeline: delivery latency of ``workspace.updated`` to all of them.

Two ways in the same run: one process (FANOUT=local, the default), and FANOUT=changestream with the writer on
one process and the listeners on another, both on one database, so every event travels through MongoDB's change
stream. Compared with the targets of issue 17 (1,000 listeners on one process: p99 < 100 ms, server CPU per
delivery <= 40 us). The server's CPU is counted twice: while the listeners connect and the events are delivered
("connecting included", the figure of earlier READMEs), and from the moment all listeners are connected
("delivering": the writer's updates, their writes and the fan-out). BENCH_LISTENERS, BENCH_EVENTS and
BENCH_FANOUT (``local,changestream``: which of the two ways) tune it.

``fanout_kinds``: the same 1,000 listeners (the largest of BENCH_LISTENERS) on an in-process server; the hub's
publish of a job's progress event (``job.status_update``, what the job engine announces) and of a
``workspace.updated`` is timed in turn. Both go the same way (encoded once, then each listener's ``send``: a write
to its socket while it keeps up), so their cost per listener should differ only by the frame's length."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from app.db import EmbeddedDatabase
from protocol import encode
from protocol.outbound import Job, JobStatusUpdate, ServerMessage, WorkspaceUpdated
from tests.bench.harness import ROOT, start_server, stop, table, wait_http
from tests.conftest import make_settings
from tests.support import LiveServer

SIZES = [int(n) for n in os.environ.get("BENCH_LISTENERS", "200,1000").split(",")]
EVENTS = int(os.environ.get("BENCH_EVENTS", "20"))
MODES = os.environ.get("BENCH_FANOUT", "local,changestream").split(",")


def _cpu(procs: list[subprocess.Popen[bytes]]) -> tuple[float, float]:
    """User and system CPU seconds the processes have used so far (Linux /proc)."""
    user = system = 0.0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rpartition(")")[2].split()
        user += int(fields[11]) / os.sysconf("SC_CLK_TCK")
        system += int(fields[12]) / os.sysconf("SC_CLK_TCK")
    return user, system


async def run_fanout(
    procs: list[subprocess.Popen[bytes]], writer_port: int, listener_port: int, listeners: int
) -> tuple[dict[str, Any], float, tuple[float, float]]:
    """The listeners' result; the server processes' CPU seconds from the first listener's connect to the last
    delivery; and (user, system) from the writer's first edit to the last delivery. Closing the connections (each
    close tells the others presence.left) is in neither: the listeners close once the figures are read."""
    before = sum(_cpu(procs))
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
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
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
        editing = _cpu(procs)
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
        after = _cpu(procs)
    proc.stdin.write(b"stop\n")
    await proc.stdin.drain()
    await proc.wait()
    return result, sum(after) - before, (after[0] - editing[0], after[1] - editing[1])


def _row(label: str, measured: tuple[dict[str, Any], float, tuple[float, float]]) -> tuple[str, str]:
    result, server_cpu, (user, system) = measured
    n = max(result["deliveries"], 1)
    return (
        label,
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms "
        f"({result['deliveries']} deliveries; target p99 < 100 ms); CPU per delivery: server "
        f"{1e6 * (user + system) / n:.0f} us delivering (target <= 40; user {1e6 * user / n:.0f}, system "
        f"{1e6 * system / n:.0f}), {1e6 * server_cpu / n:.0f} us connecting "
        f"included; listening client {1e6 * result['cpu_s'] / n:.0f} us",
    )


async def test_fanout(tmp_path: Path) -> None:
    database = EmbeddedDatabase(tmp_path / "db", log_file=tmp_path / "db.log")
    uri = await database.start()
    rows = []
    env = {"WS_PING_INTERVAL_S": "0", "MAX_CONNECTIONS": "20000", "MONGODB_DB": "bench"}
    try:
        if "local" in MODES:
            proc, port = start_server(tmp_path / "local", uri, **env)
            try:
                await wait_http(f"http://127.0.0.1:{port}/health", proc)
                for n in SIZES:
                    measured = await run_fanout([proc], port, port, n)
                    rows.append(_row(f"{n} listeners, {EVENTS} edits, one process", measured))
            finally:
                stop(proc)
        if "changestream" in MODES:
            env = {**env, "FANOUT": "changestream"}
            writer, writer_port = start_server(tmp_path / "a", uri, **env)
            listening, listener_port = start_server(tmp_path / "b", uri, **env)
            try:
                await wait_http(f"http://127.0.0.1:{writer_port}/health", writer)
                await wait_http(f"http://127.0.0.1:{listener_port}/health", listening)
                for n in SIZES:
                    measured = await run_fanout([writer, listening], writer_port, listener_port, n)
                    rows.append(_row(f"{n} listeners, {EVENTS} edits, change stream across 2 processes", measured))
            finally:
                stop(writer)
                stop(listening)
    finally:
        await database.stop()
    table(f"fanout (machine: {os.cpu_count()} cores)", rows)


def _kinds() -> dict[str, ServerMessage]:
    stamp = "2026-12-02T04:00:00.000000Z"
    job = Job(
        id="6a1f0c2e9b7d4e3f2a1b0c9d",
        project="kinds",
        kind="keyframe",
        workspace_id="6a1f0c2e9b7d4e3f2a1b0c9e",
        status="running",
        progress=40,
        stage="generating",
        params={"prompt": "a lighthouse at dusk, waves breaking, slow push in " * 2, "provider": "runway"},
        created_at=stamp,
        updated_at=stamp,
    )
    return {
        "workspace.updated": WorkspaceUpdated(
            workspace_id="6a1f0c2e9b7d4e3f2a1b0c9e",
            changes={"form_data": {"sent_at": time.time(), "i": 7}},
            version=8,
            updated_at=stamp,
        ),
        "job.status_update": JobStatusUpdate(job=job),
    }


async def test_fanout_kinds(tmp_path: Path, db_uri: str) -> None:
    listeners, rounds = max(SIZES), 30
    settings = make_settings(tmp_path / "kinds", db_uri, max_connections=20000, ws_rate=100000, ws_burst=100000)
    server = LiveServer(settings)
    await server.start()
    spent: dict[str, list[tuple[float, float]]] = {kind: [] for kind in _kinds()}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.bench.listeners",
            "--url",
            server.ws_url("kinds"),
            "--connections",
            str(listeners),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdin is not None
        assert json.loads(await proc.stdout.readline())["connected"] == listeners
        hub = server.runtime.hub
        for _ in range(rounds):  # interleaved, so both kinds meet the same load
            for kind, message in _kinds().items():
                cpu, wall = time.process_time(), time.perf_counter()
                hub.publish("kinds", message)  # synchronous: the encode and every listener's write
                spent[kind].append((time.process_time() - cpu, time.perf_counter() - wall))
                await asyncio.sleep(0.05)  # the listeners read it before the next
        proc.stdin.write(b"stop\n")
        await proc.stdin.drain()
        await proc.wait()
    finally:
        await server.stop()
    rows = []
    for kind, message in _kinds().items():
        walls = sorted(w for _, w in spent[kind])
        cpu = sum(c for c, _ in spent[kind]) / (rounds * listeners)
        rows.append(
            (
                f"{kind} to {listeners} listeners ({len(encode(message).encode())} B frame)",
                f"publish: median {1e6 * walls[rounds // 2] / listeners:.1f} us per listener of wall time, "
                f"{1e6 * cpu:.1f} us of CPU (this process: asyncio loop, not uvloop)",
            )
        )
    table(f"fanout_kinds (machine: {os.cpu_count()} cores)", rows)
