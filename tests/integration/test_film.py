"""The ``film`` kind offline (PROTOCOL.md 8.3), the whole way: a story becomes shots, keyframes, videos (the local
renderer, through video.generate's machinery), narration and one exported MP4 whose length is the shots' minus the
crossfades; the steps are child jobs of the film; bad export params are refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_export import probe
from tests.integration.test_jobs import finished
from tests.support import LiveServer

pytestmark = pytest.mark.slow

STORY = "The sun sets over the sea. A girl walks along the beach."


async def test_a_story_becomes_a_film(server: LiveServer, tmp_path: Path) -> None:
    a = await server.connect("whole")
    bad = await a.request({"type": "job.start", "kind": "film", "params": {"export": {"transition": "wipe"}}})
    assert bad["type"] == "error" and bad["code"] == "invalid_message" and "export" in bad["message"]
    started = await a.request(
        {"type": "job.start", "kind": "film", "params": {"story": STORY, "export": {"transition": "crossfade"}}}
    )
    film = started["job"]
    done = await finished(a, film["id"], timeout=240)
    assert done["job"]["status"] == "completed", done
    result = done["job"]["result"]
    shots = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert len(shots) == 2 and result["shots"] == 2
    assert all(s["image_path"] and s["video"]["status"] == "completed" and s["narration_audio"] for s in shots)
    async with server.http() as http:
        children = (await http.get("/api/jobs", params={"project": "whole"})).json()["jobs"]
        response = await http.get(result["url"])
    kinds = sorted(j["kind"] for j in children if j["parent_id"] == film["id"])
    assert kinds == ["export", "keyframe", "keyframe", "narration", "narration", "storyboard"]
    assert all(j["status"] == "completed" for j in children)
    path = tmp_path / "film.mp4"
    path.write_bytes(response.content)
    duration, streams = probe(path)
    clips = sum(s["form_data"]["duration_s"] for s in shots)  # the local renderer makes clips of that length
    assert abs(duration - (clips - 0.5)) <= 0.5, (duration, clips)
    assert "Video: h264" in streams and "Audio: aac" in streams
    assert result["srt_url"] and result["otio_url"]


async def test_cancelling_a_film_cancels_its_children_and_its_videos(server: LiveServer) -> None:
    a = await server.connect("stop")
    started = await a.request({"type": "job.start", "kind": "film", "params": {"story": STORY}})
    film_id = started["job"]["id"]
    await a.expect(
        lambda m: m["type"] == "video.status_update" and m["video"]["status"] in ("queued", "generating"), timeout=60
    )  # the film got as far as its videos
    cancelled = await a.request({"type": "job.cancel", "job_id": film_id})
    assert cancelled["job"]["status"] == "cancelled", cancelled
    while True:  # every video the film started is cancelled
        shots = (await a.request({"type": "workspace.list"}))["workspaces"]
        if not [s for s in shots if s["video"]["status"] in ("queued", "generating")]:
            break
        await a.expect(lambda m: m["type"] == "video.status_update", timeout=30)
    async with server.http() as http:
        jobs = (await http.get("/api/jobs", params={"project": "stop"})).json()["jobs"]
    assert all(j["status"] in ("completed", "cancelled") for j in jobs), jobs
    assert not [j for j in jobs if j["kind"] == "export"]  # it never got there
    assert [s["video"]["status"] for s in shots].count("cancelled") >= 1
    assert all(s["video"]["status"] in ("cancelled", "idle") for s in shots)  # idle: not started before the cancel
