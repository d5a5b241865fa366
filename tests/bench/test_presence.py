"""``presence``: N connections on one timeline, each sending ``presence.update`` R times a second (PROTOCOL.md 10.1;
every update goes to the N-1 others): deliveries a second, their delay, and the server's CPU per delivery, beside
the same server's ``workspace.updated`` fan-out figures of ``test_fanout`` (run it in the same session to compare).
BENCH_PRESENCE_CONNECTIONS, BENCH_PRESENCE_RATE, BENCH_SECONDS tune it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.bench.harness import cpu_seconds, run_client, start_server, stop, table, wait_http

N = int(os.environ.get("BENCH_PRESENCE_CONNECTIONS", "200"))
RATE = float(os.environ.get("BENCH_PRESENCE_RATE", "5"))
D = float(os.environ.get("BENCH_SECONDS", "10"))


async def test_presence(tmp_path: Path) -> None:
    rows = []
    for n, rate in ((N // 4, RATE), (N, RATE)):
        proc, port = start_server(tmp_path / f"data{n}")
        try:
            await wait_http(f"http://127.0.0.1:{port}/health", proc)
            before = cpu_seconds(proc.pid)
            url = f"ws://127.0.0.1:{port}/ws?project=presence{n}"
            args = ["--url", url, "--connections", str(n), "--rate", str(rate), "--duration", str(D)]
            result = await run_client("tests.bench.presence_client", *args)
            cpu = cpu_seconds(proc.pid) - before
        finally:
            stop(proc)
        expected = result["sent"] * (n - 1)
        rows.append(
            (
                f"{n} connections x {rate:g}/s, {D:g} s",
                f"{result['received'] / D:,.0f} deliveries/s ({result['received']:,} of {expected:,} possible, "
                f"{result['failed']} connections failed); delay p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                f"max {result['max_ms']} ms; server CPU {cpu:.1f} s = "
                f"{cpu / max(result['received'], 1) * 1e6:.0f} us per delivery (connecting included)",
            )
        )
    table("presence (one process, FANOUT=local)", rows)
