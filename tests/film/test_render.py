"""Real renders of small films with the bundled ffmpeg, read back by decoding: lengths, streams, sound levels,
pixels, subtitles, the OTIO file, cancellation and progress."""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from app.film import (
    BadMedia,
    ExportOptions,
    FilmShot,
    NothingToExport,
    RenderFailed,
    render_film,
)
from tests.film.conftest import FFMPEG, Media, band, frame, rms, samples, streams

SMALL = {"width": 320, "height": 180}


def names(folder: Path) -> list[str]:
    """What is in ``folder`` (nothing when it was never made)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def options(**kwargs: Any) -> ExportOptions:
    return ExportOptions(**(SMALL | kwargs))


def shot(title: str, seconds: float = 1.0, **kwargs: Any) -> FilmShot:
    return FilmShot(title=title, duration_s=seconds, **kwargs)


@pytest.mark.parametrize(("transition", "overlap"), [("cut", 0.0), ("crossfade", 0.5), ("fade", 0.5)])
async def test_length_streams_and_files(media: Media, tmp_path: Path, transition: str, overlap: float) -> None:
    """Three clips of 1.5, 2 and 1.5 s make a film of 5 s less one overlap per transition, H.264 yuv420p + AAC at
    the film's size, and out_dir holds just the film, its SRT and its OTIO under their names."""
    clips = [media.clip(seconds=1.5), media.clip(seconds=2.0), media.clip(seconds=1.5)]
    shots = [shot(f"s{k}", video=c, narration=media.tone(), narration_text="hi") for k, c in enumerate(clips)]
    film = await render_film(shots, options(transition=transition), tmp_path, "film")
    info = streams(film.video)
    assert abs(info.duration - (5.0 - 2 * overlap)) <= 0.3, info
    assert abs(film.duration_s - (5.0 - 2 * overlap)) <= 0.05
    assert (info.video, info.pix_fmt, info.size, info.audio) == ("h264", "yuv420p", (320, 180), "aac")
    assert film.shots == 3 and film.size_bytes == film.video.stat().st_size
    assert names(tmp_path) == ["film.mp4", "film.otio", "film.srt"]


async def test_narration_is_heard_in_its_shot_and_nothing_elsewhere(media: Media, tmp_path: Path) -> None:
    """A 1 s narration on the second of two 1.5 s clips (no music, no clip sound) is loud from 1.5 s to 2.5 s;
    the first clip and the tail after the narration are near silent."""
    shots = [shot("a", video=media.clip()), shot("b", video=media.clip(), narration=media.tone())]
    film = await render_film(shots, options(), tmp_path, "film")
    sound = samples(film.video)
    assert rms(sound, 1.6, 2.4) > 0.1
    assert rms(sound, 0.1, 1.4) < 0.002 and rms(sound, 2.6, 2.95) < 0.002


async def test_music_is_ducked_under_narration_and_fades_out(media: Media, tmp_path: Path) -> None:
    """The music (220 Hz) is at least twice as strong where no one speaks as under the narration (1000 Hz), and
    has faded out by the film's last moments."""
    clips = [media.clip(seconds=2.0), media.clip(seconds=2.0), media.clip(seconds=2.0)]
    shots = [shot("a", video=clips[0]), shot("b", video=clips[1], narration=media.tone(1.5)), shot("c", video=clips[2])]
    music = media.tone(8.0, freq=220, rate=44_100, channels=2)
    film = await render_film(shots, options(music=music, music_volume=0.5), tmp_path, "film")
    sound = samples(film.video)
    alone, under = band(sound, 0.5, 1.5, 220), band(sound, 2.5, 3.3, 220)
    assert band(sound, 2.5, 3.3, 1000) > 0.05  # the voice is there
    assert alone > 0.03 and alone > 2 * under, (alone, under)
    assert band(sound, 5.85, 5.98, 220) < 0.25 * alone


async def test_clip_sound_is_kept_quietly_or_dropped(media: Media, tmp_path: Path) -> None:
    """A clip's own 330 Hz sound plays at clip_audio (0.25 by default: quieter than the source) and not at 0."""
    clip = media.clip(audio=True)
    kept = await render_film([shot("a", video=clip)], options(), tmp_path, "kept")
    dropped = await render_film([shot("a", video=clip)], options(clip_audio=0), tmp_path, "dropped")
    source = rms(samples(clip), 0.2, 1.2)
    level = rms(samples(kept.video), 0.2, 1.2)
    assert 0.15 * source < level < 0.4 * source, (level, source)
    assert rms(samples(dropped.video), 0.2, 1.2) < 0.001


async def test_mixed_aspect_ratios_are_padded_never_stretched(media: Media, tmp_path: Path) -> None:
    """A 9:16 orange clip in a 720p 16:9 film is pillarboxed: black border columns, orange centre; a 16:9 clip in
    a 9:16 film is letterboxed: black rows above and below."""
    tall = media.clip(180, 320, 1.0, color="0xFF8000")
    wide = await render_film([shot("t", video=tall)], ExportOptions(), tmp_path, "wide")
    assert streams(wide.video).size == (1280, 720)
    picture = frame(wide.video, 0.5).astype(int)
    assert picture[:, :400].max() < 24 and picture[:, 880:].max() < 24  # the bars: 1280 - 404 = 876 px in all
    centre = picture[200:520, 500:780].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 220 and 100 < centre[1] < 160 and centre[2] < 40, centre
    flat = media.clip(320, 180, 1.0, color="0x00FF00")
    high = await render_film([shot("w", video=flat)], ExportOptions(width=180, height=320), tmp_path, "high")
    rows = frame(high.video, 0.5).astype(int)
    assert rows[:100].max() < 24 and rows[-100:].max() < 24 and rows[160, 90, 1] > 200


async def test_missing_video_becomes_its_moving_picture_or_is_skipped(media: Media, tmp_path: Path) -> None:
    """A shot whose video file is missing plays its picture for its duration_s, zooming (push_in); with
    missing=skip it is left out."""
    gone = tmp_path / "nowhere.mp4"
    shots = [
        shot("clip", video=media.clip()),
        shot("still", 2.0, video=gone, picture=media.picture(fmt="jpg"), camera_movement="push_in"),
    ]
    still = await render_film(shots, options(), tmp_path / "still", "film")
    assert abs(streams(still.video).duration - 3.5) <= 0.3 and still.shots == 2
    assert streams(still.video).pix_fmt == "yuv420p"  # a JPEG's full range is converted, not passed on (yuvj420p)
    first, last = frame(still.video, 1.55).astype(int), frame(still.video, 3.4).astype(int)
    assert np.abs(first - last).mean() > 10  # the camera moved
    skipped = await render_film(shots, options(missing="skip"), tmp_path / "skip", "film")
    assert abs(streams(skipped.video).duration - 1.5) <= 0.3 and skipped.shots == 1


async def test_shot_with_nothing_is_left_out(media: Media, tmp_path: Path) -> None:
    """A shot with neither video nor picture (and a narration of its own) adds nothing to the film."""
    shots = [shot("empty", 3.0, narration=media.tone()), shot("clip", video=media.clip())]
    film = await render_film(shots, options(), tmp_path, "film")
    assert film.shots == 1 and abs(streams(film.video).duration - 1.5) <= 0.3
    assert rms(samples(film.video), 0.1, 1.4) < 0.002  # the left-out shot's narration is not heard


@pytest.mark.parametrize("missing", ["still", "skip"])
async def test_nothing_usable_is_nothing_to_export(media: Media, tmp_path: Path, missing: str) -> None:
    """No video and no usable picture (missing, not a picture, or skipped) raises NothingToExport, writing nothing."""
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    shots = [shot("a"), shot("b", video=tmp_path / "gone.mp4", picture=junk)]
    if missing == "skip":
        shots.append(shot("c", picture=media.picture()))
    out = tmp_path / "out"
    with pytest.raises(NothingToExport):
        await render_film(shots, options(missing=missing), out, "film")
    assert names(out) == []


async def test_unreadable_music_is_bad_media(media: Media, tmp_path: Path) -> None:
    """Music that is no audio is refused before anything is rendered."""
    with pytest.raises(BadMedia):
        await render_film([shot("a", video=media.clip())], options(music=media.picture()), tmp_path, "film")
    assert names(tmp_path) == []


async def test_srt_cues_start_with_their_clips(media: Media, tmp_path: Path) -> None:
    """With crossfades, the cues of shots 1 and 3 start at 0 and at 1.5 + 2 - 2 x 0.5 = 2.5 s, last the
    narration's 1 s, are ordered and inside the film."""
    shots = [
        shot("a", video=media.clip(), narration=media.tone(), narration_text="First line."),
        shot("b", video=media.clip(seconds=2.0)),
        shot("c", video=media.clip(), narration=media.tone(), narration_text="Third\n\nline."),
    ]
    film = await render_film(shots, options(transition="crossfade"), tmp_path, "film")
    assert film.srt is not None
    blocks = film.srt.read_text().strip().split("\n\n")
    cues = []
    for block in blocks:
        number, times, text = block.split("\n")
        start, end = (
            sum(float(x) * f for x, f in zip(t.replace(",", ".").split(":"), (3600, 60, 1), strict=True))
            for t in times.split(" --> ")
        )
        cues.append((int(number), start, end, text))
    assert [c[0] for c in cues] == [1, 2] and [c[3] for c in cues] == ["First line.", "Third line."]
    assert abs(cues[0][1] - 0.0) <= 0.1 and abs(cues[1][1] - 2.5) <= 0.1
    assert all(abs((end - start) - 1.0) <= 0.1 and end <= film.duration_s for _, start, end, _ in cues)
    assert cues[0][2] <= cues[1][1]


async def test_burned_subtitles_are_drawn_and_leave_no_sidecar(media: Media, tmp_path: Path) -> None:
    """subtitles=burned draws the cue (white text at the bottom of a blue picture) and writes no .srt; the same
    film with subtitles=none has no such pixels; the default with narration is an SRT sidecar."""
    blue = media.clip(320, 180, 1.5, color="0x0000C0")
    shots = [shot("a", video=blue, narration=media.tone(), narration_text="HELLO WORLD HELLO")]
    burned = await render_film(shots, options(subtitles="burned", width=640, height=360), tmp_path / "b", "film")
    plain = await render_film(shots, options(subtitles="none", width=640, height=360), tmp_path / "p", "film")
    default = await render_film(shots, options(), tmp_path / "d", "film")
    assert burned.srt is None and plain.srt is None and default.srt is not None
    assert names(tmp_path / "b") == ["film.mp4", "film.otio"]
    bottom = frame(burned.video, 0.5)[240:, :, :].astype(int)
    assert (bottom.min(axis=2) > 200).sum() > 100  # white text on blue
    assert (frame(plain.video, 0.5)[240:, :, :].astype(int).min(axis=2) > 200).sum() == 0
    silent = await render_film(shots, options(narration=False), tmp_path / "n", "film")
    assert silent.srt is None and rms(samples(silent.video), 0.1, 0.9) < 0.002


@pytest.mark.parametrize(("transition", "kind"), [("crossfade", "SMPTE_Dissolve"), ("fade", "Custom_Transition")])
async def test_otio_reads_back_with_clips_in_order(media: Media, tmp_path: Path, transition: str, kind: str) -> None:
    """The OTIO file parses with opentimelineio: one clip per shot in order on the video track, each pointing at
    its media, a transition between each pair, the track as long as the film, the narration on an audio track."""
    shots = [
        shot("one", video=media.clip(), media_url="/media/one.mp4", narration=media.tone(), narration_url="/m/n.wav"),
        shot("two", 1.0, picture=media.picture(), camera_movement="pan_left"),
        shot("three", video=media.clip(seconds=2.0)),
    ]
    film = await render_film(shots, options(transition=transition), tmp_path, "film")
    timeline = otio.adapters.read_from_file(str(film.otio))
    video = timeline.video_tracks()
    assert len(video) == 1
    clips = list(video[0].find_clips())
    assert [c.name for c in clips] == ["one", "two", "three"]
    assert clips[0].media_reference.target_url == "/media/one.mp4"
    assert clips[1].media_reference.target_url == media.picture().resolve().as_uri()
    transitions = [t for t in video[0] if isinstance(t, otio.schema.Transition)]
    assert len(transitions) == 2 and all(t.transition_type == kind for t in transitions)
    assert abs(video[0].duration().to_seconds() - film.duration_s) < 1e-6
    narration = timeline.audio_tracks()[0]
    voiced = list(narration.find_clips())
    assert len(voiced) == 1 and voiced[0].media_reference.target_url == "/m/n.wav"


def children_running(parent: int, marker: str) -> list[int]:
    """Processes whose parent is ``parent`` and whose command line mentions ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == parent and marker in cmdline:
            found.append(int(entry.name))
    return found


async def test_cancel_kills_ffmpeg_and_leaves_nothing(media: Media, tmp_path: Path) -> None:
    """Cancelled once rendering reports progress, the render's ffmpeg process is gone (no such pid) and out_dir
    is empty."""
    out = tmp_path / "out"
    shots = [shot("long", 60.0, picture=media.picture(), camera_movement="push_in")]
    rendering = asyncio.Event()

    def seen(fraction: float, stage: str) -> None:
        if 0.05 < fraction < 1:
            rendering.set()

    task = asyncio.create_task(render_film(shots, ExportOptions(width=640, height=360), out, "film", progress=seen))
    await asyncio.wait_for(rendering.wait(), 30)
    pids = children_running(os.getpid(), str(out))
    assert len(pids) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
    assert names(out) == []


async def test_progress_rises_to_one(media: Media, tmp_path: Path) -> None:
    """The progress callback (here a coroutine) gets strictly rising fractions from 0 to 1.0, shot stages
    among them."""
    seen: list[tuple[float, str]] = []

    async def record(fraction: float, stage: str) -> None:
        seen.append((fraction, stage))

    shots = [shot("a", 3.0, picture=media.picture()), shot("b", video=media.clip())]
    await render_film(shots, options(), tmp_path, "film", progress=record)
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) >= 4
    assert all(a < b for a, b in itertools.pairwise(fractions))
    assert any(stage.startswith("rendering shot 1 of 2") for _, stage in seen)


async def test_ffmpeg_failure_is_render_failed_and_cleans_up(media: Media, tmp_path: Path) -> None:
    """When the render itself fails (an ffmpeg that measures but cannot render), RenderFailed carries ffmpeg's
    words and no file is left in out_dir."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        f'#!/bin/sh\ncase "$*" in *filter_complex*) echo "boom: no encoder" >&2; exit 3;; esac\nexec {FFMPEG} "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "out"
    with pytest.raises(RenderFailed, match="boom: no encoder"):
        await render_film([shot("a", video=media.clip())], options(), out, "film", ffmpeg=str(fake))
    assert names(out) == []


async def test_a_film_drawn_in_passes_matches_one_drawn_at_once(media: Media, tmp_path: Path) -> None:
    """Five shots (stills among them, crossfades, narration, burned subtitles) drawn two at a time give the same
    film as one ffmpeg run: the same length, the same pictures on both sides of every join, the same sound, and
    nothing left but the film's files."""
    clip = media.clip(seconds=1.5)
    shots = [
        shot("a", video=clip),
        shot("b", 1.5, picture=media.picture(), camera_movement="pan_right"),
        shot("c", video=clip, narration=media.tone(), narration_text="HELLO THERE"),
        shot("d", video=media.clip(seconds=2.0, audio=True)),
        shot("e", 1.5, picture=media.picture(300, 400, "jpg"), camera_movement="push_in"),
    ]
    chosen = options(transition="crossfade", subtitles="burned", width=640, height=360, music=media.tone(9.0, 220))
    seen: list[float] = []
    once = await render_film(shots, chosen, tmp_path / "once", "film")
    parts = await render_film(
        shots, chosen, tmp_path / "parts", "film", shots_per_pass=2, progress=lambda f, _: seen.append(f)
    )
    assert parts.duration_s == once.duration_s == 6.0
    assert abs(streams(parts.video).duration - 6.0) <= 0.1
    for t in (0.2, 1.1, 1.3, 1.9, 2.4, 3.2, 3.9, 4.6, 5.2, 5.9):
        a, b = frame(once.video, t).astype(int), frame(parts.video, t).astype(int)
        assert np.abs(a - b).mean() < 3 and np.abs(a[270:] - b[270:]).mean() < 4, t
    sound_once, sound_parts = samples(once.video), samples(parts.video)
    for start in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0):
        assert abs(rms(sound_once, start, start + 0.9) - rms(sound_parts, start, start + 0.9)) < 0.01, start
    assert seen == sorted(set(seen)) and seen[-1] == 1.0
    assert names(tmp_path / "parts") == ["film.mp4", "film.otio"]
