"""The offline ffmpeg renderer: filter building (pure) and real renders checked with ffprobe-like means."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw

from providers import CAMERA_MOVEMENTS, ImageInput, ProviderConfig, TaskStatus, VideoJob, VideoProvider
from providers.video import local
from providers.video._budget import RenderBudget
from providers.video._picture import HEADROOM, decoded_pixels, prepare_picture, prepared_size
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


@pytest.mark.parametrize(
    ("size", "ratio", "expected"),
    [
        ((7999, 7999), "16:9", (2560, 1440)),  # cropped to 16:9, then shrunk to twice the frame
        ((8000, 1000), "1:1", (1000, 1000)),  # a strip: the centre square, not enlarged
        ((300, 200), "16:9", (300, 169)),  # small: cropped only, never enlarged
        ((1440, 2560), "9:16", (1440, 2560)),  # exactly the bound: unchanged
    ],
)
def test_prepared_size_is_bounded_and_never_enlarged(size, ratio, expected) -> None:
    """The picture ffmpeg gets has the frame's shape, is at most HEADROOM frames in each direction, never larger
    than the original."""
    w, h = frame_size(ratio)
    got = prepared_size(size, (w, h))
    assert got == expected
    assert got[0] <= HEADROOM * w and got[1] <= HEADROOM * h and got[0] <= size[0] and got[1] <= size[1]


def test_big_jpeg_is_decoded_reduced_and_turned_upright(tmp_path) -> None:
    """An 8000x6000 JPEG is decoded at 1/4 scale (3 MP, not 48 MP) for a 720x720 frame, and one stored sideways
    (EXIF orientation 6) comes out upright, as ffmpeg itself would show it."""
    src = tmp_path / "big.jpg"
    img = Image.new("RGB", (8000, 6000), (30, 60, 120))
    ImageDraw.Draw(img).rectangle([0, 0, 8000, 1500], fill=(250, 0, 0))  # the top quarter is red
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: upright, the red band is on the right
    img.save(src, exif=exif)
    assert decoded_pixels(src, (720, 720)) == 2000 * 1500
    assert prepare_picture(src, tmp_path / "out.png", (1280, 720)) == (2560, 1440)
    with Image.open(tmp_path / "out.png") as out:
        right, left = out.getpixel((out.width - 5, out.height // 2)), out.getpixel((5, out.height // 2))
    assert right[0] > 200 and right[2] < 50 and left[2] > 100, (left, right)


def test_render_budget_bounds_pixels_as_well_as_count() -> None:
    """Renders are admitted in order while the count and the pixels they hold fit: a second big picture waits
    though a slot is free, a small one waits its turn behind it, shrinking makes room, and a picture bigger than
    the whole budget runs alone."""
    budget = RenderBudget(max_count=2, max_pixels=100)
    a, b, c = budget.enter(60), budget.enter(60), budget.enter(10)
    assert a.admitted.is_set() and not b.admitted.is_set() and not c.admitted.is_set()
    budget.shrink(a, 30)  # a's picture was prepared: 30 + 60 fit
    assert b.admitted.is_set() and not c.admitted.is_set()  # c fits the pixels, not the count
    budget.release(a)
    assert c.admitted.is_set() and budget.running == {b, c}
    budget.release(b)
    budget.release(c)
    huge, small = budget.enter(500), budget.enter(1)
    assert huge.admitted.is_set() and not small.admitted.is_set()
    gone = budget.enter(1)
    budget.release(gone)  # a waiting render cancelled: it leaves the queue
    assert list(budget.waiting) == [small]
    budget.release(huge)
    assert small.admitted.is_set() and not budget.waiting


async def test_cancelled_wait_leaves_the_queue() -> None:
    """A render cancelled while it waits for budget takes nothing and lets the next one in when room appears."""
    budget = RenderBudget(max_count=1, max_pixels=10)
    first = budget.enter(5)
    entered = asyncio.Event()

    async def wait() -> None:
        async with budget.hold(5):
            entered.set()

    waiter = asyncio.create_task(wait())
    nxt = budget.enter(5)  # behind the waiter
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not entered.is_set() and list(budget.waiting) == [nxt]
    budget.release(first)
    assert nxt.admitted.is_set()


@pytest.mark.slow
async def test_huge_picture_renders_from_a_downscaled_copy(tmp_path, monkeypatch) -> None:
    """A 6000x6000 picture renders a 1280x720 clip, and ffmpeg's input is the prepared copy (2560x1440, the
    picture's centre band), never the 36 MP original: its red top, outside the 16:9 crop, never shows."""
    src = tmp_path / "huge.png"
    img = Image.new("RGB", (6000, 6000), (30, 60, 120))
    ImageDraw.Draw(img).rectangle([0, 0, 6000, 1000], fill=(255, 0, 0))
    img.save(src, compress_level=1)
    inputs: list[Path] = []

    def spy(job: VideoJob, src: Path, dst: Path) -> list[str]:
        inputs.append(src)
        return build_args(job, src, dst)

    monkeypatch.setattr(local, "build_args", spy)
    provider = LocalProvider(ProviderConfig(name="local", base_url="", work_dir=tmp_path / "r"), None)
    task = await provider.submit(job(src, aspect_ratio="16:9", camera_movement="tilt_up"))
    final = (await until_done(provider, task.task_id))[-1]
    assert final.status == "completed", final
    assert inputs == [tmp_path / "r" / task.task_id / "source.png"]
    with Image.open(inputs[0]) as prepared:
        assert prepared.size == (2560, 1440)
        assert prepared.getpixel((1280, 5)) == (30, 60, 120)  # the crop kept the middle, not the red top
    frames, seconds, desc = probe(Path(final.video_url.removeprefix("file://")))
    assert frames == 24 and abs(seconds - 1.0) < 0.1 and desc.startswith("1280x720"), (frames, seconds, desc)
    reader = imageio_ffmpeg.read_frames(final.video_url.removeprefix("file://"))
    next(reader)
    first = next(reader)  # the first frame, rgb24 bytes
    reader.close()
    assert first[0] < 100 and first[2] > 80  # its top-left pixel: blue, the red band was cropped away


@pytest.mark.slow
async def test_render_waiting_for_pixels_stays_queued(tmp_path) -> None:
    """With two slots but pixels for one big picture, the second render reports queued while the first runs, and
    then completes too."""
    src = tmp_path / "big.png"
    Image.new("RGB", (2000, 2000), (90, 30, 30)).save(src, compress_level=1)
    config = ProviderConfig(name="local", base_url="", work_dir=tmp_path / "r")
    provider = LocalProvider(config, None, max_concurrent=2, max_pixels=5_000_000)  # 4 MP decoded each
    first, second = await provider.submit(job(src)), await provider.submit(job(src))
    pairs = []
    while True:
        pair = ((await provider.status(first.task_id)).status, (await provider.status(second.task_id)).status)
        pairs.append(pair)
        if pair[1] in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    assert pairs[-1] == ("completed", "completed")
    assert ("generating", "queued") in pairs
    assert all(b == "queued" for a, b in pairs if a == "generating"), pairs
