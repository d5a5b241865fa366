"""The ffmpeg commands of a film (pure), the measuring command and its parser (pure), and the runner: an asyncio
subprocess whose ``-progress pipe:1`` output becomes progress, killed (and waited for) when the render fails or
is cancelled.

A film of a few shots is ONE command: all its pictures and its sound in one ``filter_complex`` (app/film/graph.py),
encoded once. A longer one is drawn in passes of a few shots each (ffmpeg decodes every input of a command at once,
so memory grows with them), its sound in one more, then the passes are joined and muxed without re-encoding
(concat demuxer, stream copy). Either way: H.264 (libx264, yuv420p) + AAC in MP4 with ``+faststart``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.film.graph import RATE, Graph, pictures, sound
from app.film.model import RenderFailed
from app.film.plan import Chunk, FilmPlan, whole_film

PRESET, CRF = "veryfast", "23"
PROBE_TIMEOUT_S = 60.0
QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error", "-y")
AUDIO = ("-c:a", "aac", "-b:a", "160k", "-ar", str(RATE), "-ac", "2")


def _video(plan: FilmPlan) -> list[str]:
    """libx264, yuv420p in limited range: ffmpeg converts full-range inputs to it (a JPEG still would otherwise
    make the film yuvj420p, which browsers show with wrong levels). The colour matrix is left as the clips have it
    (stills are made BT.709 once, app/film/still.py): forcing it on every frame cost a third more CPU."""
    codec = ["-c:v", "libx264", "-preset", PRESET, "-crf", CRF, "-pix_fmt", "yuv420p", "-color_range", "tv"]
    return [*codec, "-r", str(plan.fps)]


def _out(output: Path, *, faststart: bool) -> list[str]:
    fast = ["-movflags", "+faststart"] if faststart else []
    return [*fast, "-progress", "pipe:1", "-nostats", "-f", "mp4", str(output)]


def film_args(
    plan: FilmPlan, output: Path, *, ffmpeg: str, srt_name: str | None = None, chunk: Chunk | None = None
) -> list[str]:
    """The command that renders ``plan`` into ``output`` (MP4); with ``chunk``, only that pass's pictures (no
    sound, no faststart: a part to be joined). ``srt_name``: burn these subtitles in (a plain file name in
    ffmpeg's working directory, so no path needs escaping inside the filter graph)."""
    graph = Graph()
    picture, clips = pictures(plan, chunk or whole_film(plan), graph, srt_name)
    if chunk is not None:
        maps = ["-map", f"[{picture}]", "-an"]
    else:
        maps = ["-map", f"[{picture}]", "-map", f"[{sound(plan, graph, clips)}]", *AUDIO]
    return [
        *(ffmpeg, *QUIET, *graph.inputs, "-filter_complex", graph.script, *maps),
        *_video(plan),
        *_out(output, faststart=chunk is None),
    ]


def sound_args(plan: FilmPlan, output: Path, *, ffmpeg: str) -> list[str]:
    """The command that renders only the film's sound (AAC in MP4), for a film drawn in passes."""
    graph = Graph()
    label = sound(plan, graph)
    maps = ["-map", f"[{label}]", *AUDIO]
    return [ffmpeg, *QUIET, *graph.inputs, "-filter_complex", graph.script, *maps, *_out(output, faststart=False)]


def concat_list(parts: Sequence[str]) -> str:
    """The concat demuxer's list of the passes (plain names next to the list: nothing to escape)."""
    return "".join(f"file '{name}'\n" for name in parts)


def mux_args(list_name: str, audio: Path, output: Path, *, ffmpeg: str) -> list[str]:
    """The command that joins the passes (listed in ``list_name``) and the sound into the film, copying both."""
    return [
        *(ffmpeg, *QUIET, "-f", "concat", "-safe", "0", "-i", list_name, "-i", str(audio)),
        *("-map", "0:v:0", "-map", "1:a:0", "-c", "copy"),
        *_out(output, faststart=True),
    ]


# measuring ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """What ffmpeg says of a file: its streams' kinds and its length in seconds (None when unknown)."""

    video: bool
    audio: bool
    duration_s: float | None


_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (.*)$", re.MULTILINE)
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_OUT_TIME = re.compile(r"^out_time_us=(\d+)\s*$", re.MULTILINE)


def probe_args(ffmpeg: str, path: Path, stream: str) -> list[str]:
    """Copy the first ``stream`` ("v" or "a") to nowhere: no decoding, and the last ``out_time_us`` is its
    length from its packets (exact even where a header only estimates, as for VBR MP3)."""
    return [
        *(ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", f"0:{stream}:0", "-c", "copy"),
        *("-f", "null", "-progress", "pipe:1", "-nostats", "-"),
    ]


def parse_probe(stderr: str, stdout: str = "", stream: str = "a") -> Probe:
    """A video's length is its container's (the copied packets' clock lags by the B-frame delay, a frame or two);
    an audio's is its packets' (a header may only estimate it, as for VBR MP3). Each falls back on the other."""
    streams = _STREAM.findall(stderr)
    video = any(kind == "Video" and "(attached pic)" not in rest for kind, rest in streams)
    audio = any(kind == "Audio" for kind, _ in streams)
    times = [int(v) for v in _OUT_TIME.findall(stdout)]
    packets = times[-1] / 1e6 if times and times[-1] > 0 else None
    header = None
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        header = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    duration = (header or packets) if stream == "v" else (packets or header)
    return Probe(video=video, audio=audio, duration_s=duration)


async def probe(ffmpeg: str, path: Path, stream: str) -> Probe | None:
    """The file's streams and the length of its first ``stream``; None when ffmpeg cannot read it that way."""
    ran = await run_captured(probe_args(ffmpeg, path, stream), PROBE_TIMEOUT_S)
    if ran is None or ran[0] != 0:  # None: a pipe or a device, not a file: of no use
        return None
    return parse_probe(ran[2], ran[1], stream)


# running -----------------------------------------------------------------------------------------------------


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def run_captured(args: Sequence[str], timeout: float) -> tuple[int, str, str] | None:
    """Run ``args`` (stdin closed) without blocking the loop: (exit code, stdout, stderr), or None when it took
    longer than ``timeout``; killed and waited for on a timeout or a cancellation."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        return None
    finally:
        await _kill(proc)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def temp_copy(data: bytes, prefix: str, suffix: str) -> Path:
    """``data`` in a new temporary file for ffmpeg to read (the caller removes it). Blocking: call it in a
    thread."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def progress_times(line: str) -> float | None:
    """Seconds of film written, from one line of ``-progress`` output (None for the other lines)."""
    key, _, value = line.strip().partition("=")
    if key == "out_time_us" and value.isdigit():
        return int(value) / 1e6
    return None


async def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
    cwd: Path | None = None,
) -> None:
    """Run one ffmpeg command to its end. ``on_progress`` gets the fraction done (0..1, never decreasing). On a
    failure or a cancellation ffmpeg is killed and waited for, and the error re-raised; a non-zero exit is
    ``RenderFailed`` with the end of what ffmpeg said."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    tail: deque[str] = deque(maxlen=8)

    async def read_errors() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            tail.append(raw.decode(errors="replace").rstrip())

    errors = asyncio.create_task(read_errors())
    try:
        assert proc.stdout is not None
        done = 0.0
        async for raw in proc.stdout:
            seconds = progress_times(raw.decode(errors="replace"))
            if seconds is not None and on_progress is not None and duration_s > 0:
                fraction = min(1.0, seconds / duration_s)
                if fraction > done:
                    done = fraction
                    await on_progress(fraction)
        code = await proc.wait()
        await errors
    finally:
        await _kill(proc)
        errors.cancel()  # done already, unless we are leaving early
        await asyncio.gather(errors, return_exceptions=True)
    if code != 0:
        raise RenderFailed(f"ffmpeg exited with {code}", " | ".join(line for line in tail if line)[-800:])


# strays ------------------------------------------------------------------------------------------------------

PROC = Path("/proc")


def _inside(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f + os.sep) for f in folders)


def kill_strays(folders: Sequence[Path]) -> int:
    """SIGKILL every process of this user working in one of ``folders`` (its working directory or an argument
    inside one): the ffmpeg of a render whose process died (SIGKILL, a crash) goes on rendering as an orphan, since
    nothing kills a child when its parent dies. Linux (/proc) only; elsewhere nothing is found. Blocking: call it
    in a thread. Returns how many processes were killed."""
    names = sorted({str(f) for f in folders} | {os.path.realpath(f) for f in folders})
    if not names or not PROC.is_dir():
        return 0
    killed = 0
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if _inside(cwd, names) or any(_inside(arg, names) for arg in argv):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed
