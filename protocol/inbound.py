"""Client messages (PROTOCOL.md 3.1): one strict pydantic model per ``type``, one discriminated union."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from protocol.fields import (
    SERVER_OWNED_FIELDS,
    AiMessageText,
    FormPatch,
    ImagePath,
    ImageUrl,
    MessageId,
    ObjectIdStr,
    Position,
    Title,
    check_form_totals,
)


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: MessageId | None = None


class _ClientFields(BaseModel):
    """The client-writable workspace fields. Server-owned names are ``forbidden_field``, others unknown."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    title: Title | None = None
    image_path: ImagePath = None
    image_url: ImageUrl = None
    form_data: FormPatch | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_server_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            owned = sorted(k for k in data if k in SERVER_OWNED_FIELDS)
            if owned:
                raise PydanticCustomError(
                    "forbidden_field",
                    "owned by the server (client-writable: {allowed})",
                    {
                        "path": owned[0],
                        "allowed": "title, image_path, image_url, form_data",
                    },
                )
        return data


class WorkspaceInput(_ClientFields):
    """``workspace.create``'s initial fields; ``null`` form values are simply left out."""

    @model_validator(mode="after")
    def _form_totals(self) -> WorkspaceInput:
        if self.form_data:
            check_form_totals({k: v for k, v in self.form_data.items() if v is not None})
        return self


class WorkspaceUpdates(_ClientFields):
    """``workspace.update``'s patch: only the fields given change; ``form_data`` is merged key by key."""

    @model_validator(mode="after")
    def _not_empty(self) -> WorkspaceUpdates:
        if not self.model_fields_set:
            raise PydanticCustomError("invalid_value", "must name at least one field to change")
        if "title" in self.model_fields_set and self.title is None:
            raise PydanticCustomError("invalid_value", "must be a string", {"path": "title"})
        if "form_data" in self.model_fields_set and self.form_data is None:
            raise PydanticCustomError(
                "invalid_value", "must be an object (null values remove keys)", {"path": "form_data"}
            )
        return self

    def patch(self) -> dict[str, Any]:
        """The stored patch, in the shape of ``updates`` (only the fields that were given)."""
        return self.model_dump(include=self.model_fields_set)


class Ping(Inbound):
    type: Literal["ping"]


class WorkspaceList(Inbound):
    type: Literal["workspace.list"]


class WorkspaceCreate(Inbound):
    type: Literal["workspace.create"]
    workspace: WorkspaceInput | None = None
    position: Position | None = None


class WorkspaceUpdate(Inbound):
    type: Literal["workspace.update"]
    workspace_id: ObjectIdStr
    updates: WorkspaceUpdates


class WorkspaceDelete(Inbound):
    type: Literal["workspace.delete"]
    workspace_id: ObjectIdStr


class WorkspaceReorder(Inbound):
    type: Literal["workspace.reorder"]
    order: Annotated[list[ObjectIdStr], Field(max_length=100_000)]


class VideoGenerate(Inbound):
    type: Literal["video.generate"]
    workspace_id: ObjectIdStr
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class VideoCancel(Inbound):
    type: Literal["video.cancel"]
    workspace_id: ObjectIdStr


class AiSuggest(Inbound):
    type: Literal["ai.suggest"]
    workspace_id: ObjectIdStr
    message: AiMessageText
    apply: bool = False


JobStatusName = Literal["queued", "running", "completed", "failed", "cancelled"]


class JobStart(Inbound):
    """PROTOCOL.md 8.2: start a job. The kind, whether it takes ``workspace_id`` and its params are checked by the
    server's registry of kinds (an unknown kind or param is ``invalid_message`` there)."""

    type: Literal["job.start"]
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    workspace_id: ObjectIdStr | None = None
    params: Annotated[dict[str, Any], Field(max_length=64)] | None = None


class JobCancel(Inbound):
    type: Literal["job.cancel"]
    job_id: ObjectIdStr


class JobList(Inbound):
    type: Literal["job.list"]
    status: list[JobStatusName] | None = None  # any subset; repeats are harmless


class AuthRefresh(Inbound):
    """PROTOCOL.md 9.1: swap the connection's token before it expires (same project; new sub and role apply)."""

    type: Literal["auth.refresh"]
    token: Annotated[str, Field(min_length=1, max_length=16384)]


PRESENCE_STATE_MAX_BYTES = 2048  # PROTOCOL.md 10.1: ``state`` as compact UTF-8 JSON, as sent


def _check_presence_state(state: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())
    if size > PRESENCE_STATE_MAX_BYTES:
        raise PydanticCustomError(
            "too_large",
            "at most {limit} bytes as JSON (this is {size})",
            {"limit": PRESENCE_STATE_MAX_BYTES, "size": size},
        )
    return state


class PresenceUpdate(Inbound):
    """PROTOCOL.md 10.1: what this connection is looking at; forwarded to the project's other connections, never
    stored as a change."""

    type: Literal["presence.update"]
    state: Annotated[dict[str, Any], AfterValidator(_check_presence_state)]


class WorkspaceHistory(Inbound):
    """PROTOCOL.md 10.2: the stored changes of a workspace, newest first."""

    type: Literal["workspace.history"]
    workspace_id: ObjectIdStr
    before_version: Annotated[int, Field(ge=1)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class WorkspaceRestore(Inbound):
    """PROTOCOL.md 10.2: a forward change back to the client-writable fields of ``version``."""

    type: Literal["workspace.restore"]
    workspace_id: ObjectIdStr
    version: Annotated[int, Field(ge=1)]


ClientMessage = Annotated[
    Ping
    | WorkspaceList
    | WorkspaceCreate
    | WorkspaceUpdate
    | WorkspaceDelete
    | WorkspaceReorder
    | VideoGenerate
    | VideoCancel
    | AiSuggest
    | AuthRefresh
    | JobStart
    | JobCancel
    | JobList
    | PresenceUpdate
    | WorkspaceHistory
    | WorkspaceRestore,
    Field(discriminator="type"),
]

CLIENT_MESSAGE_TYPES: frozenset[str] = frozenset(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in (
        Ping,
        WorkspaceList,
        WorkspaceCreate,
        WorkspaceUpdate,
        WorkspaceDelete,
        WorkspaceReorder,
        VideoGenerate,
        VideoCancel,
        AiSuggest,
        AuthRefresh,
        JobStart,
        JobCancel,
        JobList,
        PresenceUpdate,
        WorkspaceHistory,
        WorkspaceRestore,
    )
)
