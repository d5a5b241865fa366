"""Shot-form wording shared by the video adapters and the image adapters' keyframe prompts
(``providers.image._prompt``): camera moves, shot sizes and lighting as prompt sentences (``Camera: slow push in.
Shot: close-up. Lighting: golden hour.``), appended to the user's prompt within a provider's length limit (the
user's text is shortened first, the directions kept). Each provider's prompt field and limit are in its own
PROVIDERS.md section (1 to 7b for video, 17 for keyframes)."""

from __future__ import annotations

from collections.abc import Callable

from providers.base import VideoJob

CAMERA_PHRASES: dict[str, str] = {
    "static": "static, locked-off shot",
    "push_in": "slow push in",
    "pull_out": "slow pull out",
    "pan_left": "pan left",
    "pan_right": "pan right",
    "tilt_up": "tilt up",
    "tilt_down": "tilt down",
    "orbit_left": "orbit left around the subject",
    "orbit_right": "orbit right around the subject",
    "crane_up": "crane up",
    "crane_down": "crane down",
    "handheld": "handheld, subtle natural shake",
}


def humanize(value: str) -> str:
    return " ".join(value.replace("_", " ").replace("-", " ").split()).replace("close up", "close-up")


def shot_directions(job: VideoJob, *, include_camera: bool = True) -> str:
    """The shot form as prompt sentences; ``include_camera=False`` when the provider moves the camera itself."""
    parts = []
    if job.camera_movement and include_camera:
        parts.append(f"Camera: {CAMERA_PHRASES.get(job.camera_movement, humanize(job.camera_movement))}.")
    if job.shot_size:
        parts.append(f"Shot: {humanize(job.shot_size)}.")
    if job.lighting:
        parts.append(f"Lighting: {humanize(job.lighting)}.")
    return " ".join(parts)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate_utf16(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit:
            break
        out.append(ch)
        used += width
    return "".join(out)


def _truncate_chars(text: str, limit: int) -> str:
    return text[:limit]


def compose_prompt(prompt: str, directions: str, limit: int, *, utf16: bool = False) -> str:
    """User prompt + shot directions within ``limit`` characters (UTF-16 code units when ``utf16``)."""
    length: Callable[[str], int] = utf16_len if utf16 else len
    cut: Callable[[str, int], str] = truncate_utf16 if utf16 else _truncate_chars
    head = prompt.strip()
    if not directions:
        return cut(head, limit)
    room = limit - length(directions) - 2  # a space, and maybe a full stop
    if room <= 0:
        return cut(directions, limit)
    head = cut(head, room).rstrip()
    if not head:
        return directions
    if head[-1] not in ".!?…。":
        head += "."
    return f"{head} {directions}"
