"""Listener process for the ``fanout`` and ``idle`` benchmarks: opens N WebSocket connections to one project.

fanout: waits for ``--events`` workspace.updated events per connection and prints delivery latencies (the
writer puts its send time in ``form_data.sent_at``). idle: holds the connections for ``--hold`` seconds.
Prints one JSON line when all are connected (``{"connected": N}``) and one with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from websockets.asyncio.client import connect


async def listener(
    url: str,
    events: int,
    latencies: list[float],
    ready: asyncio.Event,
    counter: list[int],
    total: int,
    hold: asyncio.Event,
) -> None:
    async with connect(url, max_size=2**22, ping_interval=None) as ws:
        json.loads(await ws.recv())
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        if events == 0:
            await hold.wait()
            return
        got = 0
        async for raw in ws:
            now = time.time()
            msg = json.loads(raw)
            if msg.get("type") == "workspace.updated":
                sent = (msg["changes"].get("form_data") or {}).get("sent_at")
                if sent is not None:
                    latencies.append(now - sent)
                    got += 1
                    if got >= events:
                        return


async def main_async(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    latencies: list[float] = []
    ready, hold = asyncio.Event(), asyncio.Event()
    counter = [0]
    tasks = []
    for i in range(args.connections):
        tasks.append(
            asyncio.create_task(listener(args.url, args.events, latencies, ready, counter, args.connections, hold))
        )
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    await ready.wait()
    print(json.dumps({"connected": counter[0]}), flush=True)
    cpu = time.process_time()  # from here on: receiving the events
    if args.events == 0:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # told to stop
        hold.set()
    await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
    latencies.sort()
    n = len(latencies)
    print(
        json.dumps(
            {
                "deliveries": n,
                "p50_ms": round(latencies[n // 2] * 1000, 2) if n else None,
                "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
                "max_ms": round(latencies[-1] * 1000, 2) if n else None,
                "cpu_s": round(time.process_time() - cpu, 3),  # this client's CPU while receiving
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
