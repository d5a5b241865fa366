"""Stored workspace documents (raw dicts from PyMongo) <-> wire workspaces (``protocol.Workspace``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from protocol import AiEntry, ErrorInfo, Video, Workspace


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def video_to_wire(raw: dict[str, Any] | None) -> Video:
    raw = raw or {}
    error = raw.get("error")
    return Video(
        status=raw.get("status", "idle"),
        provider=raw.get("provider"),
        task_id=raw.get("task_id"),
        progress=int(raw.get("progress") or 0),
        url=raw.get("url"),
        source_url=raw.get("source_url"),
        error=ErrorInfo(**error) if error else None,
        updated_at=iso(raw.get("updated_at")),
    )


def ai_entry_to_wire(raw: dict[str, Any]) -> AiEntry:
    return AiEntry(
        role=raw["role"],
        content=raw["content"],
        provider=raw.get("provider"),
        model=raw.get("model"),
        created_at=iso(raw["created_at"]) or "",
        form_data_patch=raw.get("form_data_patch"),
    )


def workspace_to_wire(raw: dict[str, Any]) -> Workspace:
    return Workspace(
        id=str(raw["_id"]),
        project=raw["project"],
        order_index=raw["order_index"],
        title=raw.get("title", ""),
        image_path=raw.get("image_path"),
        image_url=raw.get("image_url"),
        form_data=raw.get("form_data") or {},
        video=video_to_wire(raw.get("video")),
        ai_collaboration=[ai_entry_to_wire(e) for e in raw.get("ai_collaboration") or []],
        version=raw["version"],
        created_at=iso(raw["created_at"]) or "",
        updated_at=iso(raw["updated_at"]) or "",
        narration_audio=raw.get("narration_audio"),
    )
