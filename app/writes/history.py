"""Shot history (PROTOCOL.md 10.2): one entry per stored write of a workspace's client-writable fields, kept in
the ``workspace_history`` collection (``HistoryDoc``), written by the write path right after the write it
records and before that write is confirmed.

An entry holds the write's ``version``, its ``changes`` (the merged patch of the updates coalesced into it), the
client-writable fields as they were after it (``state``: what a restore goes back to, so a restore needs no other
entry), the time and the author. The entries that are ready together go as one ``insert_many`` (the coalescing
writer again), so history costs one command per batch of writes, not one per update.

The history insert is a second write after the workspace's: MongoDB has no cross-collection write without a
transaction, and a transaction per update would cost more than the insert. A crash between the two (or an
insert that fails) leaves that one change stored without its entry: logged, never a failed confirmation, since
the change itself is durable.

The newest ``keep`` entries of each workspace (200) are kept at least, at most ``TRIM_EVERY`` (25) more. Trimming
costs no read: this process notes the version of every 25th entry it records for a workspace (the last nine, per
workspace); once it has nine, at least 8 x 25 + 1 entries are at or after the oldest of them, so everything older
goes, one ranged ``delete_many`` on the ``(workspace_id, version)`` index, in the background. Another process's
entries in between only mean more are kept. (The first version asked the database for the 200th newest entry's
version every 25 entries: a sort and skip over 200 index entries and documents, which in the ``updates``
benchmark cost ~7% of the database's CPU and doubled the confirmations' p99.)
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from datetime import datetime
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError

from app.writes.coalescing import CoalescingWriter

KEEP = 200
TRIM_EVERY = 25
CLIENT_FIELDS = ("title", "image_path", "image_url", "form_data")
_DUPLICATE_KEY = 11000
_COUNTED = 10_000  # workspaces whose marks are remembered (~10 small ints each)


def state_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The client-writable fields of a stored workspace (or of its cached copy)."""
    return {
        "title": doc.get("title") or "",
        "image_path": doc.get("image_path"),
        "image_url": doc.get("image_url"),
        "form_data": dict(doc.get("form_data") or {}),
    }


def restoring(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The ``updates`` patch that turns the client-writable fields ``current`` into ``wanted`` (form keys that
    ``wanted`` lacks are removed: ``None``)."""
    changes: dict[str, Any] = {
        k: wanted.get(k) for k in ("title", "image_path", "image_url") if current.get(k) != wanted.get(k)
    }
    old, new = current.get("form_data") or {}, wanted.get("form_data") or {}
    form = {k: v for k, v in new.items() if old.get(k) != v}
    form.update({k: None for k in old if k not in new})
    if form:
        changes["form_data"] = form
    return changes


class History:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, keep: int = KEEP) -> None:
        self.collection = collection
        self.keep = keep
        self._writer: CoalescingWriter[None, dict[str, Any], None] = CoalescingWriter(self._flush)
        self._marks: OrderedDict[str, tuple[int, deque[int]]] = OrderedDict()  # entries since the last mark, marks
        self._trims: set[asyncio.Task[int]] = set()
        self.inserts = 0  # insert_many commands sent, for the benchmark

    @staticmethod
    def entry(
        project: str,
        workspace_id: str,
        version: int,
        changes: dict[str, Any],
        state: dict[str, Any],
        at: datetime,
        *,
        origin: str | None,
        user: str | None,
    ) -> dict[str, Any]:
        return {
            "_id": ObjectId(),
            "workspace_id": workspace_id,
            "project": project,
            "version": version,
            "changes": changes,
            "state": state,
            "at": at,
            "by": {"connection_id": origin, "user": user},
        }

    async def record(self, entries: list[dict[str, Any]]) -> None:
        """Store ``entries``; never raises (the changes they record are stored already: see the module)."""
        results = await asyncio.gather(*(self._writer.submit(None, e) for e in entries), return_exceptions=True)
        for entry, result in zip(entries, results, strict=True):
            if isinstance(result, BaseException):
                logger.warning(
                    "history entry of {} v{} not stored: {}",
                    entry["workspace_id"],
                    entry["version"],
                    type(result).__name__,
                )

    async def _flush(self, _key: None, entries: list[dict[str, Any]]) -> list[BaseException | None]:
        failed: dict[int, BaseException] = {}
        self.inserts += 1
        try:
            await self.collection.insert_many(entries, ordered=False)
        except BulkWriteError as exc:  # an entry already there (a retried write) is fine; others fail alone
            for error in exc.details.get("writeErrors", []):
                if error.get("code") != _DUPLICATE_KEY:
                    failed[int(error["index"])] = exc
        for i, entry in enumerate(entries):
            if i not in failed:  # only stored entries count towards the ones kept
                self._count(entry["workspace_id"], entry["version"])
        return [failed.get(i) for i in range(len(entries))]

    def _count(self, workspace_id: str, version: int) -> None:
        counted = self._marks.pop(workspace_id, None)
        since, marks = counted if counted is not None else (0, deque(maxlen=-(-self.keep // TRIM_EVERY) + 1))
        since += 1
        if since >= TRIM_EVERY:
            since = 0
            marks.append(version)
            if len(marks) == marks.maxlen:  # (maxlen - 1) * TRIM_EVERY + 1 >= keep entries at or after marks[0]
                task = asyncio.create_task(self.trim(workspace_id, marks[0]), name=f"history-trim:{workspace_id}")
                self._trims.add(task)
                task.add_done_callback(self._trims.discard)
        self._marks[workspace_id] = (since, marks)
        while len(self._marks) > _COUNTED:
            self._marks.popitem(last=False)

    async def trim(self, workspace_id: str, below: int) -> int:
        """Delete the entries of ``workspace_id`` older than ``below``; how many went."""
        try:
            deleted = await self.collection.delete_many({"workspace_id": workspace_id, "version": {"$lt": below}})
            return deleted.deleted_count
        except PyMongoError as exc:  # the next trim tries again
            logger.warning("history trim of {} failed: {}", workspace_id, type(exc).__name__)
            return 0

    async def entries(
        self, project: str, workspace_id: str, *, before_version: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The stored entries of a workspace, newest first."""
        query: dict[str, Any] = {"workspace_id": workspace_id, "project": project}
        if before_version is not None:
            query["version"] = {"$lt": before_version}
        cursor = self.collection.find(query, {"state": 0}).sort("version", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def state_at(self, project: str, workspace_id: str, version: int) -> dict[str, Any] | None:
        """The client-writable fields after ``version``, if its entry is kept."""
        doc = await self.collection.find_one(
            {"workspace_id": workspace_id, "project": project, "version": version}, {"state": 1}
        )
        return None if doc is None else dict(doc["state"])

    async def forget(self, workspace_id: str) -> None:
        """A deleted workspace's history goes with it."""
        self._marks.pop(workspace_id, None)
        await self.collection.delete_many({"workspace_id": workspace_id})

    async def aclose(self) -> None:
        await self._writer.barrier_all()
        if self._trims:
            await asyncio.wait(list(self._trims), timeout=5)
