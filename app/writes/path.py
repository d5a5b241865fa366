"""The write path: the one place that writes documents other connections must hear of, and announces them.

Every service (workspaces' structure and updates, uploads, video start/cancel, the poller, AI, the job engine)
hands a ``WritePath`` what to change, the events the change makes true and who sent them; it

1. asks the fanout to ``carry`` the events (with ``FANOUT=changestream`` they are stored with the write, so the
   change stream brings them to every process in the database's order; with ``FANOUT=local`` nothing is added),
2. writes (one command: the carried field joins the write's ``$set``, or the inserted document),
3. once the database acknowledged it, and only if it matched, tells the fanout it is ``written`` (with
   ``FANOUT=local`` that is when this process's connections hear of it).

A write that matched nothing (a guard failed: someone else changed or deleted the document) announces nothing and
says so (``False``); a write that raised announces nothing. Writes that announce nothing (a lease, a poll time)
go through here too, with no events, so this module stays the only writer of the collections it is given.

One ``WritePath`` per collection: ``workspaces`` (with the cross-workspace ``BulkUpdater`` for the coalesced
updates: ``batched=True``, and the shot history of ``app.writes.history``: a write's ``record`` is stored right
after it, before it is announced and confirmed) and ``jobs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from app.writes.announce import Event, Fanout
from app.writes.bulk import BulkUpdater
from app.writes.history import History

Doc = dict[str, Any]


def _carrying(update: Mapping[str, Any], carried: Mapping[str, Any]) -> Doc:
    if not carried:
        return dict(update)
    return {**update, "$set": {**update.get("$set", {}), **carried}}


class WritePath:
    def __init__(
        self,
        collection: AsyncCollection[Doc],
        fanout: Fanout,
        *,
        admit: Callable[[], None] | None = None,  # the batched writes refuse at once while the database is down
        history: History | None = None,
    ) -> None:
        self.collection = collection
        self.fanout = fanout
        self.bulk = BulkUpdater(collection, admit=admit)  # idle until a batched update: no cost for the others
        self.history = history

    async def _record(self, records: Sequence[Doc]) -> None:
        if records and self.history is not None:
            await self.history.record(list(records))

    async def insert(
        self, project: str, docs: Sequence[tuple[Doc, Sequence[Event]]], *, records: Sequence[Doc] = ()
    ) -> None:
        """Insert ``docs`` in order, each carrying its own events (a ``DuplicateKeyError`` propagates, announcing
        nothing); then their history ``records``."""
        stored = [{**doc, **self.fanout.carry(project, events)} for doc, events in docs]
        if len(stored) == 1:
            await self.collection.insert_one(stored[0])
        elif stored:
            await self.collection.insert_many(stored, ordered=True)
        await self._record(records)
        self.fanout.written(project, [event for _, events in docs for event in events])

    async def update(
        self,
        project: str,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        events: Sequence[Event] = (),
        *,
        batched: bool = False,
        record: Doc | None = None,
    ) -> bool:
        """Apply ``update`` to the document ``query`` matches; True when it matched (then its history ``record``
        is stored and ``events`` are announced). ``batched``: through the ``BulkUpdater`` (ready updates of
        different documents share one ``bulk_write``)."""
        full = _carrying(update, self.fanout.carry(project, events) if events else {})
        if batched:
            matched = await self.bulk.update_one(dict(query), full)
        else:
            matched = (await self.collection.update_one(query, full)).matched_count == 1
        if matched and record is not None:
            await self._record([record])
        if matched and events:
            self.fanout.written(project, events)
        return matched

    async def update_in_order(
        self,
        project: str,
        ops: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
        events: Sequence[Event] = (),
        *,
        marker: Mapping[str, Any] | None = None,
    ) -> None:
        """Several updates as one ordered ``bulk_write``, the last one carrying ``events`` (whoever hears of them
        can read every change). With no update, the events ride on a ``$set`` of ``marker``'s document."""
        carried = self.fanout.carry(project, events) if events else {}
        if ops:
            last = len(ops) - 1
            requests = [UpdateOne(q, _carrying(u, carried) if n == last else dict(u)) for n, (q, u) in enumerate(ops)]
            await self.collection.bulk_write(requests, ordered=True)
        elif carried and marker is not None:
            await self.collection.update_one(marker, {"$set": carried})
        if events:
            self.fanout.written(project, events)

    async def delete(
        self,
        project: str,
        query: Mapping[str, Any],
        events: Sequence[Event],
        *,
        projection: Mapping[str, Any] | None = None,
    ) -> Doc | None:
        """Delete the document ``query`` matches and return it (``projection`` of it), or None when there was
        none. A delete cannot carry anything: the events ride on a marking update just before it, delivered when
        the delete itself comes through the change stream."""
        carried = self.fanout.carry(project, events, on_delete=True) if events else {}
        if carried:
            await self.collection.update_one(query, {"$set": carried})
        removed = await self.collection.find_one_and_delete(query, projection)
        if removed is not None and events:
            self.fanout.written(project, events)
        return removed

    async def take(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, sort: list[tuple[str, int]] | None = None
    ) -> Doc | None:
        """``find_one_and_update`` returning the document after the update (a claim: it announces nothing; the
        caller's next ``update`` does)."""
        taken: Doc | None = await self.collection.find_one_and_update(
            query, update, sort=sort, return_document=ReturnDocument.AFTER
        )
        return taken
