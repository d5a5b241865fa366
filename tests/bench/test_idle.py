"""``idle``: N open connections with protocol pings on: server memory per connection and CPU at rest."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.bench.harness import ROOT, start_server, stop, table, wait_http

SIZES = [int(n) for n in os.environ.get("BENCH_IDLE", "1000,5000").split(",")]
REST_S = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def test_idle(tmp_path: Path) -> None:
    rows = []
    for n in SIZES:
        proc, port = start_server(
            tmp_path / f"data{n}", WS_PING_INTERVAL_S="5", WS_PING_TIMEOUT_S="5", MAX_CONNECTIONS="20000"
        )
        try:
            await wait_http(f"http://127.0.0.1:{port}/health", proc)
            await asyncio.sleep(1)
            before = rss_kib(proc.pid)
            clients = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.bench.listeners",
                "--url",
                f"ws://127.0.0.1:{port}/ws?project=idle",
                "--connections",
                str(n),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert clients.stdout is not None and clients.stdin is not None
            assert json.loads(await clients.stdout.readline())["connected"] == n
            await asyncio.sleep(2)
            cpu0 = cpu_seconds(proc.pid)
            await asyncio.sleep(REST_S)
            cpu1 = cpu_seconds(proc.pid)
            after = rss_kib(proc.pid)
            clients.stdin.write(b"stop\n")
            await clients.stdin.drain()
            await clients.wait()
        finally:
            stop(proc)
        per = (after - before) / n
        rows.append(
            (
                f"{n} connections",
                f"{per:.1f} KiB per connection (RSS {before} -> {after} KiB; target < 40), "
                f"CPU at rest {100 * (cpu1 - cpu0) / REST_S:.1f}% of one core (pings every 5 s)",
            )
        )
    table(f"idle (machine: {os.cpu_count()} cores)", rows)
