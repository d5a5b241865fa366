"""Group commit across documents: the single-document updates that are ready together go as one ``bulk_write``.

The coalescing writer already merges the updates of one workspace into one write, but each workspace's write was
its own command: under load (many workspaces edited at once) that is one round trip, and on the embedded
database one commit, per workspace. ``BulkUpdater.update_one`` has the meaning of ``collection.update_one``
(it tells whether the filter matched) and is built on the same ``CoalescingWriter``: while one ``bulk_write`` is
in flight, the updates that arrive wait and go together in the next one. An idle updater sends at once, so a lone
update costs one round trip as before.

``bulk_write`` reports only how many filters matched in all. When that is all of them (the usual case) each one
matched. Otherwise the documents are read back: each update also pushed a token of its own onto ``_w`` (which
keeps the last few), so an update matched exactly when its document holds its token, whatever other writers
(other processes included) did to the document in between.

One update never fails its neighbours (they may be other projects' writes). Each is encoded to BSON on its own
before the command is built (an integer beyond int64, an unencodable value, a document over the size limit gets
its own exception, and is not sent); the command then carries the encoded bytes, so nothing is encoded twice. An
update the database refuses comes back as a write error naming its index, which fails that update alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from bson import encode
from bson.raw_bson import RawBSONDocument
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DocumentTooLarge

from app.writes.coalescing import CoalescingWriter

TOKEN = "_w"
_KEEP = 8  # tokens kept per document: far more writes than can land between a bulk_write and its read-back
MAX_BSON_BYTES = 16 * 1024 * 1024  # the database's maxBsonObjectSize: one update statement must fit in it
_Update = tuple[dict[str, Any], dict[str, Any], str]  # (filter, update, token)


class BulkUpdater:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, admit: Callable[[], None] | None = None) -> None:
        self.collection = collection
        # admit: refuse at once while the database is down (a batch queued here would wait for it otherwise)
        self._writer: CoalescingWriter[None, _Update, bool] = CoalescingWriter(self._flush, admit=admit)
        self.commands = 0  # bulk_write commands sent (each holds one or more document updates)

    async def update_one(self, query: dict[str, Any], update: dict[str, Any]) -> bool:
        """Apply ``update`` to the document ``query`` matches; True when it matched (and so was applied)."""
        token = secrets.token_hex(8)
        update = {**update, "$push": {**update.get("$push", {}), TOKEN: {"$each": [token], "$slice": -_KEEP}}}
        return await self._writer.submit(None, (query, update, token))

    async def ready(self) -> None:
        """Wait until the ``bulk_write`` in flight now, if any, has returned (see ``CoalescingWriter``'s gate)."""
        await self._writer.settled(None)

    def _encoded(self, query: dict[str, Any], update: dict[str, Any]) -> UpdateOne:
        """The update as the command will carry it, encoded now so that a value BSON cannot hold fails here."""
        options = self.collection.codec_options
        raw_query, raw_update = encode(query, codec_options=options), encode(update, codec_options=options)
        if len(raw_query) + len(raw_update) > MAX_BSON_BYTES:
            raise DocumentTooLarge(f"update of {len(raw_query) + len(raw_update)} bytes; at most {MAX_BSON_BYTES}")
        return UpdateOne(RawBSONDocument(raw_query), RawBSONDocument(raw_update))

    async def _flush(self, _key: None, batch: list[_Update]) -> list[bool | BaseException]:
        if len(batch) == 1:
            self.commands += 1
            query, update, _token = batch[0]
            return [(await self.collection.update_one(query, update)).matched_count == 1]
        failed: dict[int, BaseException] = {}
        sent: list[int] = []  # indices into batch of the updates in the command, in its order
        requests: list[UpdateOne] = []
        for i, (query, update, _token) in enumerate(batch):
            try:
                requests.append(self._encoded(query, update))
            except Exception as exc:  # that update's own failure (OverflowError, InvalidDocument, ...): it alone
                failed[i] = exc
            else:
                sent.append(i)
        matched = 0
        if requests:
            self.commands += 1
            try:
                matched = (await self.collection.bulk_write(requests, ordered=False)).matched_count
            except BulkWriteError as exc:  # some updates were refused; the others went through
                matched = int(exc.details.get("nMatched", 0))
                for error in exc.details.get("writeErrors", []):
                    failed[sent[int(error["index"])]] = exc
        if matched == len(batch) - len(failed):
            return [failed.get(i, True) for i in range(len(batch))]
        ids = [batch[i][0]["_id"] for i in sent if i not in failed]
        held = {doc["_id"]: doc.get(TOKEN) async for doc in self.collection.find({"_id": {"$in": ids}}, {TOKEN: 1})}
        return [failed.get(i, token in (held.get(query["_id"]) or ())) for i, (query, _, token) in enumerate(batch)]
