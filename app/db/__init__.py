"""Database access: Beanie documents on PyMongo's async client, and the embedded database launcher."""

from __future__ import annotations

from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.db.documents import DOCUMENT_MODELS, PollerLease, VideoState, WorkspaceDoc, utcnow
from app.db.embedded import EmbeddedDatabase, free_port
from app.db.mapping import iso, video_to_wire, workspace_to_wire

__all__ = [
    "EmbeddedDatabase",
    "PollerLease",
    "VideoState",
    "WorkspaceDoc",
    "connect",
    "free_port",
    "iso",
    "utcnow",
    "video_to_wire",
    "workspace_to_wire",
]


async def connect(uri: str, db_name: str, *, timeout_ms: int = 3000) -> AsyncMongoClient[dict[str, Any]]:
    """Connect, then let Beanie create collections and indexes. Bounded timeouts so an unreachable
    database answers ``unavailable`` quickly instead of hanging a request."""
    options: dict[str, Any] = {} if "appname=" in uri.lower() else {"appname": "workspace-server"}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri,
        **options,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 4, 10000),
        retryWrites=True,
    )
    await init_beanie(database=client[db_name], document_models=DOCUMENT_MODELS)
    return client
