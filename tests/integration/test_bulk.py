"""BulkUpdater against the real database: updates that are ready together share one bulk_write, and each still
learns whether its own filter matched."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson.errors import InvalidDocument
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DocumentTooLarge

from app.writes.bulk import TOKEN, BulkUpdater


@pytest.fixture
async def collection(db_uri: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(db_uri)
    name = "bulk_" + uuid.uuid4().hex[:10]
    yield client[name]["docs"]
    await client.drop_database(name)
    await client.close()


async def test_a_lone_update_is_one_command_and_says_whether_it_matched(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.insert_one({"_id": 1, "version": 1})
    bulk = BulkUpdater(collection)
    assert await bulk.update_one({"_id": 1, "version": 1}, {"$set": {"a": 1}, "$inc": {"version": 1}}) is True
    assert await bulk.update_one({"_id": 1, "version": 1}, {"$set": {"a": 2}, "$inc": {"version": 1}}) is False
    assert bulk.commands == 2
    doc = await collection.find_one({"_id": 1})
    assert doc is not None and doc["a"] == 1 and doc["version"] == 2


async def test_updates_ready_together_share_a_command_and_each_learns_its_own_outcome(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    await collection.insert_many([{"_id": i, "version": 1} for i in range(12)])
    bulk = BulkUpdater(collection)
    # Every third filter names a version the document does not have (as when another process wrote first), and
    # one names a document that is not there (deleted meanwhile).
    queries = [{"_id": i, "version": 5 if i % 3 == 0 else 1} for i in range(12)] + [{"_id": 99, "version": 1}]
    outcomes = await asyncio.gather(
        *(bulk.update_one(q, {"$set": {"a": q["_id"]}, "$inc": {"version": 1}}) for q in queries)
    )
    assert outcomes == [i % 3 != 0 for i in range(12)] + [False]
    assert bulk.commands == 1  # submitted together, sent together
    async for doc in collection.find():
        applied = doc["_id"] % 3 != 0
        assert (doc.get("a") == doc["_id"]) is applied and doc["version"] == (2 if applied else 1)
        assert (TOKEN in doc) is applied
    assert await collection.count_documents({}) == 12


async def test_an_update_is_known_as_applied_even_after_another_writer_touched_the_document(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    """Another process's writer pushes its own tokens onto _w; ours is still found among the last few. Theirs does
    not touch `version`, so ours matches whichever of the two commands the database runs first."""
    await collection.insert_many([{"_id": 1, "version": 1}, {"_id": 2, "version": 1}])
    ours, theirs = BulkUpdater(collection), BulkUpdater(collection)
    applied, stale, _ = await asyncio.gather(
        ours.update_one({"_id": 1, "version": 1}, {"$inc": {"version": 1}}),
        ours.update_one({"_id": 2, "version": 7}, {"$inc": {"version": 1}}),  # short: forces the read-back
        theirs.update_one({"_id": 1}, {"$set": {"b": 1}}),
    )
    assert (applied, stale) == (True, False)
    doc = await collection.find_one({"_id": 1})
    assert doc is not None and doc["version"] == 2 and doc["b"] == 1 and len(doc[TOKEN]) == 2


async def test_an_update_bson_cannot_hold_fails_alone_and_its_neighbours_are_written(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    """Updates that cannot be encoded (an integer beyond int64, a value of no BSON type, a statement over 16 MiB)
    share a batch with valid updates of other documents: each bad one gets its own exception and is not sent,
    while the neighbours are written in one command and each still learns whether it matched."""
    await collection.insert_many([{"_id": i, "version": 1} for i in range(8)])
    bulk = BulkUpdater(collection)
    updates: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"_id": 0, "version": 1}, {"$set": {"a": 0}}),
        ({"_id": 1, "version": 1}, {"$set": {"x": 2**70}}),  # what passed validation before PROTOCOL.md 9.5
        ({"_id": 2, "version": 1}, {"$set": {"a": 2}}),
        ({"_id": 3, "version": 1}, {"$set": {"x": object()}}),
        ({"_id": 4, "version": 9}, {"$set": {"a": 4}}),  # stale: forces the read-back with failures in the batch
        ({"_id": 5, "version": 1}, {"$set": {"x": "y" * (17 * 1024 * 1024)}}),
        ({"_id": 6, "version": 1}, {"$set": {"a": 6}}),
    ]
    outcomes = await asyncio.gather(*(bulk.update_one(q, u) for q, u in updates), return_exceptions=True)
    assert isinstance(outcomes[1], OverflowError)
    assert isinstance(outcomes[3], InvalidDocument)
    assert isinstance(outcomes[5], DocumentTooLarge)
    assert [outcomes[i] for i in (0, 2, 4, 6)] == [True, True, False, True]
    assert bulk.commands == 1
    docs = {doc["_id"]: doc async for doc in collection.find()}
    assert {i for i, doc in docs.items() if "a" in doc} == {0, 2, 6}
    assert {i for i, doc in docs.items() if TOKEN in doc} == {0, 2, 6}
    assert all("x" not in doc for doc in docs.values()) and all(doc["version"] == 1 for doc in docs.values())


async def test_an_update_the_database_refuses_fails_alone(collection: AsyncCollection[dict[str, Any]]) -> None:
    """A write error (here $inc of a string) names its index: that update fails, the others in the command land."""
    await collection.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": "text"}, {"_id": 3, "n": 1}])
    bulk = BulkUpdater(collection)
    outcomes = await asyncio.gather(
        *(bulk.update_one({"_id": i}, {"$inc": {"n": 1}}) for i in (1, 2, 3)), return_exceptions=True
    )
    assert outcomes[0] is True and outcomes[2] is True and isinstance(outcomes[1], BulkWriteError)
    assert bulk.commands == 1
    assert [doc["n"] async for doc in collection.find().sort("_id")] == [2, "text", 2]


async def test_ready_returns_once_the_batch_in_flight_is_done(collection: AsyncCollection[dict[str, Any]]) -> None:
    """``ready`` (the gate of the update pipeline's writer) waits for the bulk_write in flight, not for later ones."""
    await collection.insert_many([{"_id": i, "version": 1} for i in range(3)])
    bulk = BulkUpdater(collection)
    await bulk.ready()  # nothing in flight: at once
    first = asyncio.ensure_future(bulk.update_one({"_id": 0, "version": 1}, {"$inc": {"version": 1}}))
    await asyncio.sleep(0)  # the lone update is in flight now
    ready = asyncio.ensure_future(bulk.ready())
    await ready
    assert first.done() and first.result() is True
