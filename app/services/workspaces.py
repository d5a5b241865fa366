"""Workspace operations shared by the WebSocket handlers and the REST routes.

Updates go through the coalescing writer: per workspace one ``update_one`` at a time, guarded by the version it
was computed from, so the merged ``form_data`` limits are checked against what is stored without a read per
update (the form of recently written workspaces is cached, and a version mismatch reloads it). The writes of
different workspaces that are ready together go to the database as one ``bulk_write`` (``app.services.bulk``).
Structural changes of a timeline (create, delete, reorder) are serialised per project in this process.

Every write that other connections must hear of goes through the fanout (``app.realtime.fanout``): the events
are described before the write (``carry``: with ``FANOUT=changestream`` they are stored with it) and released
once it is acknowledged (``written``).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.auth import owner_of  # issue 14.1
from app.db import iso, utcnow, workspace_to_wire
from app.errors import AppError, not_found
from app.media import MediaStore
from app.realtime.fanout import FIELD as FANOUT_FIELD
from app.realtime.fanout import Event, Fanout
from app.realtime.writer import CoalescingWriter
from app.services.bulk import BulkUpdater
from app.services.ordering import plan_reorder, position_for_insert, renumber
from protocol import (
    Workspace,
    WorkspaceCreated,
    WorkspaceDeleted,
    WorkspaceInput,
    WorkspaceReordered,
    WorkspaceUpdated,
    check_form_totals,
    codes,
    merge_form,
)

Key = tuple[str, str]  # (project, workspace id)

_FORM_CACHE_SIZE = 10_000
_VERSION_RETRIES = 5


@dataclass(frozen=True)
class Patch:
    changes: dict[str, Any]  # same shape as ``updates``; form_data values None = remove
    origin: str | None = None  # connection id of the sender (None: REST)


@dataclass(frozen=True)
class WriteResult:
    version: int
    updated_at: str


@dataclass
class _Cached:
    version: int
    form: dict[str, Any] = field(default_factory=dict)


def _oid(workspace_id: str) -> ObjectId:
    if not ObjectId.is_valid(workspace_id) or len(workspace_id) != 24:
        raise not_found(workspace_id)
    return ObjectId(workspace_id)


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "form_data":
            into.setdefault("form_data", {}).update(value)
        else:
            into[name] = value


def _mongo_update(merged: dict[str, Any], now: datetime, carried: dict[str, Any]) -> dict[str, Any]:
    set_: dict[str, Any] = {"updated_at": now, **carried}
    unset: dict[str, Any] = {}
    for name, value in merged.items():
        if name == "form_data":
            for key, item in value.items():
                if item is None:
                    unset[f"form_data.{key}"] = ""
                else:
                    set_[f"form_data.{key}"] = item
        else:
            set_[name] = value
    update: dict[str, Any] = {"$set": set_, "$inc": {"version": 1}}
    if unset:
        update["$unset"] = unset
    return update


def _events(workspace_id: str, patches: list[Patch], merged: dict[str, Any], result: WriteResult) -> list[Event]:
    """What the other connections hear of one write: the merged patch when one connection sent it all (the common
    case), else each patch to everyone but its own sender, in order."""
    origins = {p.origin for p in patches}
    if len(origins) == 1:
        return [
            (
                WorkspaceUpdated(
                    workspace_id=workspace_id, changes=merged, version=result.version, updated_at=result.updated_at
                ),
                next(iter(origins)),
            )
        ]
    return [
        (
            WorkspaceUpdated(
                workspace_id=workspace_id, changes=p.changes, version=result.version, updated_at=result.updated_at
            ),
            p.origin,
        )
        for p in patches
    ]


class WorkspaceService:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        fanout: Fanout,
        *,
        media: MediaStore,
        debounce_s: float = 0.0,
        max_wait_s: float = 1.0,
        on_write: Callable[[float, int], None] | None = None,
        on_deleted: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        on_reorder: Callable[[int], None] | None = None,
        admit: Callable[[], None] | None = None,  # raises to refuse an update at once (the database is down)
    ) -> None:
        self.on_reorder = on_reorder  # (documents rewritten), for metrics
        self.on_deleted = on_deleted  # e.g. cancel a running generation at its provider
        self.collection = collection
        self.on_write = on_write  # (seconds, updates in the write), for metrics
        self.fanout = fanout
        self.media = media
        self.writer: CoalescingWriter[Key, Patch, WriteResult] = CoalescingWriter(
            self._flush, debounce_s=debounce_s, max_wait_s=max_wait_s, admit=admit
        )
        self.bulk = BulkUpdater(collection, admit=admit)  # workspaces' writes ready together: one command
        self._forms: OrderedDict[Key, _Cached] = OrderedDict()
        self._project_locks: dict[str, asyncio.Lock] = {}
        self.coalesced_updates = 0  # updates that shared a write with an earlier one

    # ---- reads -------------------------------------------------------------------------------------------

    async def list_all(self, project: str) -> list[Workspace]:
        cursor = self.collection.find({"project": project}, {FANOUT_FIELD: 0})
        cursor = cursor.sort([("order_index", ASCENDING), ("_id", ASCENDING)])
        return [workspace_to_wire(raw) async for raw in cursor]

    async def get(self, project: str | None, workspace_id: str) -> Workspace:
        query: dict[str, Any] = {"_id": _oid(workspace_id)}
        if project is not None:
            query["project"] = project
        raw = await self.collection.find_one(query, {FANOUT_FIELD: 0})
        if raw is None:
            raise not_found(workspace_id)
        return workspace_to_wire(raw)

    def _lock(self, project: str) -> asyncio.Lock:
        lock = self._project_locks.get(project)
        if lock is None:
            lock = self._project_locks[project] = asyncio.Lock()
        return lock

    # ---- create ------------------------------------------------------------------------------------------

    async def create(
        self,
        project: str,
        fields: WorkspaceInput | None,
        *,
        position: int | None = None,
        message_id: str | None = None,
        origin: str | None = None,
    ) -> Workspace:
        create_id = f"{project}/{message_id}" if message_id else None
        if create_id:
            existing = await self.collection.find_one({"create_msg_id": create_id})
            if existing is not None:
                return workspace_to_wire(existing)
        values = fields.model_dump(exclude_unset=True) if fields else {}
        if values.get("form_data") is not None:
            values["form_data"] = {k: v for k, v in values["form_data"].items() if v is not None}
        self._check_image(values)
        foreign = await self._foreign_image(project, values)  # issue 14.1
        if foreign is not None:
            raise foreign
        async with self._lock(project):
            order_index = await self._insert_position(project, position)
            now = utcnow()
            doc: dict[str, Any] = {
                "_id": ObjectId(),
                "project": project,
                "order_index": order_index,
                "title": values.get("title") or "",
                "image_path": values.get("image_path"),
                "image_url": values.get("image_url"),
                "form_data": values.get("form_data") or {},
                "video": {
                    "status": "idle",
                    "provider": None,
                    "task_id": None,
                    "progress": 0,
                    "url": None,
                    "source_url": None,
                    "error": None,
                    "updated_at": None,
                },
                "ai_collaboration": [],
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            if create_id:
                doc["create_msg_id"] = create_id
            workspace = workspace_to_wire(doc)
            events: list[Event] = [(WorkspaceCreated(workspace=workspace), origin)]
            try:
                await self.collection.insert_one({**doc, **self.fanout.carry(project, events)})
            except DuplicateKeyError:
                existing = await self.collection.find_one({"create_msg_id": create_id})
                if existing is None:
                    raise
                return workspace_to_wire(existing)
        self.fanout.written(project, events)
        return workspace

    async def _insert_position(self, project: str, position: int | None) -> float:
        def ordered() -> Any:
            return self.collection.find({"project": project}, {"order_index": 1})

        value: float | None = None
        if position is not None:
            cursor = ordered().sort("order_index", ASCENDING).skip(max(position - 1, 0)).limit(2)
            neighbours = [d["order_index"] async for d in cursor]
            if position == 0 and neighbours:
                value = position_for_insert(neighbours[:1], 0, 1)
            elif position > 0 and len(neighbours) == 2:
                value = position_for_insert(neighbours, position, position + 2)
            else:
                position = None  # at or past the end
        if position is None:
            last = [d["order_index"] async for d in ordered().sort("order_index", DESCENDING).limit(1)]
            value = position_for_insert(last, None, len(last))
        if value is None:  # floats exhausted between two cards: spread the timeline out, then retry once
            await self._renumber(project)
            return await self._insert_position(project, position)
        return value

    async def _renumber(self, project: str) -> None:
        cursor = self.collection.find({"project": project}, {"_id": 1}).sort("order_index", ASCENDING)
        ids = [d["_id"] async for d in cursor]
        now = utcnow()
        ops = [
            UpdateOne({"_id": i}, {"$set": {"order_index": v, "updated_at": now}, "$inc": {"version": 1}})
            for i, v in renumber(ids).items()
        ]
        if ops:
            await self.collection.bulk_write(ops, ordered=False)

    # ---- update ------------------------------------------------------------------------------------------

    def _check_image(self, changes: dict[str, Any]) -> None:
        path = changes.get("image_path")
        if path and not self.media.has_upload(Path(path).name):
            raise AppError(codes.INVALID_MESSAGE, "image_path: no such upload on this server")

    async def _foreign_image(self, project: str, changes: dict[str, Any]) -> AppError | None:
        """issue 14.1 (PROTOCOL.md 9.1): an ``image_path`` may only name an upload of the workspace's project."""
        path = changes.get("image_path")
        if not path or await owner_of(self.collection, f"uploads/{Path(path).name}") == project:
            return None
        return AppError(codes.INVALID_MESSAGE, "image_path: no such upload in this project")

    def submit_update(
        self, project: str, workspace_id: str, changes: dict[str, Any], *, origin: str | None = None
    ) -> asyncio.Future[WriteResult]:
        """Queue an update (synchronously, so per-connection order is the call order). The future resolves
        once the write holding it is acknowledged."""
        self._check_image(changes)
        return self.writer.submit((project, str(_oid(workspace_id))), Patch(changes, origin))

    async def update(
        self, project: str, workspace_id: str, changes: dict[str, Any], *, origin: str | None = None
    ) -> WriteResult:
        return await self.submit_update(project, workspace_id, changes, origin=origin)

    async def _cached_form(self, key: Key, *, reload: bool = False) -> _Cached | None:
        cached = None if reload else self._forms.get(key)
        if cached is None:
            raw = await self.collection.find_one(
                {"_id": ObjectId(key[1]), "project": key[0]}, {"form_data": 1, "version": 1}
            )
            if raw is None:
                self._forms.pop(key, None)
                return None
            cached = _Cached(raw["version"], raw.get("form_data") or {})
        self._forms[key] = cached
        self._forms.move_to_end(key)
        while len(self._forms) > _FORM_CACHE_SIZE:
            self._forms.popitem(last=False)
        return cached

    async def _flush(self, key: Key, patches: list[Patch]) -> list[WriteResult | BaseException]:
        project, workspace_id = key
        reload = False
        for _ in range(_VERSION_RETRIES):
            cached = await self._cached_form(key, reload=reload)
            if cached is None:
                return [not_found(workspace_id)] * len(patches)
            form = cached.form
            merged: dict[str, Any] = {}
            accepted: list[int] = []
            results: list[WriteResult | BaseException] = []
            for patch in patches:
                foreign = await self._foreign_image(project, patch.changes)  # issue 14.1
                if foreign is not None:
                    results.append(foreign)
                    continue
                new_form = form
                if "form_data" in patch.changes:
                    new_form = merge_form(form, patch.changes["form_data"])
                    try:
                        check_form_totals(new_form)
                    except ValueError as exc:  # PydanticCustomError is a ValueError
                        results.append(AppError(codes.INVALID_MESSAGE, f"updates.form_data: {exc}"))
                        continue
                form = new_form
                _merge(merged, patch.changes)
                accepted.append(len(results))
                results.append(WriteResult(0, ""))  # placeholder until the write returns
            if not accepted:
                return results
            now = utcnow()
            result = WriteResult(cached.version + 1, iso(now) or "")
            events = _events(workspace_id, [patches[i] for i in accepted], merged, result)
            started = time.perf_counter()
            # Guarded by the version the merge was computed from, so when it matches the new version is known
            # (old + 1): update_one suffices, no document comes back.
            matched = await self.bulk.update_one(
                {"_id": ObjectId(workspace_id), "project": project, "version": cached.version},
                _mongo_update(merged, now, self.fanout.carry(project, events)),
            )
            if not matched:
                reload = True  # someone else wrote (or it was deleted): reload and try again
                continue
            if self.on_write is not None:
                self.on_write(time.perf_counter() - started, len(accepted))
            self._forms[key] = _Cached(result.version, form)
            for index in accepted:
                results[index] = result
            self.coalesced_updates += len(accepted) - 1
            self.fanout.written(project, events)
            return results
        logger.warning("workspace {} changed under the writer {} times in a row", workspace_id, _VERSION_RETRIES)
        return [AppError(codes.UNAVAILABLE, "the workspace is busy; try again")] * len(patches)

    def forget(self, project: str, workspace_id: str) -> None:
        self._forms.pop((project, workspace_id), None)

    # ---- delete, reorder ---------------------------------------------------------------------------------

    async def delete(self, project: str, workspace_id: str, *, origin: str | None = None) -> bool:
        oid = _oid(workspace_id)
        await self.writer.barrier((project, workspace_id))
        events: list[Event] = [(WorkspaceDeleted(workspace_id=workspace_id), origin)]
        carried = self.fanout.carry(project, events, on_delete=True)
        async with self._lock(project):
            if carried:  # a delete cannot carry its event: the document takes it just before it goes
                await self.collection.update_one({"_id": oid, "project": project}, {"$set": carried})
            removed = await self.collection.find_one_and_delete({"_id": oid, "project": project}, {"video": 1})
        self.forget(project, workspace_id)
        existed = removed is not None
        if removed is not None and self.on_deleted is not None:
            try:
                await self.on_deleted(removed)
            except Exception as exc:  # the delete stands; a provider hiccup must not undo the reply
                logger.warning("after deleting {}: {}", workspace_id, type(exc).__name__)
        if existed:
            self.fanout.written(project, events)
        return existed

    async def reorder(self, project: str, order: list[str], *, origin: str | None = None) -> list[str]:
        await self.writer.barrier_all()
        async with self._lock(project):
            cursor = self.collection.find({"project": project}, {"order_index": 1})
            current = {str(d["_id"]): float(d["order_index"]) async for d in cursor}
            given = set(order)
            missing = [i for i in current if i not in given]
            unknown = [i for i in order if i not in current]
            if missing or unknown or len(order) != len(given):
                raise AppError(
                    codes.CONFLICT,
                    "order must list every workspace of the project exactly once",
                    details={"missing": missing, "unknown": unknown},
                )
            changes = plan_reorder(current, order)
            events: list[Event] = [(WorkspaceReordered(order=order), origin)]
            carried = self.fanout.carry(project, events)
            if changes:
                now = utcnow()
                last = len(changes) - 1
                # In order, the last write carrying the event: whoever hears of it can read the whole new order.
                await self.collection.bulk_write(
                    [
                        UpdateOne(
                            {"_id": ObjectId(i)},
                            {
                                "$set": {"order_index": v, "updated_at": now, **(carried if n == last else {})},
                                "$inc": {"version": 1},
                            },
                        )
                        for n, (i, v) in enumerate(changes.items())
                    ],
                    ordered=True,
                )
                for i in changes:
                    self.forget(project, i)
                if self.on_reorder is not None:
                    self.on_reorder(len(changes))
            elif carried and order:  # nothing moved, but the others still hear of the reorder
                await self.collection.update_one({"_id": ObjectId(order[0])}, {"$set": carried})
        self.fanout.written(project, events)
        return order
