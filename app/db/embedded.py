"""Start and stop the embedded MongoDB-compatible database (SecantusDB) as a child process.

The child listens on a free loopback port with its files under ``<db_dir>``, runs with ``--sync-on-commit``
(without it, acknowledged writes can be lost when the process group is killed), and gets SIGTERM when its
parent dies (Linux ``PR_SET_PDEATHSIG``). A pid file beside the data lets the next start find a leftover child
of a server that was killed with SIGKILL: it is stopped before a new one opens the directory, since
WiredTiger allows one process per directory.

``Supervisor`` restarts a database that exits without ``stop()`` (killed, crashed), on the same port and
directory, so the client's URI stays valid and the driver reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from loguru import logger
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from providers.backoff import backoff_delay

_PR_SET_PDEATHSIG = 1


def free_port(avoid: Collection[int] = ()) -> int:
    """A loopback port nobody listens on now, other than those in ``avoid`` (ports promised to someone else who
    has not bound them yet: the server's own, when the database starts first)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in avoid:
            return port


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _is_our_database(pid: int, db_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"secantus" in b" ".join(cmdline) and str(db_dir).encode() in cmdline


class EmbeddedDatabase:
    def __init__(
        self,
        db_dir: Path,
        *,
        port: int | None = None,
        log_file: Path | None = None,
        extra_args: Sequence[str] = (),
        avoid_ports: Collection[int] = (),
    ) -> None:
        self.db_dir = db_dir.resolve()
        self.extra_args = list(extra_args)  # more secantus flags (tests: --enable-test-commands)
        self.avoid_ports = set(avoid_ports)  # e.g. the server's port, not bound yet when the database starts
        self.port = port
        self.log_file = log_file
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False  # set by stop(): an exit from now on is expected, not restarted
        self._pid_file = self.db_dir.parent / "db.pid"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    async def start(self, *, timeout: float = 60.0) -> str:
        self.db_dir.mkdir(parents=True, exist_ok=True)
        await self._stop_leftover()
        if self.port is None:
            self.port = free_port(self.avoid_ports)
        config = self.db_dir.parent / "db.toml"
        if not config.exists():
            config.write_text("# SecantusDB settings for the embedded database (flags given by the launcher win)\n")
        args = [
            sys.executable,
            "-m",
            "secantus",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.db_dir),
            "--sync-on-commit",
            "--log-level",
            "WARNING",
            *self.extra_args,
        ]
        log = open(self.log_file, "ab") if self.log_file else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
        try:
            self.process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        finally:
            if not isinstance(log, int):
                log.close()
        self._pid_file.write_text(json.dumps({"pid": self.process.pid, "port": self.port}))
        await self._wait_ready(timeout)
        logger.info("embedded database ready on 127.0.0.1:{} ({})", self.port, self.db_dir)
        return self.uri

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.uri, serverSelectionTimeoutMS=500)
        try:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(
                        f"embedded database exited with code {self.process.returncode}{self._log_tail()}"
                    )
                try:
                    await client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"embedded database did not answer in {timeout:.0f}s{self._log_tail()}"
                        ) from None
                    await asyncio.sleep(0.1)
        finally:
            await client.close()

    def _log_tail(self) -> str:
        if not self.log_file or not self.log_file.exists():
            return ""
        return "; log: " + self.log_file.read_text(errors="replace")[-600:]

    async def _stop_leftover(self) -> None:
        """A child of a killed server may still hold the directory: stop it (TERM, then KILL)."""
        try:
            info = json.loads(self._pid_file.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if not _alive(pid) or not _is_our_database(pid, self.db_dir):
            return
        logger.warning("stopping a leftover embedded database (pid {}) that still holds {}", pid, self.db_dir)
        await _terminate_pid(pid)

    async def wait(self) -> int | None:
        """Wait until the current process exits; its exit code (None when there is no process)."""
        proc = self.process
        return None if proc is None else await proc.wait()

    async def stop(self, *, timeout: float = 15.0) -> None:
        self.stopping = True
        proc, self.process = self.process, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            logger.error("embedded database did not stop in {}s; killing it", timeout)
            proc.kill()
            await proc.wait()
        with contextlib.suppress(OSError):
            self._pid_file.unlink()
        logger.info("embedded database stopped")


async def _terminate_pid(pid: int, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        await asyncio.sleep(0.05)


class Supervised(Protocol):
    """What the supervisor needs of a database (``EmbeddedDatabase``; a fake in tests)."""

    stopping: bool
    port: int | None

    async def wait(self) -> int | None: ...

    async def start(self) -> str: ...


@dataclass
class Backoff:
    """Delays between restart attempts: ``first``, doubling, at most ``cap``; back to ``first`` once a started
    database has stayed up for ``stable_s`` (a crash a day is not a crash loop)."""

    first: float = 0.5
    cap: float = 30.0
    stable_s: float = 60.0
    _failures: int = field(default=0, init=False)

    def delay(self) -> float:
        self._failures += 1
        return backoff_delay(self._failures, base=self.first, cap=self.cap)

    def ran_for(self, seconds: float) -> None:
        if seconds >= self.stable_s:
            self._failures = 0


class Supervisor:
    """Keeps a database running: when its process exits and nobody called ``stop()``, start it again (same port,
    same directory) after a backoff delay; a database that keeps dying is retried forever, at most ``cap`` apart.
    Cancel ``run()`` before ``stop()`` (``python -m app`` does), so no restart races the shutdown."""

    def __init__(
        self,
        database: Supervised,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.database = database
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._sleep = sleep
        self.restarts = 0  # successful restarts

    async def run(self) -> None:
        while True:
            started = self._clock()
            code = await self.database.wait()
            if self.database.stopping or code is None:
                return
            self.backoff.ran_for(self._clock() - started)
            logger.error("embedded database exited unexpectedly (code {}); restarting it", code)
            if not await self._restart():
                return

    async def _restart(self) -> bool:
        attempt = 0
        while True:
            attempt += 1
            delay = self.backoff.delay()
            logger.warning("embedded database restart {} in {:.1f}s (port {})", attempt, delay, self.database.port)
            await self._sleep(delay)
            if self.database.stopping:
                return False
            try:
                await self.database.start()
            except Exception as exc:  # the reason is logged; the next attempt comes after a longer delay
                lines = str(exc).strip().splitlines() or [type(exc).__name__]  # first and last: cause and error
                reason = lines[0][:200] + (f" … {lines[-1][:200]}" if len(lines) > 1 else "")
                logger.error("embedded database restart {} failed: {}", attempt, reason)
                continue
            self.restarts += 1
            logger.warning("embedded database restarted on port {} (attempt {})", self.database.port, attempt)
            return True
