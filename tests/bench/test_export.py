"""``export``: how long the film renderer takes for 8 shots x 5 s at 720p with crossfades and narration, as a
ratio to the film's length (goal <= 0.5), beside ffmpeg alone encoding as many seconds of a test pattern with the
same encoder settings in the same run. Also a cut film and a film of stills."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from app.film import ExportOptions, FilmShot, render_film
from app.film.ffmpeg import CRF, PRESET
from tests.bench.harness import table

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SHOTS = int(os.environ.get("BENCH_EXPORT_SHOTS", "8"))
SECONDS = 5.0


def make(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def inputs(folder: Path) -> list[FilmShot]:
    """SHOTS clips of 5 s at 1280x720 (a moving pattern, as a provider's H.264), each with a 3 s narration."""
    folder.mkdir()
    shots = []
    for k in range(SHOTS):
        clip, voice, picture = folder / f"clip{k}.mp4", folder / f"voice{k}.wav", folder / f"pic{k}.png"
        pattern = f"testsrc2=s=1280x720:r=24:d={SECONDS},hue=h={k * 40}"
        make("-f", "lavfi", "-i", pattern, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(clip))
        make("-f", "lavfi", "-i", f"sine=f={300 + 50 * k}:d=3:sample_rate=24000,volume=4", str(voice))
        make("-f", "lavfi", "-i", "testsrc2=s=1600x1000", "-frames:v", "1", str(picture))
        shots.append(
            FilmShot(f"shot {k + 1}", SECONDS, video=clip, picture=picture, narration=voice, narration_text=f"Line {k}")
        )
    return shots


def children_cpu() -> float:
    """CPU seconds used so far by this process's finished children (ffmpeg): steadier than wall clock on a busy
    machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def timed(
    shots: list[FilmShot], options: ExportOptions, out: Path, name: str, **kwargs: Any
) -> tuple[float, float, float]:
    started, cpu = time.perf_counter(), children_cpu()
    film = await render_film(shots, options, out, name, **kwargs)
    return time.perf_counter() - started, children_cpu() - cpu, film.duration_s


def baseline(seconds: float, out: Path) -> tuple[float, float, float]:
    """ffmpeg alone: the same number of 720p seconds of a test pattern through the same encoder settings."""
    started, cpu = time.perf_counter(), children_cpu()
    make(
        *("-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=24:d={seconds:.3f}"),
        *("-c:v", "libx264", "-preset", PRESET, "-crf", CRF, "-pix_fmt", "yuv420p", "-f", "mp4", str(out)),
    )
    return time.perf_counter() - started, children_cpu() - cpu, seconds


async def test_export(tmp_path: Path) -> None:
    shots = inputs(tmp_path / "in")
    out = tmp_path / "out"
    crossfade = ExportOptions(transition="crossfade")
    main = await timed(shots, crossfade, out, "crossfade")
    cut = await timed(shots, ExportOptions(transition="cut"), out, "cut")
    parts = await timed(shots, crossfade, out, "parts", shots_per_pass=3)
    stills = [FilmShot(s.title, s.duration_s, picture=s.picture, camera_movement="push_in") for s in shots]
    still = await timed(stills, crossfade, out, "stills")
    alone = baseline(main[2], tmp_path / "baseline.mp4")

    def row(wall: float, cpu: float, length: float) -> str:
        return f"ratio {wall / length:.2f}: {wall:.2f} s wall ({cpu:.1f} s cpu) for {length:.1f} s of film"

    machine = f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    table(
        f"export: {SHOTS} shots x {SECONDS:g} s, 1280x720 24 fps ({machine})",
        [
            ("crossfade + narration, one ffmpeg run (goal <= 0.5)", row(*main)),
            ("cut + narration", row(*cut)),
            ("crossfade + narration, passes of 3 shots", row(*parts)),
            ("stills (push_in) + crossfade", row(*still)),
            (f"baseline: ffmpeg alone, testsrc2 -> libx264 {PRESET}", row(*alone)),
        ],
    )
