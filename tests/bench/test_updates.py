"""``updates``: C connections each editing their own workspace with W updates in flight for D seconds.

Compared in the same run with (a) a bare Starlette+uvicorn echo server driven by the same client (the limit of
this stack here) and (b) the embedded database's own single-document update rate with PyMongo (the limit the
writer must beat by coalescing). Tune with BENCH_CONNECTIONS, BENCH_INFLIGHT, BENCH_SECONDS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from app.db import EmbeddedDatabase, free_port
from tests.bench.harness import ROOT, cpu_seconds, run_client, scrape, start_server, stop, table, wait_http

C = int(os.environ.get("BENCH_CONNECTIONS", "20"))
W = int(os.environ.get("BENCH_INFLIGHT", "8"))
D = float(os.environ.get("BENCH_SECONDS", "10"))


async def database_update_rate(uri: str, seconds: float = 3.0) -> float:
    client: AsyncMongoClient = AsyncMongoClient(uri)
    coll = client["bench_raw"]["docs"]
    await coll.insert_one({"_id": 1, "n": 0})
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        await coll.update_one({"_id": 1}, {"$set": {"form_data.prompt": f"p{count}"}, "$inc": {"n": 1}})
        count += 1
    await client.drop_database("bench_raw")
    await client.close()
    return count / seconds


async def test_updates(tmp_path: Path) -> None:
    database = EmbeddedDatabase(tmp_path / "db", log_file=tmp_path / "db.log")
    uri = await database.start()
    try:
        raw_rate = await database_update_rate(uri)
        proc, port = start_server(tmp_path / "data", uri, MONGODB_DB="bench")
        try:
            await wait_http(f"http://127.0.0.1:{port}/health", proc)
            before = await scrape(f"http://127.0.0.1:{port}")
            assert database.process is not None
            cpu_before = cpu_seconds(proc.pid), cpu_seconds(database.process.pid)
            ours = await run_client(
                "tests.bench.load_client",
                "--url",
                f"ws://127.0.0.1:{port}/ws",
                "--connections",
                str(C),
                "--inflight",
                str(W),
                "--duration",
                str(D),
            )
            after = await scrape(f"http://127.0.0.1:{port}")
            cpu_server, cpu_db = (
                b - a
                for a, b in zip(cpu_before, (cpu_seconds(proc.pid), cpu_seconds(database.process.pid)), strict=True)
            )
        finally:
            stop(proc)
    finally:
        await database.stop()
    writes = after.get("workspace_server_db_workspace_writes_total", 0) - before.get(
        "workspace_server_db_workspace_writes_total", 0
    )
    updates = after.get("workspace_server_workspace_updates_total", 0) - before.get(
        "workspace_server_workspace_updates_total", 0
    )
    commands = after.get("workspace_server_db_workspace_write_commands_total", 0) - before.get(
        "workspace_server_db_workspace_write_commands_total", 0
    )

    echo_port = free_port()
    echo = subprocess.Popen([sys.executable, "-m", "tests.bench.echo_server", "--port", str(echo_port)], cwd=ROOT)
    try:
        await wait_http(f"http://127.0.0.1:{echo_port}/", echo)
        baseline = await run_client(
            "tests.bench.load_client",
            "--url",
            f"ws://127.0.0.1:{echo_port}/ws",
            "--echo",
            "--connections",
            str(C),
            "--inflight",
            str(W),
            "--duration",
            str(D),
        )
    finally:
        stop(echo)

    table(
        f"updates: {C} connections x {W} in flight, {D:g} s (machine: {os.cpu_count()} cores)",
        [
            (
                "confirmed updates/s",
                f"{ours['per_second']}  (echo baseline {baseline['per_second']}, "
                f"target >= {baseline['per_second'] / 2:.0f})",
            ),
            (
                "ack p50 / p99 ms",
                f"{ours['p50_ms']} / {ours['p99_ms']}  (echo {baseline['p50_ms']} / "
                f"{baseline['p99_ms']}; target p99 < 100)",
            ),
            ("errors / unanswered", f"{ours['errors']} / {ours['unanswered']}"),
            ("database writes", f"{writes:.0f} for {updates:.0f} updates, in {commands:.0f} commands (bulk_write)"),
            ("updates per write", f"{updates / writes:.2f}  (target >= 4)" if writes else "n/a"),
            ("db single-doc updates/s", f"{raw_rate:.0f}  (PyMongo, one client, sequential)"),
            (
                "CPU seconds during the run",
                f"server {cpu_server:.1f}, database {cpu_db:.1f}, client {ours['cpu_s']:.1f} "
                f"of {(os.cpu_count() or 1) * D:g} available (the echo client: {baseline['cpu_s']:.1f})",
            ),
        ],
    )
    assert ours["confirmed"] > 0 and ours["errors"] == 0
