"""AI collaboration: a conversation about one shot, streamed from the LLM, stored on the workspace.

The conversation is a film-shot assistant system prompt holding the shot's title and current form, the last
entries of ``ai_collaboration``, and the new message. Only when the answer is complete are the user message
and the answer appended (one atomic ``$push``) and announced to the other tabs; a failure stores nothing.
The workspace keeps only the last ``KEEP_ENTRIES`` entries, so a long conversation cannot grow the document
towards MongoDB's 16 MB limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from app.db import iso, utcnow
from app.db.mapping import ai_entry_to_wire
from app.errors import AppError, not_found
from app.services.providers import ProviderPool
from app.writes import Event, WritePath
from protocol import AiEntry, WorkspaceUpdated, check_form_totals, codes
from protocol.fields import check_form_patch
from providers import ChatMessage

HISTORY = 10
# The newest entries kept on the workspace. Older ones are dropped by the same $push, for good (nothing else keeps
# them; moving them to a collection of their own can come later): 100 questions of at most 4000 characters and 100
# answers of ordinary length stay far below MongoDB's 16 MB document limit.
KEEP_ENTRIES = 200
_VERSION_RETRIES = 5
SYSTEM = (
    "You are a film director's assistant helping to plan one shot of a short AI-generated video. "
    "Give concrete, brief advice about camera movement, shot size, lighting and the wording of the prompt "
    "for an image-to-video model. Recommended camera_movement values: static, push_in, pull_out, pan_left, "
    "pan_right, tilt_up, tilt_down, orbit_left, orbit_right, crane_up, crane_down, handheld."
)
APPLY = (
    " Answer with one JSON object only, holding suggested shot form fields (any of camera_movement, shot_size, "
    "lighting, prompt, negative_prompt, duration_s (1-30), aspect_ratio (16:9, 9:16, 1:1, 4:3, 3:4, 21:9)), "
    "no prose."
)


def build_conversation(raw: dict[str, Any], message: str, *, apply: bool) -> tuple[str, list[ChatMessage]]:
    shot = {"title": raw.get("title") or "", "form_data": raw.get("form_data") or {}}
    system = SYSTEM + (APPLY if apply else "") + "\nCurrent shot form (JSON): " + json.dumps(shot, ensure_ascii=False)
    history = [
        ChatMessage(role=e["role"], content=e["content"])
        for e in (raw.get("ai_collaboration") or [])[-HISTORY:]
        if e.get("role") in ("user", "assistant") and e.get("content")
    ]
    return system, [*history, ChatMessage(role="user", content=message)]


def parse_form_patch(text: str) -> dict[str, Any] | None:
    """The JSON object of a structured answer, kept only if it follows the protocol's form_data rules."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    patch: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        try:
            check_form_patch({key: value})
        except (ValueError, ValidationError):
            continue  # drop what does not fit rather than the whole suggestion
        patch[key] = value
    try:
        check_form_totals(patch)
    except ValueError:
        return None
    return patch or None


class AiService:
    def __init__(
        self,
        writes: WritePath,
        providers: ProviderPool,
        *,
        keep_entries: int = KEEP_ENTRIES,
    ) -> None:
        self.writes = writes
        self.collection: AsyncCollection[dict[str, Any]] = writes.collection  # reads
        self.providers = providers
        self.keep_entries = keep_entries

    async def suggest(
        self,
        project: str | None,
        workspace_id: str,
        message: str,
        *,
        apply: bool = False,
        on_delta: Callable[[str], None] | None = None,
        origin: str | None = None,
    ) -> tuple[str, AiEntry]:
        if not ObjectId.is_valid(workspace_id) or len(workspace_id) != 24:
            raise not_found(workspace_id)
        query: dict[str, Any] = {"_id": ObjectId(workspace_id)}
        if project is not None:
            query["project"] = project
        raw = await self.collection.find_one(query, {"project": 1, "title": 1, "form_data": 1, "ai_collaboration": 1})
        if raw is None:
            raise not_found(workspace_id)
        provider = self.providers.llm()
        system, messages = build_conversation(raw, message, apply=apply)
        parts: list[str] = []
        async for delta in provider.stream(messages, system=system, json_mode=apply):
            if not delta:
                continue
            parts.append(delta)
            if on_delta is not None:
                on_delta(delta)
        content = "".join(parts)
        asked_at = utcnow()
        user = {"role": "user", "content": message, "provider": None, "model": None, "created_at": asked_at}
        answer: dict[str, Any] = {
            "role": "assistant",
            "content": content,
            "provider": provider.name,
            "model": provider.model,
            "created_at": utcnow(),
        }
        if apply:
            answer["form_data_patch"] = parse_form_patch(content) or {}
        entries = [ai_entry_to_wire(user), ai_entry_to_wire(answer)]
        changes = {"ai_collaboration": [e.model_dump(mode="json") for e in entries]}
        project = raw["project"]
        for _ in range(_VERSION_RETRIES):
            # The announcement names the new version, so the write is guarded by the one it was computed from
            # (the write carries the announcement with FANOUT=changestream); a concurrent edit means a retry.
            current = await self.collection.find_one(query, {"version": 1})
            if current is None:  # deleted while the model was answering
                raise not_found(workspace_id)
            now = utcnow()
            updated = WorkspaceUpdated(
                workspace_id=workspace_id, changes=changes, version=current["version"] + 1, updated_at=iso(now) or ""
            )
            events: list[Event] = [(updated, origin)]
            written = await self.writes.update(
                project,
                {**query, "version": current["version"]},
                {
                    # $slice keeps the newest keep_entries; the event still carries only the two new entries
                    "$push": {"ai_collaboration": {"$each": [user, answer], "$slice": -self.keep_entries}},
                    "$set": {"updated_at": now},
                    "$inc": {"version": 1},
                },
                events,
            )
            if written:
                return project, entries[1]
        raise AppError(codes.UNAVAILABLE, "the workspace is busy; try again")
