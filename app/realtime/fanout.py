"""How an announced write reaches the other connections: within this process, or through MongoDB to every process.

The write path (``app.writes``) asks a ``Fanout`` to ``carry`` a write's events before the write and tells it
``written`` once the database acknowledged it. The two implementations:

- ``LocalFanout`` (``FANOUT=local``, the default): nothing is stored; ``written`` hands the events to this
  process's hub.
- ``ChangeStreamFanout`` (``FANOUT=changestream``): ``carry`` returns one field, ``_fanout``
  (``app.writes.announce``), that the write stores with it (no extra write); every process watches the collection
  with a change stream and forwards each carried event to its own connections, skipping the sender by connection
  id. So several processes behind one load balancer serve one timeline, and every process sees the events in the
  database's order. A delete's event rides on a marking update just before it and is delivered when the delete
  itself comes through the stream.

The watcher keeps the resume token of the last change it saw; after a hiccup it reopens the stream from there,
so nothing written meanwhile is missed. When the database no longer has that point in its history, the events
in between are gone: every connection of this process is closed with 1011 (PROTOCOL.md 3.4: unexpected server
failure) so its client reconnects and reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from loguru import logger
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from app.realtime.hub import Hub
from app.writes import FIELD, Event, decode_carried, encode_carried
from protocol import codes
from providers.backoff import backoff_delay

# CappedPositionLost, ChangeStreamFatalError, ChangeStreamHistoryLost, and older servers' "resume point no longer in
# the oplog" / "resume token not found"
_HISTORY_LOST = frozenset({136, 280, 286, 40576, 40585})
_TOKEN_REFUSED = frozenset({2, 9})  # BadValue, FailedToParse: the database cannot use the token to resume at all
_NOT_SUPPORTED = frozenset({40573})  # "The $changeStream stage is only supported on replica sets"
_MAX_PENDING_DELETES = 10_000
_MAX_BACKOFF_S = 5.0


class LocalFanout:
    """One process: events go straight to this process's connections once their write is acknowledged."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def carry(self, project: str, events: Sequence[Event], *, on_delete: bool = False) -> dict[str, Any]:
        return {}

    def written(self, project: str, events: Sequence[Event]) -> None:
        for message, origin in events:
            self.hub.publish(project, message, origin)


class ChangeStreamFanout:
    """Events ride on their writes and come back to every process through a change stream on ``workspaces``."""

    def __init__(self, hub: Hub, collection: AsyncCollection[dict[str, Any]], *, max_await_ms: int = 500) -> None:
        self.hub = hub
        self.collection = collection
        self.max_await_ms = max_await_ms
        self.resume_token: Mapping[str, Any] | None = None
        self.up = False  # following the stream (False while reopening it)
        self.resumes = 0  # streams reopened from a resume token after an error
        self.delivered = 0  # carried events handed to the hub
        self._stream: AsyncChangeStream[dict[str, Any]] | None = None
        self._stop = asyncio.Event()
        self._pending_deletes: OrderedDict[Any, dict[str, Any]] = OrderedDict()

    # ---- the write side ----------------------------------------------------------------------------------

    def carry(self, project: str, events: Sequence[Event], *, on_delete: bool = False) -> dict[str, Any]:
        return encode_carried(project, events, on_delete=on_delete)

    def written(self, project: str, events: Sequence[Event]) -> None:
        return None  # the stream delivers them, to this process too

    # ---- the watching side -------------------------------------------------------------------------------

    def _pipeline(self) -> list[dict[str, Any]]:
        return [
            {
                "$match": {
                    "$or": [
                        {"operationType": "delete"},
                        {"operationType": {"$in": ["insert", "replace"]}, f"fullDocument.{FIELD}": {"$exists": True}},
                        {f"updateDescription.updatedFields.{FIELD}": {"$exists": True}},
                    ]
                }
            },
            {"$project": {"operationType": 1, "documentKey": 1, f"fullDocument.{FIELD}": 1, "updateDescription": 1}},
        ]

    async def _open(self) -> AsyncChangeStream[dict[str, Any]]:
        return await self.collection.watch(
            self._pipeline(), resume_after=self.resume_token, max_await_time_ms=self.max_await_ms
        )

    async def start(self) -> None:
        """Open the stream before the server takes connections, so no change after start-up is missed. Fails
        when the database cannot stream changes (a standalone mongod: change streams need a replica set)."""
        try:
            self._stream = await self._open()
        except OperationFailure as exc:
            if exc.code in _NOT_SUPPORTED:
                raise RuntimeError(
                    "FANOUT=changestream needs a database with change streams (a MongoDB replica set, or the "
                    "embedded SecantusDB); this one refused: " + str(exc.details.get("errmsg") if exc.details else exc)
                ) from exc
            raise
        self.resume_token = self._stream.resume_token
        self.up = True

    def stop(self) -> None:
        """Stop between two reads (a read is never cancelled mid-flight: see ``Poller.stop``)."""
        self._stop.set()

    async def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            opening = self._stream is None
            try:
                if self._stream is None:
                    self._stream = await self._open()
                    self.resumes += 1
                    self.up = True
                    logger.info("change stream reopened from its resume token")
                    failures = 0
                await self._follow(self._stream)
            except Exception as exc:  # a bug in a consumer must not end this process's fanout for good either
                await self._drop_stream()
                failures += 1
                backoff = backoff_delay(failures, base=0.1, cap=_MAX_BACKOFF_S)
                if isinstance(exc, OperationFailure):
                    refused = opening and self.resume_token is not None and exc.code in _TOKEN_REFUSED
                    if exc.code in _HISTORY_LOST or refused:
                        await self._history_lost(exc)
                        continue
                if isinstance(exc, PyMongoError):  # network errors name hosts: log the kind, not the text
                    what = exc if isinstance(exc, OperationFailure) else type(exc).__name__
                    logger.warning("change stream interrupted: {}; reopening in {:.1f} s", what, backoff)
                else:
                    logger.exception("change stream consumer failed; reopening in {:.1f} s", backoff)
                await self._pause(backoff)
        await self._drop_stream()

    async def _follow(self, stream: AsyncChangeStream[dict[str, Any]]) -> None:
        while not self._stop.is_set():
            change = await stream.try_next()  # returns None after max_await_ms without a change
            if change is not None:
                self._deliver(change)
            self.resume_token = stream.resume_token

    def _deliver(self, change: Mapping[str, Any]) -> None:
        kind = change.get("operationType")
        key = (change.get("documentKey") or {}).get("_id")
        if kind == "delete":
            payload = self._pending_deletes.pop(key, None)
        else:
            if kind == "update":
                raw = ((change.get("updateDescription") or {}).get("updatedFields") or {}).get(FIELD)
            else:
                raw = (change.get("fullDocument") or {}).get(FIELD)
            payload = decode_carried(raw)
            if payload is not None and payload.get("d"):  # wait for the delete itself
                self._pending_deletes[key] = payload
                while len(self._pending_deletes) > _MAX_PENDING_DELETES:
                    self._pending_deletes.popitem(last=False)
                return
        if payload is None:
            return
        project = payload["p"]
        for origin, text in payload["e"]:
            self.hub.publish_text(project, text, origin)
            self.delivered += 1

    async def _history_lost(self, exc: OperationFailure) -> None:
        logger.error(
            "the change stream cannot resume ({}); closing this process's connections (1011) so clients reload",
            exc.code,
        )
        self.resume_token = None
        self._pending_deletes.clear()
        try:  # a fresh stream first, so a client that reconnects after the close below misses nothing more
            self._stream = await self._open()
            self.resume_token = self._stream.resume_token
            self.up = True
        except PyMongoError as again:  # run() opens it on its next turn
            logger.warning("could not open a fresh change stream: {}", type(again).__name__)
        await self.hub.close_all(codes.WS_INTERNAL_ERROR, "missed changes; reconnect and reload")

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _drop_stream(self) -> None:
        self.up = False
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(PyMongoError):
                await stream.close()
