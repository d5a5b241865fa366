"""Database access: Beanie documents on PyMongo's async client, the embedded database launcher and its
supervisor, and the monitor that knows whether the database answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from beanie import init_beanie
from loguru import logger
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from app.db.documents import (
    DOCUMENT_MODELS,
    RETIRED_INDEXES,
    HistoryDoc,
    JobDoc,
    PollerLease,
    PresenceDoc,
    VideoState,
    WorkspaceDoc,
    created_id,
    new_workspace,
    utcnow,
)
from app.db.embedded import Backoff, EmbeddedDatabase, Supervisor, free_port
from app.db.health import DatabaseHealth, db_unavailable
from app.db.mapping import iso, video_to_wire, workspace_to_wire

__all__ = [
    "RETIRED_INDEXES",
    "Backoff",
    "DatabaseHealth",
    "EmbeddedDatabase",
    "HistoryDoc",
    "JobDoc",
    "PollerLease",
    "PresenceDoc",
    "Supervisor",
    "VideoState",
    "WorkspaceDoc",
    "connect",
    "created_id",
    "db_unavailable",
    "free_port",
    "iso",
    "new_workspace",
    "utcnow",
    "video_to_wire",
    "workspace_to_wire",
]

# How long one operation waits for a server to send it to. Short, so that a database that went away answers
# ``unavailable`` within about a second (the driver's own monitor needs 0.5 s between checks, so much less would
# fail requests that a reconnect a moment later could have served). Start-up still waits ``timeout_ms`` in all.
SELECTION_TIMEOUT_MS = 1000


async def connect(uri: str, db_name: str, *, timeout_ms: int = 3000) -> AsyncMongoClient[dict[str, Any]]:
    """Connect (waiting up to ``timeout_ms`` for the database to answer), then let Beanie create collections and
    indexes. Bounded timeouts so an unreachable database answers ``unavailable`` quickly instead of hanging a
    request."""
    options: dict[str, Any] = {} if "appname=" in uri.lower() else {"appname": "workspace-server"}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri,
        **options,
        tz_aware=True,
        serverSelectionTimeoutMS=min(timeout_ms, SELECTION_TIMEOUT_MS),
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 4, 10000),
        retryWrites=True,
    )
    try:
        await _first_answer(client, timeout_ms / 1000)
        await init_beanie(database=client[db_name], document_models=DOCUMENT_MODELS)
        await _drop_retired_indexes(client[db_name])
    except BaseException:
        await client.close()
        raise
    return client


async def _drop_retired_indexes(database: AsyncDatabase[dict[str, Any]]) -> None:
    for collection, names in RETIRED_INDEXES.items():
        present = {index["name"] async for index in await database[collection].list_indexes()}
        for name in set(names) & present:
            await database[collection].drop_index(name)
            logger.info("dropped the index {} of {}: this version does not use it", name, collection)


async def _first_answer(client: AsyncMongoClient[dict[str, Any]], timeout: float) -> None:
    """Ping until the database answers; each try waits one (short) server selection timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.admin.command("ping")
            return
        except ConnectionFailure:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.05)
