"""The ``filter_complex`` of a film pass (pure): its pictures and its sound.

Pictures: every piece is normalised in the graph (fitted, padded black, square pixels, the film's fps, an exact
number of frames; a still moves as app/film/still.py says), then joined by ``concat`` (cuts) or a chain of
``xfade`` (``fade`` for crossfades, ``fadeblack`` through black) at offsets counted in frames.

Sound: narrations placed at their clips' starts (``adelay``, in samples) and summed over a silent track of exactly
the film's length; the music (looped, at its volume, faded out at the end) and the clips' own sound (quiet,
faded across transitions) are summed into a "bed" that ``sidechaincompress`` lowers while the narration speaks.
There is always a sound track: silence when nothing sounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.film.plan import Chunk, FilmPlan, Piece
from app.film.still import still_chain

RATE = 48_000  # the film's audio sample rate
MUSIC_FADE_S = 2.0  # the music fades out over the film's last seconds
DUCK = "threshold=0.02:ratio=8:attack=10:release=350"  # music -> about -20 dB under a voice at -20 dBFS


@dataclass
class Graph:
    """The inputs (``-i`` arguments) and the filter chains of one ffmpeg command, built up together."""

    inputs: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)

    def add_input(self, path: Path, *before: str) -> int:
        self.inputs += [*before, "-i", str(path)]
        return self.inputs.count("-i") - 1

    @property
    def script(self) -> str:
        return ";".join(self.chains)


def fit_scale(w: int, h: int) -> str:
    """Scale to fit inside w x h keeping the displayed shape (``sar`` counts: anamorphic clips come out right),
    both sides even."""
    wide = f"gt(iw*sar*{h},ih*{w})"
    return (
        f"scale=w='if({wide},{w},min({w},2*round({h}*iw*sar/ih/2)))'"
        f":h='if({wide},min({h},2*round({w}*ih/(iw*sar)/2)),{h})'"
    )


def video_chain(plan: FilmPlan, piece: Piece, source: str, label: str) -> str:
    """A clip's frames ``[first, last)`` normalised to the film (its last frame is held if the clip turns out
    shorter than it said)."""
    w, h, fps = plan.width, plan.height, plan.fps
    steps = [
        "setpts=PTS-STARTPTS",
        f"fps={fps}",
        fit_scale(w, h),
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
        "setsar=1",
        "format=yuv420p",
        "tpad=stop_mode=clone:stop_duration=2",
        f"trim=start_frame={piece.first}:end_frame={piece.last}" if piece.first else f"trim=end_frame={piece.last}",
    ]
    if piece.first:
        steps.append("setpts=PTS-STARTPTS")
    return f"[{source}]" + ",".join(steps) + f"[{label}]"


def pictures(plan: FilmPlan, chunk: Chunk, graph: Graph, srt_name: str | None = None) -> tuple[str, dict[int, int]]:
    """Add the chunk's pictures to the graph; returns the joined label and, per shot index, the input of each clip
    (its sound may be used too). ``srt_name``: burn these subtitles in, timed on the film's clock."""
    clips: dict[int, int] = {}
    for n, piece in enumerate(chunk.pieces):
        seg = piece.segment
        i = graph.add_input(seg.source)
        if seg.kind == "video":
            clips[seg.shot_index] = i
            graph.chains.append(video_chain(plan, piece, f"{i}:v:0", f"v{n}"))
        else:
            graph.chains.append(still_chain(plan, piece, f"{i}:v:0", f"v{n}"))
    current = "v0"
    if len(chunk.pieces) > 1 and not any(p.fade_in for p in chunk.pieces):
        pads = "".join(f"[v{n}]" for n in range(len(chunk.pieces)))
        graph.chains.append(f"{pads}concat=n={len(chunk.pieces)}:v=1:a=0[vj]")
        current = "vj"
    elif len(chunk.pieces) > 1:
        kind = "fadeblack" if plan.transition == "fade" else "fade"
        for n, piece in enumerate(chunk.pieces[1:], start=1):
            if piece.fade_in:
                duration, offset = plan.seconds(piece.fade_in), plan.seconds(piece.start)
                step = f"xfade=transition={kind}:duration={duration:.6f}:offset={offset:.6f}"
            else:
                step = f"concat=n=2:v=1:a=0,settb=expr=1/{plan.fps}"
            graph.chains.append(f"[{current}][v{n}]{step}[x{n}]")
            current = f"x{n}"
    if srt_name is not None:
        shift = f"setpts=PTS+{plan.seconds(chunk.first_frame):.6f}/TB," if chunk.first_frame else ""
        unshift = ",setpts=PTS-STARTPTS" if chunk.first_frame else ""
        graph.chains.append(f"[{current}]{shift}subtitles=filename='{srt_name}'{unshift},format=yuv420p[vsub]")
        current = "vsub"
    return current, clips


def _audio_in(source: str) -> str:
    return f"[{source}]aresample={RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"


def _silence(plan: FilmPlan, label: str) -> str:
    samples = round(plan.duration_s * RATE)
    return f"anullsrc=channel_layout=stereo:sample_rate={RATE},atrim=end_sample={samples}[{label}]"


def _mix(inputs: list[str], label: str) -> str:
    pads = "".join(f"[{i}]" for i in inputs)
    return f"{pads}amix=inputs={len(inputs)}:duration=first:dropout_transition=0:normalize=0[{label}]"


def _delay(plan: FilmPlan, start_frame: int) -> str:
    return f"adelay=delays={round(start_frame / plan.fps * RATE)}S:all=1"


def sound(plan: FilmPlan, graph: Graph, clips: dict[int, int] | None = None) -> str:
    """Add the whole film's sound to the graph; returns its label. ``clips``: the inputs of the clips already in
    the command (by shot index); a clip whose sound is used and is not among them is added as an input."""
    chains, voices, bed = graph.chains, ["sil_n"], ["sil_b"]
    clips = dict(clips or {})
    for k, seg in enumerate(plan.segments):
        if seg.narration is not None:
            i = graph.add_input(seg.narration)
            trim = f"atrim=duration={seg.narration_s:.6f},asetpts=PTS-STARTPTS"
            chains.append(_audio_in(f"{i}:a:0") + f",{trim},{_delay(plan, seg.start_frame)}[n{k}]")
            voices.append(f"n{k}")
        if seg.clip_audio:
            if seg.shot_index not in clips:
                clips[seg.shot_index] = graph.add_input(seg.source)
            length = plan.seconds(seg.frames)
            steps = [f"apad,atrim=duration={length:.6f},asetpts=PTS-STARTPTS", f"volume={plan.clip_audio:g}"]
            if seg.transition_in:
                steps.append(f"afade=t=in:st=0:d={plan.seconds(seg.transition_in):.6f}")
            if seg.transition_out:
                out_s = plan.seconds(seg.transition_out)
                steps.append(f"afade=t=out:st={length - out_s:.6f}:d={out_s:.6f}")
            steps.append(_delay(plan, seg.start_frame))
            chains.append(_audio_in(f"{clips[seg.shot_index]}:a:0") + "," + ",".join(steps) + f"[c{k}]")
            bed.append(f"c{k}")
    if plan.music is not None:
        i = graph.add_input(plan.music, "-stream_loop", "-1")
        fade = min(MUSIC_FADE_S, plan.duration_s / 2)
        chains.append(
            _audio_in(f"{i}:a:0") + f",atrim=end_sample={round(plan.duration_s * RATE)},asetpts=PTS-STARTPTS,"
            f"volume={plan.music_volume:g},afade=t=out:st={plan.duration_s - fade:.6f}:d={fade:.6f}[music]"
        )
        bed.append("music")
    if len(voices) == 1 and len(bed) == 1:
        chains.append(_silence(plan, "aout"))
        return "aout"
    if len(bed) == 1:
        chains += [_silence(plan, "sil_n"), _mix(voices, "aout")]
        return "aout"
    chains += [_silence(plan, "sil_b"), _mix(bed, "bed")]
    if len(voices) == 1:
        return "bed"
    chains += [
        _silence(plan, "sil_n"),
        _mix(voices, "voice"),
        "[voice]asplit=2[voice_mix][voice_key]",
        f"[bed][voice_key]sidechaincompress={DUCK}[ducked]",
        _mix(["voice_mix", "ducked"], "aout"),
    ]
    return "aout"
