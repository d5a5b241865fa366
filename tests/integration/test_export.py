"""The ``export`` kind offline (PROTOCOL.md 8.3): painted keyframes and a spoken narration become one MP4 whose
length is the shots' minus the crossfade, with video and audio streams, an SRT whose cue sits inside the film, and
an OTIO file with one clip per shot; an empty timeline fails with invalid_message; a second export while one runs
is a conflict."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from tests.integration.test_jobs import finished
from tests.integration.test_keyframe_narration import job
from tests.support import LiveServer

pytestmark = pytest.mark.slow


def probe(path: Path) -> tuple[float, str]:
    """(duration in seconds, the stream lines) from ffmpeg's own description of the file."""
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    text = out.stderr.decode()
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text).groups()  # type: ignore[union-attr]
    return int(h) * 3600 + int(m) * 60 + float(s), "\n".join(line for line in text.splitlines() if "Stream #" in line)


async def test_a_timeline_becomes_one_film_with_subtitles_and_an_otio(server: LiveServer, tmp_path: Path) -> None:
    a = await server.connect("film")
    empty = await a.request({"type": "job.start", "kind": "export"})
    failed = await finished(a, empty["job"]["id"], timeout=30)
    assert failed["job"]["status"] == "failed" and failed["job"]["error"]["code"] == "invalid_message"
    one = await a.create(title="Sea", form_data={"prompt": "the sea at dusk", "duration_s": 3,
                                                  "narration": "The sun sets over the sea."})  # fmt: skip
    two = await a.create(title="City", form_data={"prompt": "a city at night", "duration_s": 3, "lighting": "night"})
    for shot in (one, two):
        done = await finished(a, (await job(a, "keyframe", shot["id"]))["id"], timeout=30)
        assert done["job"]["status"] == "completed", done
    spoken = await finished(a, (await job(a, "narration", one["id"]))["id"], timeout=60)
    assert spoken["job"]["status"] == "completed", spoken
    started = await a.request({"type": "job.start", "kind": "export", "params": {"transition": "crossfade"}})
    again = await a.request({"type": "job.start", "kind": "export"})
    assert again["type"] == "error" and again["code"] == "conflict"
    done = await finished(a, started["job"]["id"], timeout=120)
    assert done["job"]["status"] == "completed", done
    result = done["job"]["result"]
    assert result["shots"] == 2 and abs(result["duration_s"] - 5.5) <= 0.3
    files = {}
    async with server.http() as http:
        for key in ("url", "srt_url", "otio_url"):
            response = await http.get(result[key])
            assert response.status_code == 200, key
            files[key] = tmp_path / Path(result[key]).name
            files[key].write_bytes(response.content)
    assert files["url"].stat().st_size == result["size_bytes"]
    duration, streams = probe(files["url"])
    assert abs(duration - 5.5) <= 0.3
    assert "Video: h264" in streams and "yuv420p" in streams and "1280x720" in streams and "Audio: aac" in streams
    cues = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", files["srt_url"].read_text())
    assert len(cues) == 1
    end = int(cues[0][4]) * 3600 + int(cues[0][5]) * 60 + int(cues[0][6]) + int(cues[0][7]) / 1000
    assert 0.5 < end <= duration + 0.05 and "The sun sets over the sea." in files["srt_url"].read_text()
    timeline = otio.adapters.read_from_file(str(files["otio_url"]))
    clips = [item for item in timeline.video_tracks()[0] if isinstance(item, otio.schema.Clip)]
    assert [c.name for c in clips] == ["Sea", "City"]
