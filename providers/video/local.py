"""The offline video provider: a real H.264 MP4 rendered from the picture with ffmpeg (from ``imageio-ffmpeg``).

The camera moves as the shot form says (push in, pull out, pans, tilts, orbits, crane, handheld) with eased,
sub-pixel-smooth motion: the picture is cover-scaled with a margin, scaled per frame for zooms and cropped per
frame for moves. ``lighting`` tints the picture a little. Progress comes from ffmpeg's ``-progress`` output.

ffmpeg decodes its input again for every frame, so it gets a copy of the picture cropped to the frame's shape and
at most ``HEADROOM`` frames wide (made by Pillow in a thread; a 64 MP picture took ~25 s and 1.3 GB a render). At
most ``max_concurrent`` renders run at once (2-core machines) and the pixels of the pictures they hold stay within
``max_pixels``; the rest report ``queued``.

Each task keeps its spec (job + picture) under ``work_dir/<task_id>/``, and the MP4 is written under a temporary
name then renamed, so a new instance (after a restart) can finish or re-render a task it never saw in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import shutil
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import imageio_ffmpeg
from PIL import Image

from providers.base import ImageInput, ProgressNotifier, ProviderConfig, ProviderTask, TaskStatus, VideoJob
from providers.errors import ProviderInvalidRequest
from providers.video._budget import RenderBudget
from providers.video._picture import HEADROOM, decoded_pixels, prepare_picture

FPS = 24
SIZES = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (720, 720),
    "4:3": (960, 720),
    "3:4": (720, 960),
    "21:9": (1680, 720),
}
MARGIN = 1.25  # the base picture is this much larger than the frame, room for pans and tilts
MAX_PIXELS = 80_000_000  # pixels held across running renders: one picture at the 64 MP upload cap, or smaller ones
TINTS = {
    "golden_hour": "colorbalance=rs=0.08:gs=0.02:bs=-0.08,eq=saturation=1.1",
    "sunset": "colorbalance=rs=0.1:gs=0.0:bs=-0.1,eq=saturation=1.15",
    "blue_hour": "colorbalance=rs=-0.06:bs=0.1,eq=brightness=-0.03",
    "night": "colorbalance=rs=-0.08:bs=0.12,eq=brightness=-0.08:saturation=0.85",
    "low_key": "eq=contrast=1.2:brightness=-0.06",
    "high_key": "eq=contrast=0.9:brightness=0.06",
    "high_contrast": "eq=contrast=1.25",
    "soft_daylight": "eq=contrast=0.95:saturation=1.05",
}


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    return SIZES.get(aspect_ratio, SIZES["16:9"])


def _ease(duration: float) -> str:
    """Smoothstep of t/D in ffmpeg's expression language (0 -> 1, gentle at both ends)."""
    p = f"min(1,max(0,t/{duration:g}))"
    return f"({p}*{p}*(3-2*{p}))"


def motion(movement: str | None, w: int, h: int, duration: float) -> tuple[str, str, str]:
    """(zoom, dx, dy) expressions of t: zoom >= 1 scales the base picture, dx/dy shift the crop window from the
    centre in pixels of the zoomed picture (positive: right/down)."""
    e = _ease(duration)
    ax = (w * MARGIN - w) / 2 * 0.9  # how far the crop may travel from the centre
    ay = (h * MARGIN - h) / 2 * 0.9
    two_pi = 2 * math.pi
    table: dict[str, tuple[str, str, str]] = {
        "static": (f"(1+0.03*{e})", "0", "0"),
        "push_in": (f"(1+0.35*{e})", "0", "0"),
        "pull_out": (f"(1.35-0.35*{e})", "0", "0"),
        "pan_left": ("1", f"({ax:.1f}-2*{ax:.1f}*{e})", "0"),
        "pan_right": ("1", f"(-{ax:.1f}+2*{ax:.1f}*{e})", "0"),
        "tilt_up": ("1", "0", f"({ay:.1f}-2*{ay:.1f}*{e})"),
        "tilt_down": ("1", "0", f"(-{ay:.1f}+2*{ay:.1f}*{e})"),
        "orbit_left": (f"(1+0.12*{e})", f"({ax:.1f}-2*{ax:.1f}*{e})", f"(-{ay * 0.3:.1f}*sin(PI*{e}))"),
        "orbit_right": (f"(1+0.12*{e})", f"(-{ax:.1f}+2*{ax:.1f}*{e})", f"(-{ay * 0.3:.1f}*sin(PI*{e}))"),
        "crane_up": (f"(1+0.15*{e})", "0", f"({ay:.1f}-2*{ay:.1f}*{e})"),
        "crane_down": (f"(1.15-0.15*{e})", "0", f"(-{ay:.1f}+2*{ay:.1f}*{e})"),
        "handheld": (
            "1.04",
            f"({ax * 0.12:.1f}*sin({two_pi * 0.37:.3f}*t)+{ax * 0.06:.1f}*sin({two_pi * 1.13:.3f}*t))",
            f"({ay * 0.12:.1f}*sin({two_pi * 0.29:.3f}*t+1)+{ay * 0.06:.1f}*sin({two_pi * 0.97:.3f}*t))",
        ),
    }
    return table.get(movement or "", table["push_in"])


def build_filter(job: VideoJob) -> str:
    w, h = frame_size(job.aspect_ratio)
    bw, bh = int(w * MARGIN) // 2 * 2, int(h * MARGIN) // 2 * 2
    zoom, dx, dy = motion(job.camera_movement, w, h, job.duration_s)
    steps = [
        f"scale={bw}:{bh}:force_original_aspect_ratio=increase",
        f"crop={bw}:{bh}",
        f"scale=w='trunc({bw}*{zoom}/2)*2':h='trunc({bh}*{zoom}/2)*2':eval=frame",
        # the crop window, clamped inside the zoomed picture
        f"crop={w}:{h}:x='max(0,min(iw-{w},(iw-{w})/2+{dx}))':y='max(0,min(ih-{h},(ih-{h})/2+{dy}))'",
    ]
    tint = TINTS.get((job.lighting or "").lower().replace(" ", "_").replace("-", "_"))
    if tint:
        steps.append(tint)
    steps += ["setsar=1", "format=yuv420p"]
    return ",".join(steps)


def build_args(job: VideoJob, src: Path, dst: Path) -> list[str]:
    read = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-loop", "1", "-framerate", str(FPS)]
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-threads", "2"]
    write = ["-movflags", "+faststart", "-r", str(FPS), "-f", "mp4", "-progress", "pipe:1", "-nostats", str(dst)]
    source = ["-t", f"{job.duration_s:g}", "-i", str(src), "-vf", build_filter(job)]
    return [imageio_ffmpeg.get_ffmpeg_exe(), *read, *source, *encode, *write]


def total_frames(job: VideoJob) -> int:
    return max(1, round(job.duration_s * FPS))


@dataclass
class _Render:
    state: str = "queued"  # queued | generating | completed | failed | cancelled
    progress: int = 0
    error: str | None = None
    task: asyncio.Task[None] | None = None
    process: asyncio.subprocess.Process | None = None


class LocalProvider:
    name = "local"
    default_base_url = ""
    default_model = "ken-burns"

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient | None = None,
        *,
        max_concurrent: int = 1,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        self.config = config
        self.work_dir = Path(config.work_dir or "render")
        self.budget = RenderBudget(max_concurrent, max_pixels)
        self._in_order = asyncio.Lock()  # FIFO: renders enter the budget in submission order
        self._renders: dict[str, _Render] = {}
        self._notify = ProgressNotifier(config.on_change)  # progress pushed as it renders (providers/base.py)

    def _dir(self, task_id: str) -> Path:
        if not task_id.startswith("local_") or not task_id[6:].isalnum():
            raise ProviderInvalidRequest(f"local: not a task of this provider: {task_id[:40]}", provider=self.name)
        return self.work_dir / task_id

    async def submit(self, job: VideoJob) -> ProviderTask:
        task_id = "local_" + secrets.token_hex(8)
        folder = self._dir(task_id)
        await asyncio.to_thread(self._save_spec, folder, job)
        self._start(task_id, job, folder)
        return ProviderTask(task_id=task_id, status="queued")

    @staticmethod
    def _save_spec(folder: Path, job: VideoJob) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        picture = folder / "picture"
        if job.image.path is not None and job.image.path.is_file():
            shutil.copyfile(job.image.path, picture)
        elif job.image.data:
            picture.write_bytes(job.image.data)
        else:
            raise ProviderInvalidRequest("local: the picture must be on this server (no remote URLs)", provider="local")
        spec = {k: v for k, v in asdict(job).items() if k != "image"}
        (folder / "job.json").write_text(json.dumps(spec))

    @staticmethod
    def _load_spec(folder: Path) -> VideoJob | None:
        try:
            spec = json.loads((folder / "job.json").read_text())
        except (OSError, ValueError):
            return None
        image = ImageInput(data=b"", content_type="image/png", path=folder / "picture")
        return VideoJob(image=image, **spec)

    def _start(self, task_id: str, job: VideoJob, folder: Path) -> _Render:
        render = _Render()
        self._renders[task_id] = render
        render.task = asyncio.create_task(self._render(render, job, folder), name=f"render:{task_id}")
        render.task.add_done_callback(lambda _: self._notify.final(task_id))
        return render

    async def _render(self, render: _Render, job: VideoJob, folder: Path) -> None:
        frame, picture = frame_size(job.aspect_ratio), folder / "picture"
        # Renders join the budget's queue in the order they were submitted: the decode before it runs in a thread,
        # and a later, smaller picture must not overtake an earlier one there.
        async with self._in_order:
            try:
                decoded = await asyncio.to_thread(decoded_pixels, picture, frame)
            except Image.DecompressionBombError as exc:  # past Pillow's limit (~179 MP): not decoded at all
                render.state, render.error = "failed", f"the picture is too large to render: {exc}"[:500]
                return
            # while it is prepared a render holds the decoded picture; then only the prepared one (<= HEADROOM^2)
            ticket = self.budget.enter(decoded or frame[0] * frame[1] * HEADROOM**2)
        try:
            await ticket.admitted.wait()
            if render.state == "cancelled":
                return
            render.state = "generating"
            source = folder / "source.png"
            try:
                width, height = await asyncio.to_thread(prepare_picture, picture, source, frame)
                self.budget.shrink(ticket, width * height)
            except (OSError, ValueError):
                source = picture  # not a picture Pillow can read: ffmpeg tries, and says why it cannot
            await self._ffmpeg(render, job, folder, source)
        finally:
            self.budget.release(ticket)

    async def _ffmpeg(self, render: _Render, job: VideoJob, folder: Path, source: Path) -> None:
        tmp, out = folder / "video.part.mp4", folder / "video.mp4"
        frames = total_frames(job)
        stderr_tail: deque[str] = deque(maxlen=5)
        try:
            proc = await asyncio.create_subprocess_exec(
                *build_args(job, source, tmp),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            render.process = proc
            assert proc.stdout is not None and proc.stderr is not None

            async def read_errors() -> None:
                assert proc.stderr is not None
                async for line in proc.stderr:
                    stderr_tail.append(line.decode(errors="replace").strip())

            errors = asyncio.create_task(read_errors())
            async for raw in proc.stdout:
                key, _, value = raw.decode(errors="replace").strip().partition("=")
                if key == "frame" and value.isdigit():
                    render.progress = min(99, int(100 * int(value) / frames))
                    self._notify(folder.name, render.progress)
            code = await proc.wait()
            await errors
        except asyncio.CancelledError:
            await self._kill(render)
            raise
        if render.state == "cancelled":
            return
        if code != 0 or not tmp.is_file():
            render.state = "failed"
            render.error = "ffmpeg failed: " + (" | ".join(stderr_tail) or f"exit code {code}")[:500]
            return
        tmp.replace(out)
        render.progress, render.state = 100, "completed"

    async def status(self, task_id: str) -> TaskStatus:
        folder = self._dir(task_id)
        render = self._renders.get(task_id)
        if render is None:  # not ours in memory: finished before a restart, or to be rendered again
            if (folder / "video.mp4").is_file():
                return TaskStatus("completed", 100, (folder / "video.mp4").resolve().as_uri(), raw_status="completed")
            job = await asyncio.to_thread(self._load_spec, folder)
            if job is None:
                return TaskStatus("failed", error="render not found (its files are gone)", raw_status="missing")
            render = self._start(task_id, job, folder)
        if render.state == "completed":
            return TaskStatus("completed", 100, (folder / "video.mp4").resolve().as_uri(), raw_status="completed")
        if render.state == "failed":
            return TaskStatus("failed", error=render.error, raw_status="failed")
        if render.state == "cancelled":
            return TaskStatus("cancelled", raw_status="cancelled")
        return TaskStatus(render.state, render.progress, raw_status=render.state)  # type: ignore[arg-type]

    async def cancel(self, task_id: str) -> bool:
        render = self._renders.get(task_id)
        if render is None:
            return False
        render.state = "cancelled"
        await self._kill(render)
        if render.task is not None:
            render.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await render.task
        return True

    @staticmethod
    async def _kill(render: _Render) -> None:
        proc = render.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def aclose(self) -> None:
        for render in list(self._renders.values()):
            if render.state in ("queued", "generating"):
                await self._kill(render)
                if render.task is not None:
                    render.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await render.task
