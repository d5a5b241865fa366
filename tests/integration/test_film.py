"""The ``film`` kind offline (PROTOCOL.md 8.3), the whole way: a story becomes shots, keyframes, videos (the local
renderer, through video.generate's machinery), narration and one exported MP4 whose length is the shots' minus the
crossfades; the steps are child jobs of the film; bad export params are refused at start."""

from __future__ import annotations

import array
import math
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import opentimelineio as otio  # type: ignore[import-untyped]
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
        srt = (await http.get(result["srt_url"])).text
        otio_text = (await http.get(result["otio_url"])).text
    kinds = sorted(j["kind"] for j in children if j["parent_id"] == film["id"])
    assert kinds == ["export", "keyframe", "keyframe", "narration", "narration", "storyboard"]
    assert all(j["status"] == "completed" for j in children)
    path = tmp_path / "film.mp4"
    path.write_bytes(response.content)
    duration, streams = probe(path)
    lengths = [float(s["form_data"]["duration_s"]) for s in shots]  # the local renderer makes clips of that length
    assert abs(duration - (sum(lengths) - 0.5)) <= 0.3, (duration, lengths)  # one crossfade of 0.5 s
    assert "Video: h264" in streams and "Audio: aac" in streams
    # the narration is heard under each shot, from the shot's start (the second starts 0.5 s early: the crossfade)
    starts = [0.0, lengths[0] - 0.5]
    assert all(_loudness(path, start + 0.2, 1.0) > 300 for start in starts), [_loudness(path, t, 1.0) for t in starts]
    cues = [_seconds(m) for m in re.findall(r"(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)", srt)]
    assert len(cues) == 2 and cues[0][0] < cues[0][1] <= cues[1][0] < cues[1][1] <= duration + 0.05, cues
    assert srt.index("The sun sets over the sea.") < srt.index("A girl walks along the beach.")
    timeline = otio.adapters.read_from_string(otio_text, "otio_json")
    clips = [item for item in timeline.video_tracks()[0] if isinstance(item, otio.schema.Clip)]
    assert [c.name for c in clips] == [s["title"] for s in shots]  # one clip per shot, in timeline order


def _seconds(pair: tuple[str, str]) -> tuple[float, float]:
    def one(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return one(pair[0]), one(pair[1])


def _loudness(path: Path, start: float, seconds: float) -> float:
    """RMS of the film's sound over [start, start + seconds] (16-bit mono PCM decoded by ffmpeg; silence is 0)."""
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", f"{start}", "-t", f"{seconds}", "-i", str(path),
         "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    samples = array.array("h", out.stdout)
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


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
