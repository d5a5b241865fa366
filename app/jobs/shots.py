"""Shots of a storyboard, made valid by the rules of PROTOCOL.md section 2 before anything is stored.

``offline_shot`` chooses camera movement, shot size and lighting from the words of its text (keyword tables;
only the recommended camera values). ``clean_shot`` takes whatever a model returned for one shot and repairs it
(strings clipped, camera values mapped to the nearest recommended one or left out, duration clamped) or drops it;
what survives passes ``protocol.fields``' own checks, so nothing invalid is ever stored.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from pydantic import ValidationError

from protocol.fields import FORM_MAX_STRING, TITLE_MAX, check_form_totals, check_form_value
from providers.base import CAMERA_MOVEMENTS

MAX_SHOTS: Final = 24
_VALUE_MAX: Final = 100  # camera_movement, shot_size, lighting (section 2)
_TITLE_WORDS: Final = 6

# First match wins; the words are matched as word prefixes ("walks" matches "walk").
CAMERA_WORDS: Final[list[tuple[tuple[str, ...], str]]] = [
    (("walk", "run", "follow", "chase", "drive", "ride"), "pan_right"),
    (("rise", "climb", "soar", "fly", "lift", "jump"), "crane_up"),
    (("fall", "sink", "drop", "descend", "kneel"), "crane_down"),
    (("look up", "tower", "tall", "sky"), "tilt_up"),
    (("look down", "ground", "floor"), "tilt_down"),
    (("reveal", "leave", "alone", "far", "away"), "pull_out"),
    (("close", "face", "eye", "whisper", "notice", "see"), "push_in"),
    (("around", "circle", "spin", "turn"), "orbit_right"),
    (("fight", "storm", "panic", "crash", "shake"), "handheld"),
]
SIZE_WORDS: Final[list[tuple[tuple[str, ...], str]]] = [
    (("eye", "tear", "lips", "hand", "finger"), "extreme_close_up"),
    (("face", "close", "whisper", "smile"), "close_up"),
    (("city", "landscape", "mountain", "sea", "ocean", "valley", "horizon", "sky", "field"), "extreme_wide"),
    (("street", "room", "crowd", "forest", "house", "walk", "run"), "wide"),
]
LIGHT_WORDS: Final[list[tuple[tuple[str, ...], str]]] = [
    (("sunset", "sun sets", "sun set", "dusk", "dawn", "sunrise", "golden"), "golden_hour"),
    (("night", "dark", "moon", "star", "midnight"), "night"),
    (("rain", "storm", "fog", "cloud", "grey", "gray"), "overcast"),
    (("candle", "fire", "lamp", "lantern"), "warm_practical"),
    (("fear", "shadow", "secret", "danger"), "low_key"),
]
# Camera words a model may use for a recommended value (the nearest one); anything else is left out.
CAMERA_SYNONYMS: Final[list[tuple[tuple[str, ...], str]]] = [
    (("push", "dolly_in", "zoom_in", "truck_in", "in"), "push_in"),
    (("pull", "dolly_out", "zoom_out", "truck_out", "out"), "pull_out"),
    (("crane_d", "jib_d", "pedestal_d", "boom_d"), "crane_down"),
    (("crane", "jib", "pedestal", "boom"), "crane_up"),
    (("pan_l", "left"), "pan_left"),
    (("pan", "track", "follow", "truck", "right"), "pan_right"),
    (("tilt_d", "down"), "tilt_down"),
    (("tilt", "up"), "tilt_up"),
    (("orbit_l", "arc_l"), "orbit_left"),
    (("orbit", "arc", "circle"), "orbit_right"),
    (("hand", "shak", "steadicam"), "handheld"),
    (("static", "still", "lock", "fixed", "none", "tripod"), "static"),
]
_WORD: Final = re.compile(r"[a-z']+")
_NAME: Final = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _choose(text: str, table: list[tuple[tuple[str, ...], str]], default: str) -> str:
    words = _words(text)
    joined = " ".join(words)
    for keys, value in table:
        for key in keys:
            if (" " in key and key in joined) or any(w.startswith(key) for w in words):
                return value
    return default


def _title(text: str) -> str:
    words = text.split()
    title = " ".join(words[:_TITLE_WORDS]).rstrip(".,;:!?…")
    return (title + ("…" if len(words) > _TITLE_WORDS else ""))[:TITLE_MAX]


def offline_shot(text: str, index: int, style: str) -> dict[str, Any]:
    """One shot from its sentences: they are its narration and (with the style) its prompt."""
    prompt = f"{text.rstrip('.!?…')}, {style}" if style else text
    return {
        "title": _title(text) or f"Shot {index + 1}",
        "form_data": {
            "prompt": prompt[:FORM_MAX_STRING],
            "camera_movement": _choose(text, CAMERA_WORDS, "static" if index % 2 else "push_in"),
            "shot_size": _choose(text, SIZE_WORDS, "medium"),
            "lighting": _choose(text, LIGHT_WORDS, "soft_daylight"),
            "duration_s": min(8, max(3, 3 + len(text.split()) // 6)),
            "narration": text[:FORM_MAX_STRING],
        },
    }


def nearest_camera(value: Any) -> str | None:
    """A recommended camera movement for whatever a model wrote, or None (left out)."""
    if not isinstance(value, str):
        return None
    name = "_".join(_NAME.findall(value.lower()[:200]))
    if name in CAMERA_MOVEMENTS:
        return name
    for keys, camera in CAMERA_SYNONYMS:
        if any(name.startswith(k) or f"_{k}" in f"_{name}" for k in keys):
            return camera
    return None


def _name(value: Any) -> str | None:
    """A shot size or lighting as a short snake_case name (what the UI and providers expect), or None."""
    if not isinstance(value, str):
        return None
    name = "_".join(_NAME.findall(value.lower()[: _VALUE_MAX * 2]))[:_VALUE_MAX].strip("_")
    return name or None


def _text(value: Any, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _duration(value: Any, text: str) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("s"))
        except ValueError:
            value = None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return min(30, max(1, value))
    return min(8, max(3, 3 + len(text.split()) // 6))


def clean_shot(raw: Any, index: int, style: str) -> dict[str, Any] | None:
    """One shot of a model's answer as a valid ``{"title", "form_data"}``, or None when nothing usable is left.
    Only known keys are read: any other key (``$set``, ``__proto__``, ...) is ignored."""
    if not isinstance(raw, dict):
        return None
    narration = _text(raw.get("narration"), FORM_MAX_STRING)
    prompt = _text(raw.get("prompt"), FORM_MAX_STRING) or narration
    if not prompt:
        return None
    if style and style.lower() not in prompt.lower():
        prompt = f"{prompt}, {style}"[:FORM_MAX_STRING]
    form: dict[str, Any] = {
        "prompt": prompt,
        "narration": narration,
        "duration_s": _duration(raw.get("duration_s"), prompt),
    }
    camera = nearest_camera(raw.get("camera_movement"))
    if camera is not None:
        form["camera_movement"] = camera
    for key in ("shot_size", "lighting"):
        value = _name(raw.get(key))
        if value is not None:
            form[key] = value
    for key, value in list(form.items()):  # the protocol's own checks, last: whatever fails is left out
        try:
            check_form_value(key, value)
        except (ValueError, ValidationError):
            del form[key]
    try:
        check_form_totals(form)
    except (ValueError, ValidationError):
        return None
    title = _text(raw.get("title"), TITLE_MAX) or _title(prompt) or f"Shot {index + 1}"
    return {"title": title[:TITLE_MAX], "form_data": form}


def clean_shots(raw: list[Any], style: str) -> list[dict[str, Any]]:
    shots: list[dict[str, Any]] = []
    for item in raw[: MAX_SHOTS * 4]:  # a model that answers with thousands: only the first few are looked at
        shot = clean_shot(item, len(shots), style)
        if shot is not None:
            shots.append(shot)
        if len(shots) == MAX_SHOTS:
            break
    return shots
