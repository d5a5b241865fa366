"""Start-up keeps the indexes the models declare and drops the ones an earlier version declared and this one does
not (each index costs every update of its collection)."""

from __future__ import annotations

import uuid
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient

from app.db import RETIRED_INDEXES, WorkspaceDoc, connect


async def test_a_retired_index_is_dropped_and_the_declared_ones_are_made(db_uri: str) -> None:
    name = "indexes_" + uuid.uuid4().hex[:10]
    setup: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(db_uri)
    await setup[name]["workspaces"].create_index(
        [("create_msg_id", ASCENDING)], name="create_msg_id_unique", unique=True, sparse=True
    )
    await setup[name]["workspaces"].create_index([("title", ASCENDING)], name="an_operators_own")
    client = await connect(db_uri, name)
    try:
        present = {index["name"] async for index in await client[name]["workspaces"].list_indexes()}
        declared = {model.document["name"] for model in WorkspaceDoc.Settings.indexes}
        assert "create_msg_id_unique" in RETIRED_INDEXES["workspaces"]
        assert present == {"_id_", "an_operators_own", *declared}  # retired gone, someone else's left alone
    finally:
        await client.drop_database(name)
        await client.close()
        await setup.close()
