"""The offline assistant: deterministic film-shot advice from the shot form and the question, no network.

It reads the ``Current shot form (JSON): {...}`` block the app puts into the system prompt, reacts to a few
keywords of the question, and says plainly that it is an offline assistant. It streams word groups so the
client sees a streamed answer. With ``json_mode`` it yields one JSON object of form fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from providers.base import ChatMessage, ProviderConfig

_FORM = re.compile(r"Current shot form \(JSON\): (\{.*\})\s*$", re.S)

# keyword -> (camera_movement, shot_size, lighting, phrase)
MOODS: list[tuple[tuple[str, ...], dict[str, str], str]] = [
    (
        ("dramatic", "tense", "epic", "intense"),
        {"camera_movement": "push_in", "shot_size": "close_up", "lighting": "low_key"},
        "a slow push in to a close-up with hard low-key light builds tension",
    ),
    (
        ("night", "dark", "moon"),
        {"camera_movement": "pan_right", "shot_size": "wide", "lighting": "blue_hour"},
        "a cool blue night palette with practical lights and a slow pan keeps it readable",
    ),
    (
        ("calm", "peaceful", "gentle", "soft", "quiet"),
        {"camera_movement": "static", "shot_size": "medium", "lighting": "soft_daylight"},
        "a locked-off medium shot in soft daylight lets the moment breathe",
    ),
    (
        ("reveal", "wide", "landscape", "establish"),
        {"camera_movement": "pull_out", "shot_size": "extreme_wide", "lighting": "golden_hour"},
        "pulling out to an extreme wide at golden hour reveals the place",
    ),
    (
        ("close", "detail", "face", "emotion"),
        {"camera_movement": "push_in", "shot_size": "extreme_close_up", "lighting": "rembrandt"},
        "an extreme close-up with Rembrandt lighting puts the emotion on the face",
    ),
    (
        ("action", "chase", "fast", "energy"),
        {"camera_movement": "handheld", "shot_size": "medium_close_up", "lighting": "high_contrast"},
        "handheld medium close-ups with high contrast give it energy",
    ),
    (
        ("up", "rise", "hope", "sky"),
        {"camera_movement": "crane_up", "shot_size": "wide", "lighting": "golden_hour"},
        "a crane up into a wide frame at golden hour feels uplifting",
    ),
]
DEFAULT = (
    {"camera_movement": "push_in", "shot_size": "medium", "lighting": "golden_hour"},
    "a gentle push in on a medium shot at golden hour is a safe, cinematic start",
)


def shot_form(system: str | None) -> dict[str, Any]:
    match = _FORM.search(system or "")
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def advise(question: str, shot: dict[str, Any]) -> tuple[dict[str, str], str]:
    words = question.lower()
    for keywords, fields, phrase in MOODS:
        if any(k in words for k in keywords):
            return fields, phrase
    return DEFAULT


def answer(question: str, shot: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    raw_form = shot.get("form_data")
    form: dict[str, Any] = raw_form if isinstance(raw_form, dict) else {}
    fields, phrase = advise(question, shot)
    title = shot.get("title") or "this shot"
    prompt = str(form.get("prompt") or "").strip()
    lines = [f"(Offline assistant: no AI provider is configured, so this is rule-based advice.) For {title}, {phrase}."]
    current = form.get("camera_movement")
    if current and current != fields["camera_movement"]:
        lines.append(f"Consider changing camera movement from {current} to {fields['camera_movement']}.")
    else:
        lines.append(f"Camera movement: {fields['camera_movement']}.")
    lines.append(f"Shot size: {fields['shot_size']}. Lighting: {fields['lighting'].replace('_', ' ')}.")
    suggested_prompt = (f"{prompt}, " if prompt else "") + f"cinematic, {fields['lighting'].replace('_', ' ')} light"
    lines.append(f'Prompt wording: "{suggested_prompt}".')
    patch: dict[str, Any] = {**fields, "prompt": suggested_prompt[:4000]}
    return " ".join(lines), patch


class OfflineProvider:
    name = "offline"
    default_base_url = ""
    default_model = "offline-shot-assistant"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.model = config.model or self.default_model

    async def stream(
        self, messages: list[ChatMessage], *, system: str | None = None, json_mode: bool = False
    ) -> AsyncIterator[str]:
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        text, patch = answer(question, shot_form(system))
        if json_mode:
            yield json.dumps(patch)
            return
        words = text.split(" ")
        for i in range(0, len(words), 4):
            yield " ".join(words[i : i + 4]) + (" " if i + 4 < len(words) else "")

    async def aclose(self) -> None:
        return None
