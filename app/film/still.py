"""A still picture moving as its shot's camera movement says, as one ffmpeg filter chain.

The picture is decoded once: it is scaled once to the largest size the move needs, then the ``loop`` filter
repeats that one frame for the shot's length (``-loop 1`` would decode the file again for every frame). Per frame
a ``scale`` with ``eval=frame`` zooms (only moves that zoom have it) and a ``crop`` moves the window, both driven
by an eased ``t``. ``zoompan`` was not used: it places its window at whole input pixels, so slow moves judder
unless the picture is first blown up several times, which costs far more than scaling the small base per frame.

The window keeps the picture's own shape: the picture is fitted into the frame (never stretched), the camera
moves inside it, and what is left of the frame is padded black, as a clip of another shape would be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.film.plan import FilmPlan, Piece, fit


@dataclass(frozen=True)
class Move:
    """Zoom (>= 1: how much of the picture is cut away to move in) and window position (-0.5 left/top edge,
    0 centre, 0.5 right/bottom edge of the room the zoom leaves), from the first frame to the last."""

    zoom: tuple[float, float] = (1.0, 1.0)
    x: tuple[float, float] = (0.0, 0.0)
    y: tuple[float, float] = (0.0, 0.0)
    arc: float = 0.0  # an orbit's rise: added to y as -arc*sin(pi*eased t)
    shake: float = 0.0  # handheld: the amplitude of a slow wobble of x and y


MOVES: dict[str, Move] = {
    "static": Move(),
    "push_in": Move(zoom=(1.0, 1.3)),
    "pull_out": Move(zoom=(1.3, 1.0)),
    "pan_left": Move(zoom=(1.2, 1.2), x=(0.5, -0.5)),  # the camera turns left: the window slides right to left
    "pan_right": Move(zoom=(1.2, 1.2), x=(-0.5, 0.5)),
    "tilt_up": Move(zoom=(1.2, 1.2), y=(0.5, -0.5)),
    "tilt_down": Move(zoom=(1.2, 1.2), y=(-0.5, 0.5)),
    "orbit_left": Move(zoom=(1.15, 1.25), x=(0.5, -0.5), arc=0.3),
    "orbit_right": Move(zoom=(1.15, 1.25), x=(-0.5, 0.5), arc=0.3),
    "crane_up": Move(zoom=(1.1, 1.2), y=(0.5, -0.5)),
    "crane_down": Move(zoom=(1.2, 1.1), y=(-0.5, 0.5)),
    "handheld": Move(zoom=(1.08, 1.08), shake=0.35),
}
DEFAULT_MOVE = Move(zoom=(1.0, 1.06))  # no movement given (or one we do not know): a slow push, not a dead frame


def move_for(camera_movement: str | None) -> Move:
    key = (camera_movement or "").strip().lower().replace("-", "_").replace(" ", "_")
    return MOVES.get(key, DEFAULT_MOVE)


def _eased(duration_s: float) -> str:
    """Smoothstep of t/D in ffmpeg's expression language: 0 -> 1, gentle at both ends."""
    p = f"min(1,max(0,t/{duration_s:.4f}))"
    return f"({p}*{p}*(3-2*{p}))"


def _between(a: float, b: float, e: str) -> str:
    return f"{a:g}" if a == b else f"({a:g}+{b - a:g}*{e})"


def _position(ends: tuple[float, float], e: str, arc: float, shake: float, phase: float) -> str:
    expr = _between(*ends, e)
    if arc:
        expr += f"-{arc:g}*sin(PI*{e})"
    if shake:
        f1, f2 = 0.37 + phase * 0.08, 1.13 - phase * 0.16  # two slow, unrelated sways per axis
        expr += f"+{shake * 0.66:.3f}*sin({2 * math.pi * f1:.4f}*t+{phase:g})"
        expr += f"+{shake * 0.34:.3f}*sin({2 * math.pi * f2:.4f}*t+{2 * phase:g})"
    return expr


def _even(x: float) -> int:
    return max(2, math.ceil(x / 2) * 2)


def still_chain(plan: FilmPlan, piece: Piece, source: str, label: str) -> str:
    """The filter chain from input pad ``source`` (e.g. ``3:v:0``) to ``label``: the still's frames ``[first,
    last)`` at the film's size and fps, yuv420p, square pixels. The move spans the whole segment, so the pieces
    of one still drawn by two passes continue each other."""
    segment = piece.segment
    w, h, fps, n = plan.width, plan.height, plan.fps, piece.last
    bw, bh = fit(segment.picture_size or (w, h), (w, h))
    move = move_for(segment.shot.camera_movement)
    top = max(move.zoom)
    base_w, base_h = _even(bw * top), _even(bh * top)
    e = _eased(max(segment.frames - 1, 1) / fps)  # the last frame is at (n-1)/fps: the move ends on it
    steps = [
        "trim=end_frame=1",  # one frame, even from an animated picture
        # once per still: BT.709, limited range (what players assume of HD video), 4:2:0
        f"scale={base_w}:{base_h}:force_original_aspect_ratio=increase:out_color_matrix=bt709:out_range=tv",
        f"crop={base_w}:{base_h}",
        "setsar=1",
        "format=yuv420p",
        "setparams=range=tv:colorspace=bt709:color_primaries=bt709:color_trc=bt709",
        f"loop=loop={n - 1}:size=1:start=0",
        f"settb=expr=1/{fps}",
        "setpts=N",
    ]
    if move.zoom[0] != move.zoom[1]:
        zoom = _between(move.zoom[0], move.zoom[1], e)
        steps.append(f"scale=w='trunc({bw}*{zoom}/2)*2':h='trunc({bh}*{zoom}/2)*2':eval=frame")
    if top != 1:  # the base is exactly the window when nothing zooms (static)
        x = _position(move.x, e, 0.0, move.shake, 0.0)
        y = _position(move.y, e, move.arc, move.shake, 1.0)
        steps.append(
            f"crop={bw}:{bh}:x='(iw-ow)*max(0,min(1,0.5+{x}))':y='(ih-oh)*max(0,min(1,0.5+{y}))'"  # inside the picture
        )
    if piece.first:
        steps += [f"trim=start_frame={piece.first}", "setpts=PTS-STARTPTS"]
    steps += [f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black", "setsar=1", f"fps={fps}", "format=yuv420p"]
    return f"[{source}]" + ",".join(steps) + f"[{label}]"
