"""The pure half of the film renderer: frame sizes, timing, narration windows, cues, the ffmpeg command and graph,
the still's motion, the probe parser, SRT text and the OTIO timeline built from a plan."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.film import ExportOptions, FilmShot, NothingToExport, frame_size
from app.film.ffmpeg import concat_list, film_args, mux_args, parse_probe, probe_args, progress_times, sound_args
from app.film.otio import film_timeline
from app.film.plan import FilmPlan, Measured, chunks, fit, plan_film, transition_frames, whole_film
from app.film.srt import srt_text, timestamp
from app.film.still import DEFAULT_MOVE, MOVES, move_for, still_chain

CLIP = Path("/media/clip.mp4")
PIC = Path("/media/pic.png")
VOICE = Path("/media/voice.wav")


Pair = tuple[FilmShot, Measured]


def clip(seconds: float, *, narration: float | None = None, text: str | None = None, audio: bool = False) -> Pair:
    shot = FilmShot("clip", 5.0, video=CLIP, narration=VOICE if narration else None, narration_text=text)
    return shot, Measured(video_s=seconds, video_audio=audio, narration_s=narration)


def still(seconds: float, movement: str | None = "push_in", size: tuple[int, int] = (400, 300)) -> Pair:
    shot = FilmShot("still", seconds, picture=PIC, camera_movement=movement)
    return shot, Measured(picture=size)


def plan(*pairs: Pair, **options: Any) -> FilmPlan:
    return plan_film([s for s, _ in pairs], [m for _, m in pairs], ExportOptions(**options))


@pytest.mark.parametrize(
    ("resolution", "ratio", "size"),
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("720p", "1:1", (720, 720)),
        ("720p", "4:3", (960, 720)),
        ("720p", "3:4", (720, 960)),
        ("720p", "21:9", (1680, 720)),
        ("1080p", "16:9", (1920, 1080)),
        ("1080p", "9:16", (1080, 1920)),
        ("1080p", "21:9", (2520, 1080)),
        ("1080p", "4:3", (1440, 1080)),
    ],
)
def test_frame_size(resolution: str, ratio: str, size: tuple[int, int]) -> None:
    """The shorter side is 720 or 1080 and both sides are even."""
    assert frame_size(resolution, ratio) == size


@pytest.mark.parametrize(("resolution", "ratio"), [("480p", "16:9"), ("720p", "wide"), ("720p", "16:0"), ("720p", "")])
def test_frame_size_refuses_what_it_does_not_know(resolution: str, ratio: str) -> None:
    with pytest.raises(ValueError):
        frame_size(resolution, ratio)


@pytest.mark.parametrize(
    ("size", "box", "fitted"),
    [
        ((1920, 1080), (1280, 720), (1280, 720)),
        ((1080, 1920), (1280, 720), (404, 720)),
        ((400, 300), (320, 180), (240, 180)),
    ],
)
def test_fit_keeps_the_shape_with_even_sides(
    size: tuple[int, int], box: tuple[int, int], fitted: tuple[int, int]
) -> None:
    assert fit(size, box) == fitted


def test_cut_durations_add_up() -> None:
    """Cuts: each segment starts where the one before ends; a still lasts its duration_s."""
    p = plan(clip(2.0), still(1.5), clip(3.0), transition="cut")
    assert [s.start_frame for s in p.segments] == [0, 48, 84] and p.frames == 156 and p.duration_s == 6.5
    assert [s.kind for s in p.segments] == ["video", "still", "video"]


@pytest.mark.parametrize("transition", ["crossfade", "fade"])
def test_transitions_overlap_by_transition_s(transition: str) -> None:
    """Each transition overlaps two segments by transition_s, so the film is that much shorter per transition."""
    p = plan(clip(2.0), clip(2.0), clip(2.0), transition=transition, transition_s=0.5)
    assert [s.transition_in for s in p.segments] == [0, 12, 12]
    assert [s.transition_out for s in p.segments] == [12, 12, 0]
    assert [s.start_frame for s in p.segments] == [0, 36, 72] and p.duration_s == 5.0


def test_a_transition_never_overlaps_more_than_half_a_segment() -> None:
    """A 0.5 s clip between 2 s transitions is overlapped by a quarter second from each side, no more."""
    options = ExportOptions(transition="crossfade", transition_s=2.0)
    assert transition_frames(options, 12, 96) == 6 and transition_frames(options, 96, 96) == 48
    assert transition_frames(ExportOptions(transition="crossfade", transition_s=0), 96, 96) == 0
    p = plan(clip(4.0), clip(0.5), clip(4.0), transition="crossfade", transition_s=2.0)
    assert sum(s.frames for s in p.segments) - p.frames == 12


def test_shots_without_media_are_left_out_and_missing_decides_stills() -> None:
    """No video and no picture: out. A picture and no video: a still, unless missing=skip."""
    nothing = (FilmShot("none", 3.0), Measured())
    gone = (FilmShot("gone", 2.0, video=CLIP, picture=PIC), Measured(picture=(10, 10)))  # the clip did not measure
    p = plan(nothing, gone, clip(1.0))
    assert [(s.shot_index, s.kind, s.frames) for s in p.segments] == [(1, "still", 48), (2, "video", 24)]
    skipped = plan(nothing, gone, clip(1.0), missing="skip")
    assert [s.shot_index for s in skipped.segments] == [2]
    with pytest.raises(NothingToExport):
        plan(nothing, gone, missing="skip")
    with pytest.raises(NothingToExport):
        plan(nothing)


def test_narration_starts_with_its_clip_and_stops_before_the_next() -> None:
    """A narration plays from its clip's start for its length, cut where its clip ends or the next narration
    starts; its cue is exactly that window."""
    p = plan(
        clip(2.0, narration=1.0, text="  one\n two "),
        clip(2.0, narration=3.0, text="long"),  # longer than its clip; the next has a narration
        clip(2.0, narration=5.0, text="last"),  # longer than its clip, the last
        transition="crossfade",
    )
    assert [s.narration_s for s in p.segments] == [1.0, 1.5, 2.0]
    assert [(c.start_s, c.end_s, c.text) for c in p.cues] == [
        (0.0, 1.0, "one two"),
        (1.5, 3.0, "long"),
        (3.0, 5.0, "last"),
    ]
    assert p.subtitles == "srt"


def test_subtitles_default_and_narration_off() -> None:
    """The default is srt only with narration audio in the film; narration=False drops audio and cues."""
    assert plan(clip(1.0)).subtitles == "none"
    assert plan(clip(1.0, narration=1.0)).subtitles == "srt"
    off = plan(clip(1.0, narration=1.0, text="x"), narration=False)
    assert off.subtitles == "none" and off.cues == () and off.segments[0].narration is None
    assert plan(clip(1.0, narration=1.0), subtitles="burned").subtitles == "burned"
    assert plan(clip(1.0, narration=1.0)).cues == ()  # audio without text: no cue


def test_clip_audio_flags() -> None:
    assert plan(clip(1.0, audio=True)).segments[0].clip_audio
    assert not plan(clip(1.0, audio=True), clip_audio=0).segments[0].clip_audio
    assert not plan(clip(1.0)).segments[0].clip_audio


def test_options_are_checked() -> None:
    for bad in ({"width": 641}, {"fps": 0}, {"transition_s": 3}, {"music_volume": 2}, {"transition": "wipe"}):
        with pytest.raises(ValueError):
            ExportOptions(**bad)


def graph(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def test_cut_command_is_one_concat_with_silence() -> None:
    """Cuts join by one concat; no sound at all is a silent track of exactly the film's length; H.264 yuv420p +
    AAC with faststart and progress on stdout."""
    p = plan(clip(2.0), clip(1.0))
    args = film_args(p, Path("/out/f.mp4"), ffmpeg="ffmpeg")
    g = graph(args)
    assert "[v0][v1]concat=n=2:v=1:a=0[vj]" in g and "xfade" not in g
    assert f"anullsrc=channel_layout=stereo:sample_rate=48000,atrim=end_sample={3 * 48000}[aout]" in g
    joined = " ".join(args)
    for part in ("-c:v libx264", "-pix_fmt yuv420p", "-c:a aac", "-movflags +faststart", "-progress pipe:1"):
        assert part in joined
    assert args[-1] == "/out/f.mp4" and "trim=end_frame=48" in g and "setsar=1" in g and "pad=1280:720" in g


@pytest.mark.parametrize(("transition", "kind"), [("crossfade", "fade"), ("fade", "fadeblack")])
def test_transitions_are_xfade_at_exact_offsets(transition: str, kind: str) -> None:
    p = plan(clip(2.0), clip(2.0), clip(2.0), transition=transition)
    g = graph(film_args(p, Path("/o.mp4"), ffmpeg="ffmpeg"))
    assert f"[v0][v1]xfade=transition={kind}:duration=0.500000:offset=1.500000[x1]" in g
    assert f"[x1][v2]xfade=transition={kind}:duration=0.500000:offset=3.000000[x2]" in g


def test_narration_music_and_clip_sound_are_mixed_and_ducked() -> None:
    """Narrations are delayed to their clips' starts; music loops, is faded out and, with the clip sound, ducked by
    the narration."""
    p = plan(clip(2.0, audio=True), clip(2.0, narration=1.0), music=Path("/m.mp3"), transition="cut")
    args = film_args(p, Path("/o.mp4"), ffmpeg="ffmpeg")
    g = graph(args)
    assert "adelay=delays=96000S:all=1[n1]" in g and "adelay=delays=0S:all=1[c0]" in g
    assert "[bed][voice_key]sidechaincompress=" in g and "afade=t=out:st=2.000000:d=2.000000[music]" in g
    assert args[args.index("/m.mp3") - 3 : args.index("/m.mp3")] == ["-stream_loop", "-1", "-i"]


def test_burned_subtitles_use_the_subtitles_filter() -> None:
    g = graph(film_args(plan(clip(1.0)), Path("/o.mp4"), ffmpeg="ffmpeg", srt_name=".f.srt"))
    assert "subtitles=filename='.f.srt'" in g


@pytest.mark.parametrize("movement", [*MOVES, None, "dolly_zoom"])
def test_every_movement_gives_a_full_frame(movement: str | None) -> None:
    """Every camera movement ends in the film's size at its fps; zooming moves scale per frame, moving ones crop
    per frame inside the picture, static does neither; unknown movements get the default slow push."""
    p = plan(still(2.0, movement))
    chain = still_chain(p, whole_film(p).pieces[0], "0:v:0", "v0")
    move = move_for(movement)
    assert chain.startswith("[0:v:0]trim=end_frame=1,") and chain.endswith(
        "pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=24,format=yuv420p[v0]"
    )
    assert "loop=loop=47:size=1" in chain
    assert ("eval=frame" in chain) == (move.zoom[0] != move.zoom[1])
    assert ("crop=960:720:x=" in chain) == (max(move.zoom) > 1)
    if movement == "static":
        assert "eval=frame" not in chain and ":x=" not in chain
    if movement in (None, "dolly_zoom"):
        assert move is DEFAULT_MOVE


def test_probe_parser() -> None:
    """Streams and lengths from ffmpeg's header: a video's from its container, an audio's from its packets."""
    header = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 44 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x180 [SAR 1:1 DAR 16:9]
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 2 kb/s (default)"""
    video = parse_probe(header, "out_time_us=1920000\nprogress=end\n", "v")
    assert (video.video, video.audio, video.duration_s) == (True, True, 2.0)
    mp3 = """Input #0, mp3, from 'v.mp3':
  Duration: 00:01:03.50, start: 0.025057, bitrate: 32 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 24000 Hz, mono, fltp, 32 kb/s
  Stream #0:1: Video: png, rgba(pc), 500x500, 90k tbr, 90k tbn (attached pic)"""
    voice = parse_probe(mp3, "out_time_us=0\nout_time_us=61240000\n", "a")
    assert (voice.video, voice.audio, voice.duration_s) == (False, True, 61.24)
    assert parse_probe("Duration: N/A\n", "", "a").duration_s is None
    assert probe_args("ffmpeg", Path("/x.wav"), "a")[4:10] == ["/x.wav", "-map", "0:a:0", "-c", "copy", "-f"]


def test_progress_lines() -> None:
    assert progress_times("out_time_us=1500000\n") == 1.5
    assert progress_times("out_time_us=N/A") is None and progress_times("frame=12") is None


def test_srt_text() -> None:
    p = plan(clip(2.0, narration=1.25, text="Hello\n\nthere --> you"), clip(3661.0, narration=1.0, text="b"))
    assert timestamp(3723.4567) == "01:02:03,457"
    assert (
        srt_text(p.cues)
        == "1\n00:00:00,000 --> 00:00:01,250\nHello there -> you\n\n2\n00:00:02,000 --> 00:00:03,000\nb\n"
    )


def test_otio_timeline_lasts_as_long_as_the_film() -> None:
    """Clips are seen from cut to cut in the middle of each overlap; with the transitions the track is exactly the
    film's length and a still points at its picture."""
    p = plan(clip(2.0), still(1.0), clip(2.0, narration=1.0), transition="fade", transition_s=0.5)
    timeline = film_timeline(p, "film")
    track = timeline.video_tracks()[0]
    assert track.duration().value == p.frames
    ranges = [(c.source_range.start_time.value, c.source_range.duration.value) for c in track.find_clips()]
    assert ranges == [(0, 42), (6, 12), (6, 42)]
    assert [c.media_reference.target_url for c in track.find_clips()][1] == PIC.as_uri()
    assert [t.name for t in track if t.schema_name() == "Transition"] == ["fade through black"] * 2
    narration = timeline.audio_tracks()[0]
    assert [item.schema_name() for item in narration] == ["Gap", "Clip"]
    assert narration.range_of_child_at_index(1).start_time.to_seconds() == p.segments[2].start_frame / 24


@settings(max_examples=300, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 120), min_size=1, max_size=12),
    transition=st.sampled_from(["cut", "crossfade", "fade"]),
    transition_s=st.sampled_from([0.0, 0.25, 0.5, 2.0]),
    max_inputs=st.integers(2, 6),
)
def test_passes_cover_the_film_exactly(
    lengths: list[int], transition: str, transition_s: float, max_inputs: int
) -> None:
    """However the film is cut into passes: they follow each other with no gap, each holds at most max_inputs
    pieces whose joins add up to the pass's length, and every frame of every segment is drawn exactly once."""
    p = plan(*(clip(n / 24) for n in lengths), transition=transition, transition_s=transition_s)
    parts = chunks(p, max_inputs)
    assert parts[0].first_frame == 0 and sum(c.frames for c in parts) == p.frames
    drawn: dict[int, list[tuple[int, int]]] = {}
    for before, after in itertools.pairwise(parts):
        assert after.first_frame == before.first_frame + before.frames
    for c in parts:
        assert 1 <= len(c.pieces) <= max_inputs and c.pieces[0].start == 0 and c.pieces[0].fade_in == 0
        assert sum(x.last - x.first for x in c.pieces) - sum(x.fade_in for x in c.pieces) == c.frames
        for x in c.pieces:
            assert x.start == x.segment.start_frame + x.first - c.first_frame  # on the film's clock
            drawn.setdefault(x.segment.shot_index, []).append((x.first, x.last))
    for seg in p.segments:
        spans = sorted(drawn[seg.shot_index])
        assert spans[0][0] == 0 and spans[-1][1] == seg.frames
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert len(chunks(p, max(2, len(lengths)))) == 1 and whole_film(p).frames == p.frames


def test_a_pass_of_a_longer_film_draws_pictures_only() -> None:
    """A pass of a film drawn in parts has no sound and no faststart; the sound is its own command; the join copies
    the parts (listed by plain names) and the sound into the film with faststart."""
    p = plan(clip(2.0), still(2.0), clip(2.0, narration=1.0), transition="crossfade")
    _, second = chunks(p, 2)
    args = film_args(p, Path("/o/part1.mp4"), ffmpeg="ffmpeg", chunk=second, srt_name=".s.srt")
    joined = " ".join(args)
    assert "-an" in args and "aac" not in joined and "+faststart" not in joined and "-c:v libx264" in joined
    assert "loop=loop=47:size=1" in joined and "trim=start_frame=12,setpts=PTS-STARTPTS" in joined  # the still's rest
    assert "setpts=PTS+2.000000/TB,subtitles=filename='.s.srt',setpts=PTS-STARTPTS" in joined  # film-clock cues
    sound = " ".join(sound_args(p, Path("/o/s.mp4"), ffmpeg="ffmpeg"))
    assert "-c:a aac" in sound and "libx264" not in sound and "adelay=delays=144000S" in sound
    assert concat_list(["a.mp4", "b.mp4"]) == "file 'a.mp4'\nfile 'b.mp4'\n"
    mux = mux_args("list.txt", Path("/o/s.mp4"), Path("/o/f.mp4"), ffmpeg="ffmpeg")
    assert mux[mux.index("-f") : mux.index("-f") + 4] == ["-f", "concat", "-safe", "0"]
    assert "-c copy" in " ".join(mux) and "+faststart" in mux
