"""Listener process for the ``fanout`` and ``idle`` benchmarks: opens N WebSocket connections to one project.

fanout: waits for ``--events`` workspace.updated events per connection and prints delivery latencies (the
writer puts its send time in ``form_data.sent_at``). idle: holds the connections. Prints one JSON line when all
are connected (``{"connected": N}``) and one with the results (fanout: once every connection has its events;
idle: after a line on stdin), then closes the connections after a line on stdin (fanout; idle: at once).

The connections are python-websockets' sans-I/O ``ClientProtocol`` under a bare ``asyncio.Protocol``, not its
asyncio client: with 1,000 connections in one process the client's own work per frame is serial, so every
microsecond it spends is added to the latency of the listeners it serves last (the asyncio client cost ~60 us
per delivery here, i.e. ~60 ms between the first and the 1,000th listener of one event). The time of arrival is
taken when the bytes reach ``data_received``, before anything is parsed; pings are answered (the protocol queues
the pong). Only frames that name ``workspace.updated`` are parsed as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

_UPDATED = b'"workspace.updated"'


class Listener(asyncio.Protocol):
    """One connection: the first text frame (connection.ready) counts it as connected; then it records the
    latency of each workspace.updated carrying ``sent_at`` until it has ``events`` of them."""

    def __init__(self, url: str, events: int, latencies: list[float], on_ready: Callable[[], None]) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=2**22)
        self.protocol.send_request(self.protocol.connect())
        self.events = events
        self.latencies = latencies
        self.on_ready = on_ready
        self.got = 0
        self.ready = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if event.status_code != 101:
                    self._finish(RuntimeError(f"handshake refused: {event.status_code}"))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._on_text(now, event)
        self._flush()  # pongs, the close reply
        if self.protocol.close_rcvd is not None:
            self._finish(RuntimeError(f"closed by the server: {self.protocol.close_rcvd.code}"))

    def _on_text(self, now: float, frame: Frame) -> None:
        assert frame.fin, "the server does not fragment"
        if not self.ready:
            self.ready = True
            self.on_ready()
            return
        data = bytes(frame.data)  # the parser's frames hold bytes already: no copy
        if _UPDATED not in data:
            return
        msg = json.loads(data)
        if msg.get("type") != "workspace.updated":
            return
        sent = (msg["changes"].get("form_data") or {}).get("sent_at")
        if sent is None:
            return
        self.latencies.append(now - sent)
        self.got += 1
        if self.got >= self.events:
            self._finish(None)

    def _flush(self) -> None:
        out = self.protocol.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def _finish(self, exc: BaseException | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or (None if self.events == 0 and self.ready else ConnectionError("connection lost")))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def main_async(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    uri = parse_uri(args.url)
    latencies: list[float] = []
    all_ready = asyncio.Event()
    counter = [0]

    def on_ready() -> None:
        counter[0] += 1
        if counter[0] == args.connections:
            all_ready.set()

    listeners: list[Listener] = []
    for i in range(args.connections):
        listener = Listener(args.url, args.events, latencies, on_ready)
        await loop.create_connection(lambda listener=listener: listener, uri.host, uri.port)  # type: ignore[misc]
        listeners.append(listener)
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    await asyncio.wait_for(all_ready.wait(), args.timeout)
    print(json.dumps({"connected": counter[0]}), flush=True)
    cpu = time.process_time()  # from here on: receiving the events
    if args.events == 0:
        await loop.run_in_executor(None, sys.stdin.readline)  # told to stop
    else:
        await asyncio.wait_for(asyncio.gather(*(listener.done for listener in listeners)), args.timeout)
    _print_result(latencies, time.process_time() - cpu)
    if args.events:  # the connections stay open until told to stop: closing is not part of the figures
        await loop.run_in_executor(None, sys.stdin.readline)
    for listener in listeners:
        listener.close()


def _print_result(latencies: list[float], cpu_s: float) -> None:
    latencies.sort()
    n = len(latencies)
    print(
        json.dumps(
            {
                "deliveries": n,
                "p50_ms": round(latencies[n // 2] * 1000, 2) if n else None,
                "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
                "max_ms": round(latencies[-1] * 1000, 2) if n else None,
                "cpu_s": round(cpu_s, 3),  # this client's CPU while receiving
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
