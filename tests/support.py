"""Test helpers: a real server (in-process uvicorn on a free port, or ``python -m app`` as a child process) and
a real WebSocket client that can wait for messages by predicate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.__main__ import GracefulServer
from app.db import free_port
from app.main import create_app
from app.serving import HEADER_TIMEOUT_S, uvicorn_config
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
Message = dict[str, Any]


class WsClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.buffer: list[Message] = []
        self._n = 0
        self.ready: Message = {}

    def next_id(self) -> str:
        self._n += 1
        return f"t{self._n}"

    async def send(self, msg: Message | str | bytes) -> None:
        await self.ws.send(msg if isinstance(msg, str | bytes) else json.dumps(msg))

    async def recv(self, timeout: float = 5.0) -> Message:
        if self.buffer:
            return self.buffer.pop(0)
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)

    async def expect(self, pred: Callable[[Message], bool], timeout: float = 5.0) -> Message:
        for i, m in enumerate(self.buffer):
            if pred(m):
                return self.buffer.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message; buffered: {self.buffer[-5:]}")
            raw = await asyncio.wait_for(self.ws.recv(), left)
            m = json.loads(raw)
            if pred(m):
                return m
            self.buffer.append(m)

    async def expect_type(self, kind: str, timeout: float = 5.0) -> Message:
        return await self.expect(lambda m: m.get("type") == kind, timeout)

    async def request(self, msg: Message, timeout: float = 5.0) -> Message:
        msg = dict(msg)
        msg.setdefault("id", self.next_id())
        await self.send(msg)
        return await self.expect(lambda m: m.get("reply_to") == msg["id"], timeout)

    async def nothing_more(self, timeout: float = 0.3, *, presence: bool = False) -> list[Message]:
        """Whatever arrives within ``timeout`` (used to show that something was *not* sent). Presence frames
        (PROTOCOL.md 10.1: other connections opening, closing, looking around) are left out unless asked for."""
        got = list(self.buffer)
        self.buffer.clear()
        try:
            while True:
                got.append(json.loads(await asyncio.wait_for(self.ws.recv(), timeout)))
        except TimeoutError:
            pass
        return [m for m in got if presence or not str(m.get("type", "")).startswith("presence.")]

    async def create(self, **fields: Any) -> Message:
        reply = await self.request({"type": "workspace.create", "workspace": fields})
        assert reply["type"] == "workspace.created", reply
        return reply["workspace"]

    async def close(self) -> None:
        await self.ws.close()


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in this event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = settings.port
        self.server: GracefulServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.clients: list[WsClient] = []
        self.header_timeout_s = HEADER_TIMEOUT_S

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, project: str | None = None, token: str | None = None) -> str:
        query = []
        if project:
            query.append(f"project={project}")
        if token:
            query.append(f"token={token}")
        return f"ws://127.0.0.1:{self.port}/ws" + ("?" + "&".join(query) if query else "")

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def start(self) -> None:
        config = uvicorn_config(self.app, self.settings, header_timeout_s=self.header_timeout_s)
        self.server = GracefulServer(config)
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("server stopped during startup")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            await asyncio.sleep(0.02)

    async def connect(self, project: str | None = None, *, token: str | None = None, **kwargs: Any) -> WsClient:
        ws = await connect(self.ws_url(project, token), max_size=2**24, **kwargs)
        client = WsClient(ws)
        client.ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert client.ready["type"] == "connection.ready", client.ready
        self.clients.append(client)
        return client

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=10, **kwargs)

    async def stop(self) -> None:
        for client in self.clients:
            await client.ws.close()
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            done, _ = await asyncio.wait([self.task], timeout=60)  # the lifespan's own limits add up to less
            if not done:  # say what the shutdown still waits for, then fail
                pending = sorted(t.get_name() for t in asyncio.all_tasks() if not t.done())
                self.task.cancel()
                raise TimeoutError(f"the server did not stop within 60 s; tasks still running: {pending}")
            self.task.result()


class ServerProcess:
    """``python -m app`` as a child process, for restarts, kill -9 and signals. Every instance is killed (with
    its process group) at the end of the test by the ``reap_processes`` fixture, whatever happened."""

    alive: ClassVar[list[ServerProcess]] = []

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(self.port), "LOG_LEVEL": "INFO", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        ServerProcess.alive.append(self)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, project: str | None = None) -> str:
        return f"ws://127.0.0.1:{self.port}/ws" + (f"?project={project}" if project else "")

    command: ClassVar[list[str]] = []  # after ``python -m app``

    def launch(self) -> subprocess.Popen[bytes]:
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", *self.command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        return self.proc

    async def start(self, timeout: float = 60) -> None:
        proc = self.launch()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
                if await self.ready(http):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(self.log_path.read_text()[-2000:])
                await asyncio.sleep(0.1)

    async def ready(self, http: httpx.AsyncClient) -> bool:
        try:
            return (await http.get(self.base + "/health")).status_code == 200
        except httpx.HTTPError:
            return False

    async def connect(self, project: str | None = None) -> WsClient:
        ws = await connect(self.ws_url(project))
        client = WsClient(ws)
        client.ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return client

    def kill(self) -> None:
        """SIGKILL the server process only (its embedded database child is left to fend for itself)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    async def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise TimeoutError("server did not stop on SIGTERM")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def reap(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class WorkerProcess(ServerProcess):
    """``python -m app worker`` as a child process: ready once it logs that it runs jobs (it has no port)."""

    command: ClassVar[list[str]] = ["worker"]

    async def ready(self, http: httpx.AsyncClient) -> bool:
        return self.log_path.exists() and "running jobs:" in self.log()
