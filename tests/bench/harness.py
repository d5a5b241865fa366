"""Shared pieces of the benchmarks: server and client processes, metrics scraping, table printing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.db import free_port

ROOT = Path(__file__).resolve().parents[2]


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode}")
            try:
                await http.get(url)
                if proc.pid in _profilers and _profilers[proc.pid] is None:
                    _start_profile(proc, _test_name() + f"-{proc.pid}")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise TimeoutError(url)


def start_server(data_dir: Path, mongodb_uri: str | None = None, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    full_env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WS_RATE": "100000",
        "WS_BURST": "100000",
        **env,
    }
    if mongodb_uri:
        full_env["MONGODB_URI"] = mongodb_uri
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=full_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir.parent / f"server-{port}.log", "wb"),  # noqa: SIM115 - lives as long as the server
    )
    if os.environ.get("BENCH_PROFILE"):
        _profilers[proc.pid] = None  # started by wait_http once the server answers: no start-up in the profile
    return proc, port


_profilers: dict[int, subprocess.Popen[bytes] | None] = {}


def _start_profile(proc: subprocess.Popen[bytes], name: str) -> None:
    """BENCH_PROFILE=dir: sample the server with py-spy until it stops (collapsed stacks; see profile_top)."""
    out = Path(os.environ["BENCH_PROFILE"]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(proc.pid), "--rate", "200"]
    command += ["--format", "raw", "--nonblocking", "--output", str(out / f"{name}.txt")]
    _profilers[proc.pid] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _test_name() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "server")  # "tests/bench/test_x.py::test_x[param] (call)"
    return re.sub(r"\W+", "_", current.split("::")[-1].split(" ")[0]).strip("_")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    profiler = _profilers.pop(proc.pid, None)
    if profiler is not None:  # stop sampling first: py-spy writes its file when interrupted
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def run_client(module: str, *args: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed with {proc.returncode}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def scrape(base: str) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        text = (await http.get(base + "/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:]+)(\{.*\})? ([0-9.eE+-]+)$", line)  # label values may hold braces
        if match:
            values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


def table(title: str, rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n== {title}")
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
