"""The default offline path end to end: upload a picture, fill the form, generate with the local renderer, and
get a playable MP4 of the requested length from our own /media URL."""

from __future__ import annotations

import imageio_ffmpeg
import pytest

from tests.integration.test_video import png, until_status
from tests.support import LiveServer

pytestmark = pytest.mark.slow


async def test_local_provider_end_to_end(server: LiveServer, tmp_path) -> None:
    """With no configuration the picture comes alive: a 2 s 16:9 H.264 clip, served at video.url."""
    c = await server.connect("local")
    ws = await c.create(
        title="offline",
        form_data={
            "prompt": "a red kite",
            "duration_s": 2,
            "aspect_ratio": "16:9",
            "camera_movement": "pan_left",
            "lighting": "golden_hour",
        },
    )
    async with server.http() as http:
        r = await http.post(
            "/api/upload/image", files={"image": ("k.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
        )
        assert r.status_code == 201
        r = await http.post("/api/generate/video", json={"workspace_id": ws["id"]})
        assert r.status_code == 202 and r.json()["video"]["provider"] == "local"
        seen = await until_status(c, ws["id"], {"completed", "failed"}, timeout=90)
        final = seen[-1]
        assert final["status"] == "completed", final
        assert final["url"].startswith("/media/") and final["progress"] == 100
        video = await http.get(final["url"])
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    out = tmp_path / "got.mp4"
    out.write_bytes(video.content)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    reader.close()
    assert frames == 48 and abs(seconds - 2.0) < 0.1 and tuple(meta["size"]) == (1280, 720)
    assert "h264" in meta["codec"] and "yuv420p" in meta["pix_fmt"]
