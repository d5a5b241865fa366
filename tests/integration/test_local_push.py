"""The local renderer pushes its progress and its completion (issue 15 item 4): with ``POLL_INTERVAL_S=30`` a render's
``video.status_update`` messages still arrive step by step, and ``completed`` follows the render's end at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_video import shot, until_status
from tests.support import LiveServer

pytestmark = pytest.mark.slow


async def test_local_render_progress_is_pushed_not_polled(start_server) -> None:
    """A 4 s clip: several progress steps and ``completed`` reach the client within 1.5 s of the MP4 being done,
    though no poll cycle is due for 30 s; the pokes are throttled (at most ~4 checks a second)."""
    server: LiveServer = await start_server(poll_interval_s=30)
    runtime = server.runtime
    local = runtime.providers.video("local")
    work_dir = Path(runtime.providers.config("local").work_dir)
    finished: dict[str, float] = {}
    checks = 0
    poke, status = runtime.providers.on_change, local.status

    def listener(task_id: str) -> None:  # the provider's own report; the MP4 is in place once it says so
        if (work_dir / task_id / "video.mp4").is_file():
            finished.setdefault(task_id, time.monotonic())
        poke(task_id)

    async def counted_status(task_id: str):
        nonlocal checks
        checks += 1
        return await status(task_id)

    runtime.providers.on_change = listener
    local.status = counted_status
    c = await server.connect("push")
    wid = await shot(server, c)
    await c.request({"type": "workspace.update", "workspace_id": wid, "updates": {"form_data": {"duration_s": 4}}})
    started = time.monotonic()
    reply = await c.request({"type": "video.generate", "workspace_id": wid})
    assert reply["type"] == "video.status_update", reply
    seen = await until_status(c, wid, {"completed", "failed"}, timeout=25)
    arrived = time.monotonic()
    final = seen[-1]
    assert final["status"] == "completed", seen
    (task_id,) = finished
    lag = arrived - finished[task_id]
    render_s = arrived - started
    steps = sorted({v["progress"] for v in seen if v["status"] == "generating"})
    print(
        f"\nlocal render {render_s:.2f} s; progress pushed {steps}; render done -> completed event {lag * 1000:.0f} ms"
    )
    assert lag < 1.5
    # generating states only come from pushes (no cycle saw the task); how many depends on the machine's speed (a
    # faster render reports fewer times): at least one, in order, below 100
    assert len(steps) >= 1 and all(0 <= p < 100 for p in steps), seen
    assert [v["progress"] for v in seen] == sorted(v["progress"] for v in seen)
    assert checks <= 4 * render_s + 3, (checks, render_s)  # the throttle, whatever the renderer reports
    assert runtime.poller.last_cycle["tasks"] == 0  # no cycle ever looked at this task
