"""``poller``: N generations in flight against a fake Runway API: requests and time per poll cycle, and the time
from the provider reporting completion to ``video.status_update`` reaching a client."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from bson import ObjectId

from app.db import EmbeddedDatabase, utcnow
from tests.bench.harness import table
from tests.conftest import make_settings
from tests.fakes.runway import FakeRunway, FakeTask
from tests.support import LiveServer

N = int(os.environ.get("BENCH_TASKS", "1000"))
INTERVAL = float(os.environ.get("BENCH_POLL_INTERVAL_S", "1"))


async def test_poller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRunway()
    fake.script.states = [{"status": "RUNNING", "progress": 0.5}]
    await fake.start()
    database = EmbeddedDatabase(tmp_path / "db")
    uri = await database.start()
    monkeypatch.setenv("RUNWAY_API_KEY", "key_bench")
    monkeypatch.setenv("RUNWAY_BASE_URL", fake.base_url)
    server = LiveServer(make_settings(tmp_path / "data", uri, video_provider="runway", poll_interval_s=INTERVAL))
    await server.start()
    try:
        collection = server.runtime.workspaces.collection
        now = utcnow()
        docs = []
        for i in range(N):
            task_id = f"task-{i}"
            fake.tasks[task_id] = FakeTask(task_id, {})
            docs.append(
                {
                    "_id": ObjectId(),
                    "project": "poll",
                    "order_index": float(i),
                    "title": "",
                    "form_data": {},
                    "ai_collaboration": [],
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "video": {
                        "status": "generating",
                        "provider": "runway",
                        "task_id": task_id,
                        "progress": 50,
                        "started_at": now,
                        "next_poll_at": now,
                        "poll_failures": 0,
                    },
                }
            )
        await collection.insert_many(docs)
        poller = server.runtime.poller
        cycles: list[dict[str, float]] = []
        seen = poller.last_cycle
        deadline = time.monotonic() + 300
        while len(cycles) < 2 and time.monotonic() < deadline:  # two full cycles over the N tasks
            await asyncio.sleep(0.05)
            if poller.last_cycle is not seen:
                seen = poller.last_cycle
                if seen["tasks"]:
                    cycles.append(dict(seen))
        assert cycles, "the poller never checked the tasks"
        client = await server.connect("poll")
        fake.script.states = [{"status": "SUCCEEDED"}]
        done_at = time.monotonic()
        latencies = []
        while len(latencies) < N:
            m = await client.expect(lambda m: m.get("type") == "video.status_update", timeout=120)
            if m["video"]["status"] == "completed":
                latencies.append(time.monotonic() - done_at)
    finally:
        await server.stop()
        await database.stop()
        await fake.stop()
    busiest = max(cycles, key=lambda c: c["tasks"])
    latencies.sort()
    table(
        f"poller: {N} generations in flight, POLL_INTERVAL_S={INTERVAL:g} (machine: {os.cpu_count()} cores)",
        [
            ("requests per cycle", f"{busiest['requests']} (one status GET per due task)"),
            (
                "cycle duration",
                f"{busiest['seconds'] * 1000:.0f} ms for {busiest['tasks']} tasks (concurrency {poller.concurrency})",
            ),
            (
                "completion -> status_update",
                f"p50 {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s "
                f"(includes downloading {N} files)",
            ),
        ],
    )
