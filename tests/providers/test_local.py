"""The offline ffmpeg renderer: filter building (pure) and real renders checked with ffprobe-like means."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw

from providers import CAMERA_MOVEMENTS, ImageInput, ProviderConfig, TaskStatus, VideoJob, VideoProvider
from providers.video.local import SIZES, LocalProvider, build_args, build_filter, frame_size


def picture(path: Path) -> Path:
    img = Image.new("RGB", (800, 500), (30, 60, 120))
    draw = ImageDraw.Draw(img)
    for x in range(0, 800, 50):
        draw.line([(x, 0), (x, 500)], fill=(250, 200, 0), width=4)
    draw.ellipse([300, 150, 500, 350], fill=(240, 240, 240))
    img.save(path)
    return path


def job(path: Path | None, **kwargs) -> VideoJob:
    data = path.read_bytes() if path else b"not a picture"
    values = {"prompt": "x", "duration_s": 1.0, "aspect_ratio": "1:1", "camera_movement": "push_in"} | kwargs
    return VideoJob(image=ImageInput(data, "image/png", None, path), **values)


async def until_done(provider: LocalProvider, task_id: str, timeout: float = 60) -> list[TaskStatus]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await provider.status(task_id)
        seen.append(status)
        if status.status in ("completed", "failed", "cancelled"):
            return seen
        await asyncio.sleep(0.05)
    raise TimeoutError(seen[-1])


def probe(path: Path) -> tuple[int, float, str]:
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return frames, seconds, f"{meta['size'][0]}x{meta['size'][1]} {meta.get('codec', '')} {meta.get('pix_fmt', '')}"


@pytest.mark.parametrize("movement", [*CAMERA_MOVEMENTS, None, "something_else"])
@pytest.mark.parametrize("ratio", list(SIZES))
def test_filter_for_every_movement_and_ratio(movement, ratio) -> None:
    """Every movement and aspect ratio gives a frame-exact crop of the right size and yuv420p output."""
    f = build_filter(job(None, camera_movement=movement, aspect_ratio=ratio))
    w, h = frame_size(ratio)
    assert f"crop={w}:{h}:" in f and f.endswith("format=yuv420p") and "eval=frame" in f


def test_args_are_h264_faststart_with_progress(tmp_path) -> None:
    """The command renders H.264 with faststart at 24 fps for the requested seconds and reports progress."""
    args = build_args(job(None, duration_s=3), tmp_path / "in", tmp_path / "out.mp4")
    joined = " ".join(args)
    assert "-c:v libx264" in joined and "+faststart" in joined and "-t 3 " in joined and "-progress pipe:1" in joined


def test_lighting_tints() -> None:
    """golden_hour warms the picture; unknown lighting adds no tint."""
    assert "colorbalance=rs=0.08" in build_filter(job(None, lighting="golden_hour"))
    assert "colorbalance" not in build_filter(job(None, lighting="whatever"))


@pytest.mark.slow
async def test_real_render_progress_and_resume(tmp_path) -> None:
    """A 1 s push-in renders a valid 720x720 H.264 yuv420p MP4 of 24 frames with rising progress; a new instance
    reports the finished task from disk."""
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "render"), None)
    assert isinstance(provider, VideoProvider)
    task = await provider.submit(job(picture(tmp_path / "p.png")))
    seen = await until_done(provider, task.task_id)
    assert seen[-1].status == "completed", seen[-1]
    progresses = [s.progress for s in seen if s.progress is not None]
    assert progresses == sorted(progresses) and progresses[-1] == 100
    out = Path(seen[-1].video_url.removeprefix("file://"))
    frames, seconds, desc = probe(out)
    assert frames == 24 and abs(seconds - 1.0) < 0.1 and desc.startswith("720x720"), (frames, seconds, desc)
    again = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "render"), None)
    assert (await again.status(task.task_id)).status == "completed"


@pytest.mark.slow
async def test_one_render_at_a_time_cancel_and_restart(tmp_path) -> None:
    """With max_concurrent=1 the second task waits as queued; cancel kills its render; a task whose render was cut
    off by a shutdown is rendered again by a new instance."""
    src = picture(tmp_path / "p.png")
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "r"), None)
    first = await provider.submit(job(src, duration_s=3, aspect_ratio="16:9"))
    second = await provider.submit(job(src, duration_s=1))
    await asyncio.sleep(0.2)
    assert (await provider.status(second.task_id)).status == "queued"
    assert await provider.cancel(first.task_id)
    assert (await provider.status(first.task_id)).status == "cancelled"
    await provider.aclose()  # shutdown in the middle of the second render (or before it started)
    restarted = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "r"), None)
    assert (await until_done(restarted, second.task_id))[-1].status == "completed"


@pytest.mark.slow
async def test_broken_picture_fails_with_ffmpeg_reason(tmp_path) -> None:
    """A file that is no picture ends failed with ffmpeg's reason."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture at all")
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "r"), None)
    task = await provider.submit(job(bad))
    final = (await until_done(provider, task.task_id))[-1]
    assert final.status == "failed" and final.error and "ffmpeg" in final.error


async def test_unknown_task(tmp_path) -> None:
    """A task id with no files is failed, not an exception."""
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path), None)
    assert (await provider.status("local_deadbeef")).status == "failed"
