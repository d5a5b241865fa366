"""History's trim against the real database: it deletes by the versions it noted, never reads, and keeps at least
the newest ``keep`` entries of a workspace even when other processes record entries of it in between."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from app.writes.history import TRIM_EVERY, History


@pytest.fixture
async def collection(db_uri: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(db_uri)
    name = "history_" + uuid.uuid4().hex[:10]
    coll = client[name]["workspace_history"]
    await coll.create_index([("workspace_id", 1), ("version", -1)], unique=True)
    yield coll
    await client.drop_database(name)
    await client.close()


def _entry(workspace_id: str, version: int) -> dict[str, Any]:
    changes = {"form_data": {"seed": version}}
    state = {"title": "", "image_path": None, "image_url": None, **changes}
    at = datetime.now(UTC)
    return History.entry("p", workspace_id, version, changes, state, at, origin="c", user=None)


async def _settle(*histories: History) -> None:
    for history in histories:
        while history._trims:
            await asyncio.gather(*list(history._trims))


async def _versions(collection: AsyncCollection[dict[str, Any]], workspace_id: str) -> list[int]:
    return sorted([d["version"] async for d in collection.find({"workspace_id": workspace_id}, {"version": 1})])


async def test_one_process_keeps_the_newest_keep_to_keep_plus_trim_every(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    history = History(collection, keep=50)
    for version in range(1, 301):
        await history.record([_entry("w", version)])
        await _settle(history)
        kept = await _versions(collection, "w")
        assert kept == list(range(kept[0], version + 1))  # the newest, none missing
        assert len(kept) == version or 50 <= len(kept) <= 50 + TRIM_EVERY
    assert len(await _versions(collection, "w")) < 50 + TRIM_EVERY


async def test_entries_of_another_process_in_between_only_mean_more_are_kept(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    ours, theirs = History(collection, keep=50), History(collection, keep=50)
    for version in range(1, 401):
        # ours records two of every three versions, theirs the third: neither sees all entries of the workspace
        await (theirs if version % 3 == 0 else ours).record([_entry("w", version)])
        await _settle(ours, theirs)
        kept = await _versions(collection, "w")
        assert (
            kept[-50:] == list(range(version - 49, version + 1))
            if version >= 50
            else kept == list(range(1, version + 1))
        )
    kept = await _versions(collection, "w")
    assert 50 <= len(kept) <= 2 * (50 + TRIM_EVERY) and kept == list(range(kept[0], 401))
