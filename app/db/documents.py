"""Beanie documents. These are storage shapes only: the wire shapes live in ``protocol`` and
``app.db.mapping`` converts between them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from beanie import Document
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
    create_msg_id: str | None = None  # "<project>/<message id>" of the create that made it

    class Settings:
        name = "workspaces"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("project", ASCENDING), ("order_index", ASCENDING)], name="project_order"),
            IndexModel([("video.status", ASCENDING)], name="video_status"),
            IndexModel(
                [("create_msg_id", ASCENDING)],
                name="create_msg_id_unique",
                unique=True,
                sparse=True,
            ),
        ]


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

    class Settings:
        name = "jobs"
        use_state_management = False
        validate_on_save = False
        indexes = [
            IndexModel([("status", ASCENDING), ("lease_expires_at", ASCENDING)], name="status_lease"),
            IndexModel([("project", ASCENDING), ("created_at", DESCENDING)], name="project_created"),
        ]


DOCUMENT_MODELS: list[type[Document]] = [WorkspaceDoc, PollerLease, JobDoc]
