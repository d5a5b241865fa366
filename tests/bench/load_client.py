"""Load client, run as its own process: C connections, each editing its own workspace with W updates in flight
for D seconds. Prints one JSON object: confirmed updates, rate, ack latency percentiles, errors.

    python -m tests.bench.load_client --url ws://127.0.0.1:8000/ws --connections 20 --inflight 8 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from websockets.asyncio.client import connect


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def worker(
    url: str,
    index: int,
    inflight: int,
    deadline: float,
    latencies: list[float],
    counts: dict[str, int],
    echo: bool,
    shared_project: str | None = None,
) -> None:
    if shared_project is None:  # each connection its own timeline: measures the update path, not fan-out
        url += ("&" if "?" in url else "?") + f"project=bench{index}"
    async with connect(url, max_size=2**22) as ws:
        json.loads(await ws.recv())  # connection.ready
        if echo:
            workspace_id = f"{index:024x}"
        else:
            await ws.send(
                json.dumps(
                    {
                        "type": "workspace.create",
                        "id": f"bench-{time.time_ns()}-{index}",
                        "workspace": {"title": f"bench {index}"},
                    }
                )
            )
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "workspace.created":
                    workspace_id = msg["workspace"]["id"]
                    break
        sent: dict[str, float] = {}
        seq = 0
        window = asyncio.Semaphore(inflight)

        async def reader() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                rid = msg.get("reply_to")
                if rid in sent:
                    started = sent.pop(rid)
                    if msg.get("type") == "workspace.sync_confirm":
                        latencies.append(time.perf_counter() - started)
                        counts["confirmed"] += 1
                    else:
                        counts["errors"] += 1
                    window.release()
                if not sent and time.monotonic() > deadline:
                    return

        read_task = asyncio.create_task(reader())
        while time.monotonic() < deadline:
            await window.acquire()
            seq += 1
            mid = f"{index}-{seq}"
            sent[mid] = time.perf_counter()
            await ws.send(
                json.dumps(
                    {
                        "type": "workspace.update",
                        "id": mid,
                        "workspace_id": workspace_id,
                        "updates": {"form_data": {"prompt": f"take {seq}", "seed": seq}},
                    }
                )
            )
        try:
            await asyncio.wait_for(read_task, 30)
        except TimeoutError:
            counts["unanswered"] += len(sent)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    counts = {"confirmed": 0, "errors": 0, "unanswered": 0}
    cpu = time.process_time()
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(
        *(
            worker(args.url, i, args.inflight, deadline, latencies, counts, args.echo, args.shared_project)
            for i in range(args.connections)
        )
    )
    elapsed = time.monotonic() - started
    return {
        "connections": args.connections,
        "inflight": args.inflight,
        "seconds": round(elapsed, 2),
        "confirmed": counts["confirmed"],
        "per_second": round(counts["confirmed"] / args.duration, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "errors": counts["errors"],
        "unanswered": counts["unanswered"],
        "cpu_s": round(time.process_time() - cpu, 2),  # this client's own CPU time during the run
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--shared-project", default=None, help="put every connection on this one timeline")
    parser.add_argument("--echo", action="store_true", help="the target is the echo baseline (no create)")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
