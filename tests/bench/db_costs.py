"""What one document write costs the embedded database (issue 17): CPU of the database process per updated
document, by update shape, document size, indexes and bulk size.

    .venv/bin/python -m tests.bench.db_costs [--docs 20] [--updates 2000]

Each variant runs against a fresh collection with the workspaces' indexes, ``--sync-on-commit`` as the server
runs it; the figure is the database's user+system CPU per updated document and the wall-clock rate."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, AsyncMongoClient, InsertOne, UpdateOne

from app.db import EmbeddedDatabase
from tests.bench.harness import cpu_seconds

Update = Callable[[int], dict[str, Any]]


def _form(i: int) -> dict[str, Any]:
    return {"$set": {"updated_at": time.time(), "form_data.prompt": f"prompt {i}"}, "$inc": {"version": 1}}


def _form_token(i: int) -> dict[str, Any]:
    return {**_form(i), "$push": {"_w": {"$each": [secrets.token_hex(8)], "$slice": -8}}}


def _form_token_set(i: int) -> dict[str, Any]:
    update = _form(i)
    update["$set"]["_w"] = secrets.token_hex(8)
    return update


def _big_doc(n: int) -> dict[str, Any]:
    form = {
        "prompt": "p" * 2000,
        "negative_prompt": "n" * 500,
        "camera_movement": "push_in",
        "shot_size": "wide",
        "lighting": "soft",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "narration": "x" * 1500,
    }
    ai = [{"role": "user", "content": "c" * 300, "at": time.time()} for _ in range(20)]
    return {
        "_id": ObjectId(),
        "project": "bench",
        "order_index": n,
        "version": 0,
        "form_data": form,
        "title": "t",
        "ai_collaboration": ai,
        "video": {"status": "idle"},
    }


def _small_doc(n: int) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "project": "bench",
        "order_index": n,
        "version": 0,
        "form_data": {"prompt": ""},
        "title": "t",
        "video": {"status": "idle"},
    }


async def _run(
    client: AsyncMongoClient[dict[str, Any]],
    pid: int,
    name: str,
    make_doc: Callable[[int], dict[str, Any]],
    update: Update,
    bulk: int,
    docs: int,
    updates: int,
    guard: bool,
    transaction: bool = False,
) -> tuple[str, float, float]:
    coll = client["db_costs"][f"c{secrets.token_hex(4)}"]
    await coll.create_index([("project", ASCENDING), ("order_index", ASCENDING)])
    await coll.create_index([("video.status", ASCENDING)])
    stored = [make_doc(n) for n in range(docs)]
    await coll.insert_many(stored)
    versions = [0] * docs
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    done = 0
    while done < updates:
        requests = []
        for _ in range(min(bulk, updates - done)):
            n = done % docs
            query: dict[str, Any] = {"_id": stored[n]["_id"], "project": "bench"}
            if guard:
                query["version"] = versions[n]
            versions[n] += 1
            requests.append((query, update(done)))
            done += 1
        if len(requests) == 1:
            await coll.update_one(*requests[0])
        elif transaction:
            async with client.start_session() as session, await session.start_transaction():
                await coll.bulk_write([UpdateOne(q, u) for q, u in requests], ordered=False, session=session)
        else:
            await coll.bulk_write([UpdateOne(q, u) for q, u in requests], ordered=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    await coll.drop()
    return name, cpu / updates * 1e6, updates / wall


async def _inserts(
    client: AsyncMongoClient[dict[str, Any]], pid: int, bulk: int, updates: int
) -> tuple[str, float, float]:
    coll = client["db_costs"]["history"]
    await coll.create_index([("workspace_id", ASCENDING), ("version", -1)], unique=True)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    for start in range(0, updates, bulk):
        entries = [
            {
                "_id": ObjectId(),
                "workspace_id": f"w{i % 20}",
                "project": "bench",
                "version": i,
                "changes": {"form_data": {"prompt": f"p{i}"}},
                "state": _small_doc(0)["form_data"],
                "at": time.time(),
                "by": {"connection_id": "c", "user": None},
            }
            for i in range(start, min(start + bulk, updates))
        ]
        await coll.bulk_write([InsertOne(e) for e in entries], ordered=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    await coll.drop()
    return f"history insert_many, bulk {bulk}", cpu / updates * 1e6, updates / wall


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--updates", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp) / "db", log_file=Path(tmp) / "db.log")
        uri = await database.start()
        assert database.process is not None
        pid = database.process.pid
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
        rows = []
        try:
            for bulk in (10, 50):
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"set+inc, guard, bulk {bulk}, one transaction",
                        _small_doc,
                        _form,
                        bulk,
                        args.docs,
                        args.updates,
                        True,
                        transaction=True,
                    )
                )
            for bulk in (1, 10, 50, 200):
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"set+inc, guard, bulk {bulk}",
                        _small_doc,
                        _form,
                        bulk,
                        args.docs,
                        args.updates,
                        True,
                    )
                )
            for bulk in (10, 50):
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"set+inc, no version guard, bulk {bulk}",
                        _small_doc,
                        _form,
                        bulk,
                        args.docs,
                        args.updates,
                        False,
                    )
                )
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"+ $push/$slice _w, bulk {bulk}",
                        _small_doc,
                        _form_token,
                        bulk,
                        args.docs,
                        args.updates,
                        True,
                    )
                )
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"+ $set _w, bulk {bulk}",
                        _small_doc,
                        _form_token_set,
                        bulk,
                        args.docs,
                        args.updates,
                        True,
                    )
                )
                rows.append(
                    await _run(
                        client,
                        pid,
                        f"set+inc, 20 KiB doc, bulk {bulk}",
                        _big_doc,
                        _form,
                        bulk,
                        args.docs,
                        args.updates,
                        True,
                    )
                )
            for bulk in (1, 10, 50):
                rows.append(await _inserts(client, pid, bulk, args.updates))
        finally:
            await client.close()
            await database.stop()
    width = max(len(r[0]) for r in rows)
    print(f"\n{'variant'.ljust(width)}  db CPU us/doc  docs/s")
    for name, us, rate in rows:
        print(f"{name.ljust(width)}  {us:13.0f}  {rate:6.0f}")


if __name__ == "__main__":
    asyncio.run(main())
