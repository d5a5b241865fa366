"""``render_film``: measure the shots' media, plan the film, write its SRT and OTIO, render it (one ffmpeg run for
up to ``SHOTS_PER_PASS`` shots; beyond, passes of pictures, one of sound and a copying join), and only then give
the files their names.

Everything is written under temporary dot-names in ``out_dir`` and renamed at the end, so a reader never sees a
half-written film; on any failure or cancellation ffmpeg is killed and waited for, the partial files are removed
and the error re-raised. Nothing blocks the event loop: ffmpeg runs as asyncio subprocesses, and file and
Pillow work runs in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import imageio_ffmpeg
from loguru import logger
from PIL import Image

from app.film.ffmpeg import Probe, concat_list, film_args, mux_args, probe, run_ffmpeg, sound_args
from app.film.model import BadMedia, ExportOptions, Film, FilmShot
from app.film.otio import otio_json
from app.film.plan import FilmPlan, Measured, chunks, plan_film
from app.film.srt import srt_text

Progress = Callable[[float, str], Awaitable[None] | None]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
PROBES_AT_ONCE = 4
SHOTS_PER_PASS = 8  # ffmpeg holds ~25 MB per 720p input, ~50 MB per 1080p one, decoding them all at once
MEASURED, PREPARED, DRAWN, SOUNDED, RENDERED = 0.03, 0.05, 0.93, 0.96, 0.98  # progress at the end of each stage
ORIENTATION, SIDEWAYS = 0x0112, (5, 6, 7, 8)  # EXIF orientations that turn a picture on its side


def picture_size(path: Path) -> tuple[int, int] | None:
    """The picture's upright size from its header (no decoding), or None when it is no picture."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            return (h, w) if img.getexif().get(ORIENTATION) in SIDEWAYS else (w, h)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _existing(paths: list[Path | None]) -> list[bool]:
    return [p is not None and p.is_file() for p in paths]


async def _measure(shots: Sequence[FilmShot], options: ExportOptions, ffmpeg: str) -> list[Measured]:
    files = await asyncio.to_thread(_existing, [p for s in shots for p in (s.video, s.picture, s.narration)])
    limit = asyncio.Semaphore(PROBES_AT_ONCE)

    async def probed(path: Path, stream: str) -> Probe | None:
        async with limit:
            return await probe(ffmpeg, path, stream)

    async def one(k: int, shot: FilmShot) -> Measured:
        has_video, has_picture, has_narration = files[3 * k : 3 * k + 3]
        clip = await probed(shot.video, "v") if has_video and shot.video else None
        usable = clip is not None and clip.video and clip.duration_s is not None and clip.duration_s > 0
        size = None
        if not usable and options.missing == "still" and has_picture and shot.picture is not None:
            size = await asyncio.to_thread(picture_size, shot.picture)
        voice = None
        if options.narration and has_narration and shot.narration is not None and (usable or size):
            voice = await probed(shot.narration, "a")
        if shot.video is not None and not usable:
            logger.info("film: shot {} has no usable video ({})", k + 1, shot.video.name)
        return Measured(
            video_s=clip.duration_s if usable and clip else None,
            video_audio=bool(usable and clip and clip.audio),
            picture=size,
            narration_s=voice.duration_s if voice is not None and voice.audio else None,
        )

    tasks = [asyncio.ensure_future(one(k, s)) for k, s in enumerate(shots)]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:  # a failure or a cancellation: no probe is left running
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _publish(moves: Sequence[tuple[Path, Path]], stale: Sequence[Path]) -> int:
    """Rename the finished files to their names (the film last) and remove ``stale`` ones of an earlier film of
    that name that this one does not have (its SRT); returns the film's size."""
    done: list[Path] = []
    try:
        size = moves[-1][0].stat().st_size
        _remove(stale)
        for tmp, final in moves:
            tmp.replace(final)
            done.append(final)
    except BaseException:
        _remove(done)
        raise
    return size


def _stage(plan: FilmPlan, seconds: float) -> str:
    starts = [s.start_frame / plan.fps for s in plan.segments]
    shot = sum(1 for start in starts if start <= seconds)
    return f"rendering shot {max(1, shot)} of {len(starts)}"


async def _draw(
    plan: FilmPlan,
    exe: str,
    output: Path,
    burn: str | None,
    per_pass: int,
    scratch: list[Path],
    report: Callable[[float, str], Awaitable[None]],
) -> None:
    """Render the film into ``output``: in one ffmpeg run, or (more shots than ``per_pass``) in passes of pictures,
    one of sound, and a join that copies them. Every file made on the way is named in ``scratch`` first."""
    folder, parts = output.parent, chunks(plan, per_pass)

    def drawing(start: float, span: float, first_s: float, length_s: float) -> Callable[[float], Awaitable[None]]:
        return lambda f: report(start + span * f, _stage(plan, first_s + f * length_s))

    def doing(start: float, span: float, what: str) -> Callable[[float], Awaitable[None]]:
        return lambda f: report(start + span * f, what)

    if len(parts) == 1:
        film = film_args(plan, output, ffmpeg=exe, srt_name=burn)
        progress = drawing(PREPARED, RENDERED - PREPARED, 0.0, plan.duration_s)
        await run_ffmpeg(film, duration_s=plan.duration_s, on_progress=progress, cwd=folder)
        return
    names = []
    for n, chunk in enumerate(parts):
        part = output.with_name(f"{output.stem}.pass{n}.mp4")
        scratch.append(part)
        names.append(part.name)
        start, span = chunk.first_frame / plan.frames, chunk.frames / plan.frames
        first_s, length_s = plan.seconds(chunk.first_frame), plan.seconds(chunk.frames)
        progress = drawing(PREPARED + (DRAWN - PREPARED) * start, (DRAWN - PREPARED) * span, first_s, length_s)
        args = film_args(plan, part, ffmpeg=exe, srt_name=burn, chunk=chunk)
        await run_ffmpeg(args, duration_s=plan.seconds(chunk.frames), on_progress=progress, cwd=folder)
    sound, listing = output.with_name(f"{output.stem}.sound.mp4"), output.with_name(f"{output.stem}.parts.txt")
    scratch += [sound, listing]
    sounding = doing(DRAWN, SOUNDED - DRAWN, "mixing the sound")
    await run_ffmpeg(sound_args(plan, sound, ffmpeg=exe), duration_s=plan.duration_s, on_progress=sounding, cwd=folder)
    await asyncio.to_thread(_write, listing, concat_list(names))
    joining = doing(SOUNDED, RENDERED - SOUNDED, "joining the parts")
    join = mux_args(listing.name, sound, output, ffmpeg=exe)
    await run_ffmpeg(join, duration_s=plan.duration_s, on_progress=joining, cwd=folder)


async def render_film(
    shots: Sequence[FilmShot],
    options: ExportOptions,
    out_dir: Path,
    name: str,
    *,
    ffmpeg: str | None = None,
    progress: Progress | None = None,
    shots_per_pass: int = SHOTS_PER_PASS,
) -> Film:
    """Render the shots, in order, into ``out_dir/name.mp4`` (+ ``name.srt`` with subtitles as a sidecar, +
    ``name.otio``). Raises NothingToExport when no shot is usable, BadMedia for unreadable music, RenderFailed
    when ffmpeg fails; ``progress(fraction, stage)`` gets fractions rising to 1.0. A film of more than
    ``shots_per_pass`` shots is drawn in passes of that many (the memory ffmpeg needs grows with its inputs)."""
    if not NAME.match(name):
        raise ValueError(f"not a plain file name: {name!r}")
    exe = ffmpeg or imageio_ffmpeg.get_ffmpeg_exe()
    out_dir = await asyncio.to_thread(out_dir.resolve)
    started, last = time.monotonic(), -1.0

    async def report(fraction: float, stage: str) -> None:
        nonlocal last
        if progress is None or fraction <= last:
            return
        last = fraction
        result = progress(fraction, stage)
        if inspect.isawaitable(result):
            await result

    await report(0.0, "measuring the shots' media")
    measured = await _measure(shots, options, exe)
    if options.music is not None:
        music = await probe(exe, options.music, "a")
        if music is None or not music.audio:
            raise BadMedia(f"the music is no audio that can be read: {options.music.name}")
    plan = plan_film(shots, measured, options)
    await report(MEASURED, f"planned {len(plan.segments)} shots, {plan.duration_s:.1f} s")

    token = secrets.token_hex(4)
    tmp = {ext: out_dir / f".{name}.{token}.part.{ext}" for ext in ("mp4", "srt", "otio")}
    scratch = list(tmp.values())
    final = {ext: out_dir / f"{name}.{ext}" for ext in ("mp4", "srt", "otio")}
    with_srt = plan.subtitles in ("srt", "burned") and bool(plan.cues)
    moves = [(tmp["otio"], final["otio"]), (tmp["mp4"], final["mp4"])]
    if with_srt and plan.subtitles == "srt":
        moves.insert(0, (tmp["srt"], final["srt"]))
    try:
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        if with_srt:
            await asyncio.to_thread(_write, tmp["srt"], srt_text(plan.cues))
        await asyncio.to_thread(_write, tmp["otio"], otio_json(plan, name, options.music_url))
        await report(PREPARED, _stage(plan, 0))
        burn = tmp["srt"].name if with_srt and plan.subtitles == "burned" else None
        await _draw(plan, exe, tmp["mp4"], burn, shots_per_pass, scratch, report)
        stale = [] if (tmp["srt"], final["srt"]) in moves else [final["srt"]]
        size = _publish(moves, stale)  # renames only, on this thread: a cancellation cannot fall between them
    finally:
        _remove(scratch)  # a few unlinks, on this thread too: none is left behind by a cancellation
    logger.info(
        "film {}: {} shots, {:.1f} s, {} bytes in {:.1f} s",
        name,
        len(plan.segments),
        plan.duration_s,
        size,
        time.monotonic() - started,
    )
    await report(1.0, "done")
    return Film(
        video=final["mp4"],
        srt=final["srt"] if (tmp["srt"], final["srt"]) in moves else None,
        otio=final["otio"],
        duration_s=plan.duration_s,
        size_bytes=size,
        shots=len(plan.segments),
    )
