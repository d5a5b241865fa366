"""Beanie documents. These are storage shapes only: the wire shapes live in ``protocol`` and
``app.db.mapping`` converts between them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from beanie import Document
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; truncate here so what we send equals what we store.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class VideoState(BaseModel):
    status: str = "idle"
    provider: str | None = None
    task_id: str | None = None
    progress: int = 0
    url: str | None = None
    source_url: str | None = None
    error: dict[str, str] | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    next_poll_at: datetime | None = None
    poll_failures: int = 0


class WorkspaceDoc(Document):
    project: str = "default"
    order_index: float = 0.0
    title: str = ""
    image_path: str | None = None
    image_url: str | None = None
    form_data: dict[str, Any] = Field(default_factory=dict)
    video: VideoState = Field(default_factory=VideoState)
    ai_collaboration: list[dict[str, Any]] = Field(default_factory=list)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    create_msg_id: str | None = None  # "<project>/<message id>" of the create that made it (its _id: created_id)
    narration_audio: dict[str, Any] | None = None  # set by the narration job (PROTOCOL.md 8.5)

    class Settings:
        name = "workspaces"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("project", ASCENDING), ("order_index", ASCENDING)], name="project_order"),
            IndexModel([("video.status", ASCENDING)], name="video_status"),
        ]


# Indexes an earlier version declared and this one does not: dropped at start-up (app.db.connect), since every
# index costs each update of the collection (issue 17) and init_beanie only ever adds.
RETIRED_INDEXES = {"workspaces": ["create_msg_id_unique"]}


def created_id(create_msg_id: str) -> ObjectId:
    """The ``_id`` of the workspace a create message makes, derived from ``"<project>/<message id>"``: a re-sent
    create finds the first one's workspace, and a racing one fails on the ``_id`` index, which every collection
    has. (A unique index on ``create_msg_id`` did this before, and cost every update of every workspace: the
    embedded database rewrites each index entry of a document it updates.)"""
    return ObjectId(hashlib.blake2b(create_msg_id.encode(), digest_size=12).digest())


# A new workspace stores the wire fields of its video only; a generation adds the poller's own (VideoState).
_NEW_VIDEO_KEYS = frozenset({"status", "provider", "task_id", "progress", "url", "source_url", "error", "updated_at"})


def new_workspace(
    project: str,
    order_index: float,
    *,
    title: str = "",
    image_path: str | None = None,
    image_url: str | None = None,
    form_data: dict[str, Any] | None = None,
    create_msg_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The stored document of a new workspace, built from ``WorkspaceDoc`` (the one definition of its shape), with
    its ``_id``. Values are trusted (checked on the wire); ``model_construct`` skips validating them again."""
    now = now or utcnow()
    doc = WorkspaceDoc.model_construct(
        project=project,
        order_index=order_index,
        title=title,
        image_path=image_path,
        image_url=image_url,
        form_data=dict(form_data or {}),
        created_at=now,
        updated_at=now,
        create_msg_id=create_msg_id,
    )
    _id = ObjectId() if create_msg_id is None else created_id(create_msg_id)
    raw: dict[str, Any] = {"_id": _id, **doc.model_dump(exclude={"id", "revision_id"})}
    raw["video"] = {k: v for k, v in raw["video"].items() if k in _NEW_VIDEO_KEYS}
    if create_msg_id is None:  # absent rather than null: a plain create has none
        del raw["create_msg_id"]
    return raw


class PollerLease(Document):
    """One document per deployment: who polls providers, until when."""

    owner: str
    expires_at: datetime

    class Settings:
        name = "poller_lease"


class JobDoc(Document):
    """A job of PROTOCOL.md 8 with its lease (app/jobs/model.py maps it to the wire)."""

    project: str = "default"
    kind: str
    workspace_id: str | None = None
    parent_id: str | None = None
    status: str = "queued"
    progress: int = 0
    stage: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    owner: str | None = None
    lease_expires_at: datetime | None = None
    run_started_at: datetime | None = None
    attempts: int = 0
    cancel_requested: bool = False
    committing: bool = False
    # Set only while the job is active and must be alone (same kind and workspace; a project's export or film):
    # unique, so two concurrent starts cannot both pass (PROTOCOL.md 8.2). Absent otherwise (sparse).
    exclusive: str | None = None
    child_key: str | None = None  # a child's step name among its parent's children (``parent_id``)

    class Settings:
        name = "jobs"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("status", ASCENDING), ("lease_expires_at", ASCENDING)], name="status_lease"),
            IndexModel([("project", ASCENDING), ("created_at", DESCENDING)], name="project_created"),
            IndexModel([("exclusive", ASCENDING)], name="exclusive_unique", unique=True, sparse=True),
            IndexModel([("parent_id", ASCENDING), ("child_key", ASCENDING)], name="parent_child", sparse=True),
            IndexModel([("workspace_id", ASCENDING), ("status", ASCENDING)], name="workspace_status", sparse=True),
        ]


class HistoryDoc(Document):
    """One stored change of a workspace's client-writable fields (PROTOCOL.md 10.2; app/writes/history.py)."""

    workspace_id: str
    project: str
    version: int
    changes: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)  # the client-writable fields after this change
    at: datetime = Field(default_factory=utcnow)
    by: dict[str, str | None] = Field(default_factory=dict)  # {"connection_id", "user"}

    class Settings:
        name = "workspace_history"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("workspace_id", ASCENDING), ("version", DESCENDING)], name="workspace_version", unique=True),
        ]


class PresenceDoc(Document):
    """A connection's presence with FANOUT=changestream (PROTOCOL.md 10.1; app/services/presence.py); ``_id`` is
    the connection id."""

    project: str
    state: dict[str, Any] | None = None
    since: datetime = Field(default_factory=utcnow)
    process: str  # the process serving the connection, which marks it ``seen`` every few seconds
    seen: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "presence"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("project", ASCENDING)], name="project"),
            IndexModel([("seen", ASCENDING)], name="seen"),
            IndexModel([("process", ASCENDING)], name="process"),
        ]


DOCUMENT_MODELS: list[type[Document]] = [WorkspaceDoc, PollerLease, JobDoc, HistoryDoc, PresenceDoc]
