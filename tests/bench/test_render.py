"""``render``: how long the offline renderer takes for a 5 s 720p (16:9) clip, per camera movement."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from PIL import Image, ImageDraw

from providers import ImageInput, ProviderConfig, VideoJob
from providers.video.local import LocalProvider
from tests.bench.harness import table

MOVES = os.environ.get("BENCH_MOVES", "push_in,pan_left,handheld").split(",")


async def test_render(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    img = Image.new("RGB", (1600, 1000), (30, 60, 120))
    draw = ImageDraw.Draw(img)
    for x in range(0, 1600, 100):
        draw.line([(x, 0), (x, 1000)], fill=(250, 200, 0), width=6)
    img.save(picture)
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "render"), None)
    rows = []
    for move in MOVES:
        started = time.perf_counter()
        task = await provider.submit(
            VideoJob(
                image=ImageInput(picture.read_bytes(), "image/png", None, picture),
                prompt="x",
                duration_s=5,
                aspect_ratio="16:9",
                camera_movement=move,
                lighting="golden_hour",
            )
        )
        while (status := await provider.status(task.task_id)).status not in ("completed", "failed"):
            await asyncio.sleep(0.05)
        assert status.status == "completed", status.error
        rows.append(
            (f"5 s 1280x720 {move}", f"{time.perf_counter() - started:.2f} s wall clock (one render at a time)")
        )
    table(f"render: local ffmpeg provider (machine: {os.cpu_count()} cores)", rows)
