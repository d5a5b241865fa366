"""Client process of the ``presence`` benchmark: N connections on one project, each sending ``presence.update``
R times a second for D seconds with its send time in the state; every connection counts the ``presence.changed``
it gets from the others and their delay. Prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import ClientConnection, connect


async def member(
    url: str, index: int, rate: float, run: dict[str, float], delays: list[float], counts: dict[str, int],
    ready: asyncio.Event,
) -> None:  # fmt: skip
    async with connect(url, max_queue=None) as ws:
        json.loads(await ws.recv())
        counts["connected"] += 1
        await ready.wait()
        reader = asyncio.create_task(_read(ws, delays, counts))
        period, n = 1.0 / rate, 0
        start = time.monotonic() + (index % 10) * period / 10  # spread the senders over the period
        while (now := time.monotonic()) < run["until"]:
            next_at = start + n * period
            if next_at > now:
                await asyncio.sleep(next_at - now)
            await ws.send(json.dumps({"type": "presence.update", "state": {"i": index, "n": n, "t": time.time()}}))
            counts["sent"] += 1
            n += 1
        await asyncio.sleep(1.0)  # what is still on its way
        reader.cancel()


async def _read(ws: ClientConnection, delays: list[float], counts: dict[str, int]) -> None:
    async for raw in ws:
        msg = json.loads(raw)
        if msg.get("type") == "presence.changed" and msg.get("state"):
            delays.append(time.time() - msg["state"]["t"])
            counts["received"] += 1
        elif msg.get("type") == "error":
            counts["errors"] += 1


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    delays: list[float] = []
    counts = {"connected": 0, "sent": 0, "received": 0, "errors": 0}
    ready = asyncio.Event()
    run = {"until": 0.0}
    members = [
        asyncio.create_task(member(args.url, i, args.rate, run, delays, counts, ready)) for i in range(args.connections)
    ]
    while counts["connected"] < args.connections:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the openings' presence.changed settle
    run["until"] = time.monotonic() + args.duration
    ready.set()
    results = await asyncio.gather(*members, return_exceptions=True)
    delays.sort()
    pick = (
        (lambda q: round(delays[min(len(delays) - 1, int(q * len(delays)))] * 1000, 1)) if delays else (lambda q: None)
    )
    print(
        json.dumps(
            {
                **counts,
                "failed": sum(1 for r in results if isinstance(r, BaseException)),
                "p50_ms": pick(0.5),
                "p99_ms": pick(0.99),
                "max_ms": round(delays[-1] * 1000, 1) if delays else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
