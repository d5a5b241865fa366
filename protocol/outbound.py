"""Server messages (PROTOCOL.md 2, 3.1 replies, 3.2 events, 3.3 errors), and the wire workspace."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.codes import ErrorCode

VideoStatusName = Literal["idle", "queued", "generating", "completed", "failed", "cancelled"]
JobStatusName = Literal["queued", "running", "completed", "failed", "cancelled"]


class _Model(BaseModel):
    # Fields with defaults are always sent, so the published schema marks them required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class ErrorInfo(_Model):
    code: str
    message: str


class Video(_Model):
    status: VideoStatusName = "idle"
    provider: str | None = None
    task_id: str | None = None
    progress: Annotated[int, Field(ge=0, le=100)] = 0
    url: str | None = None
    source_url: str | None = None
    error: ErrorInfo | None = None
    updated_at: str | None = None


class AiEntry(_Model):
    role: Literal["user", "assistant"]
    content: str
    provider: str | None = None
    model: str | None = None
    created_at: str
    # Only present when a structured suggestion was asked for (PROTOCOL.md 7).
    form_data_patch: dict[str, Any] | None = Field(default=None, exclude_if=lambda value: value is None)


class Workspace(_Model):
    id: str
    project: str
    order_index: float
    title: str
    image_path: str | None
    image_url: str | None
    form_data: dict[str, Any]
    video: Video
    ai_collaboration: list[AiEntry]
    version: int
    created_at: str
    updated_at: str
    # 1.1 (PROTOCOL.md 8.5): {"url", "duration_s", "provider", "voice", "text"} once a narration job spoke it
    narration_audio: dict[str, Any] | None = None


class PresenceEntry(_Model):
    connection_id: str
    state: dict[str, Any] | None
    since: str


class HistoryAuthor(_Model):
    connection_id: str | None = None  # None: REST or a job
    user: str | None = None  # the token's sub, with per-project tokens


class HistoryEntry(_Model):
    version: int
    changes: dict[str, Any]
    at: str
    by: HistoryAuthor


class ServerMessage(_Model):
    reply_to: str | None = None


class ConnectionReady(ServerMessage):
    type: Literal["connection.ready"] = "connection.ready"
    connection_id: str
    project: str
    protocol: int
    server_time: str
    features: list[str] = Field(default_factory=list)  # 1.1: what the server supports beyond 1.0 ("jobs")
    presence: list[PresenceEntry] = Field(default_factory=list)  # 1.1 (10.1): the project's other connections


class Pong(ServerMessage):
    type: Literal["pong"] = "pong"
    server_time: str


class WorkspaceListResult(ServerMessage):
    type: Literal["workspace.list_result"] = "workspace.list_result"
    workspaces: list[Workspace]


class WorkspaceCreated(ServerMessage):
    type: Literal["workspace.created"] = "workspace.created"
    workspace: Workspace


class SyncConfirm(ServerMessage):
    type: Literal["workspace.sync_confirm"] = "workspace.sync_confirm"
    workspace_id: str
    version: int
    updated_at: str


class WorkspaceDeleted(ServerMessage):
    type: Literal["workspace.deleted"] = "workspace.deleted"
    workspace_id: str
    existed: bool | None = None


class ReorderConfirm(ServerMessage):
    type: Literal["workspace.reorder_confirm"] = "workspace.reorder_confirm"
    order: list[str]


class WorkspaceUpdated(ServerMessage):
    type: Literal["workspace.updated"] = "workspace.updated"
    workspace_id: str
    changes: dict[str, Any]
    version: int
    updated_at: str


class WorkspaceReordered(ServerMessage):
    type: Literal["workspace.reordered"] = "workspace.reordered"
    order: list[str]


class VideoStatusUpdate(ServerMessage):
    type: Literal["video.status_update"] = "video.status_update"
    workspace_id: str
    video: Video


class AiDelta(ServerMessage):
    type: Literal["ai.delta"] = "ai.delta"
    workspace_id: str
    delta: str


class AiSuggestion(ServerMessage):
    type: Literal["ai.suggestion"] = "ai.suggestion"
    workspace_id: str
    suggestion: AiEntry


class AuthRefreshed(ServerMessage):
    """PROTOCOL.md 9.1: the new token is the connection's; ``expires_at`` None: it does not expire."""

    type: Literal["auth.refreshed"] = "auth.refreshed"
    expires_at: str | None


class Job(_Model):
    """PROTOCOL.md 8.1: long work the server runs for a timeline."""

    id: str
    project: str
    kind: str
    workspace_id: str | None = None
    parent_id: str | None = None
    status: JobStatusName
    progress: Annotated[int, Field(ge=0, le=100)] = 0
    stage: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class JobStatusUpdate(ServerMessage):
    """Every change of a job's status, and its stage and progress (throttled), to every connection of the project."""

    type: Literal["job.status_update"] = "job.status_update"
    job: Job


class JobListResult(ServerMessage):
    type: Literal["job.list_result"] = "job.list_result"
    jobs: list[Job]


class PresenceChanged(ServerMessage):
    type: Literal["presence.changed"] = "presence.changed"
    connection_id: str
    state: dict[str, Any] | None


class PresenceLeft(ServerMessage):
    type: Literal["presence.left"] = "presence.left"
    connection_id: str


class WorkspaceHistoryResult(ServerMessage):
    type: Literal["workspace.history_result"] = "workspace.history_result"
    workspace_id: str
    entries: list[HistoryEntry]


class Error(ServerMessage):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    details: Any = None


ServerEvent = Annotated[
    ConnectionReady
    | Pong
    | WorkspaceListResult
    | WorkspaceCreated
    | SyncConfirm
    | WorkspaceDeleted
    | ReorderConfirm
    | WorkspaceUpdated
    | WorkspaceReordered
    | VideoStatusUpdate
    | AiDelta
    | AiSuggestion
    | AuthRefreshed
    | JobStatusUpdate
    | JobListResult
    | PresenceChanged
    | PresenceLeft
    | WorkspaceHistoryResult
    | Error,
    Field(discriminator="type"),
]
