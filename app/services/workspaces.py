"""Workspace operations shared by the WebSocket handlers and the REST routes: the timeline's structure.

Structural changes of a timeline (create, delete, reorder) are serialised per project in this process; creates
are idempotent per message id. Updates are the pipeline of ``app.services.updates`` (the coalescing writer, one
``bulk_write`` for the workspaces ready together, the form cache), which this service owns and passes them to.

Every write goes through the write path (``app.writes``) with the events it makes true; it carries them with
the write and announces them once the database acknowledged it. New documents are built from ``WorkspaceDoc``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.db import created_id, iso, new_workspace, utcnow, workspace_to_wire
from app.errors import AppError, not_found
from app.media import MediaStore
from app.services.ordering import plan_reorder, position_for_insert, renumber
from app.services.updates import UpdatePipeline, WriteResult, object_id
from app.writes import FIELD as FANOUT_FIELD
from app.writes import Event, History, WritePath
from app.writes.history import CLIENT_FIELDS, restoring, state_of
from protocol import (
    HistoryEntry,
    Workspace,
    WorkspaceCreated,
    WorkspaceDeleted,
    WorkspaceInput,
    WorkspaceReordered,
    codes,
)


def _created(doc: dict[str, Any], *, origin: str | None, user: str | None) -> dict[str, Any]:
    """The history entry of a new workspace: its first version, the client-writable fields it was created with."""
    state = state_of(doc)
    changes = {k: v for k, v in state.items() if v not in (None, "", {})}
    project, workspace_id = doc["project"], str(doc["_id"])
    return History.entry(
        project, workspace_id, doc["version"], changes, state, doc["created_at"], origin=origin, user=user
    )


class WorkspaceService:
    def __init__(
        self,
        writes: WritePath,
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
        self.writes = writes
        self.collection: AsyncCollection[dict[str, Any]] = writes.collection  # reads
        self.media = media
        self.updates = UpdatePipeline(
            writes,
            media=media,
            debounce_s=debounce_s,
            max_wait_s=max_wait_s,
            on_write=on_write,
            admit=admit,
        )
        self.writer = self.updates.writer  # the coalescing writer; delete and reorder wait on it
        # updates are the pipeline's (app.services.updates): queue one (submit_update) or queue and await it
        self.submit_update = self.updates.submit_update
        self.update = self.updates.update
        self.bulk = writes.bulk
        self._project_locks: dict[str, asyncio.Lock] = {}

    @property
    def coalesced_updates(self) -> int:  # updates that shared a write with an earlier one
        return self.updates.coalesced_updates

    # ---- reads -------------------------------------------------------------------------------------------

    async def list_all(self, project: str) -> list[Workspace]:
        cursor = self.collection.find({"project": project}, {FANOUT_FIELD: 0})
        cursor = cursor.sort([("order_index", ASCENDING), ("_id", ASCENDING)])
        return [workspace_to_wire(raw) async for raw in cursor]

    async def get(self, project: str | None, workspace_id: str) -> Workspace:
        query: dict[str, Any] = {"_id": object_id(workspace_id)}
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
        user: str | None = None,
    ) -> Workspace:
        create_id = f"{project}/{message_id}" if message_id else None
        if create_id:
            existing = await self._created_by(project, create_id)
            if existing is not None:
                return existing
        values = fields.model_dump(exclude_unset=True) if fields else {}
        if values.get("form_data") is not None:
            values["form_data"] = {k: v for k, v in values["form_data"].items() if v is not None}
        refused = await self.updates.image_refused(project, values)
        if refused is not None:
            raise refused
        async with self._lock(project):
            order_index = await self._insert_position(project, position)
            doc = new_workspace(
                project,
                order_index,
                title=values.get("title") or "",
                image_path=values.get("image_path"),
                image_url=values.get("image_url"),
                form_data=values.get("form_data") or {},
                create_msg_id=create_id,
            )
            workspace = workspace_to_wire(doc)
            events: list[Event] = [(WorkspaceCreated(workspace=workspace), origin)]
            record = _created(doc, origin=origin, user=user)
            try:
                await self.writes.insert(project, [(doc, events)], records=[record])
            except DuplicateKeyError:  # a create with the same id won the race (on another process, say)
                existing = await self._created_by(project, create_id) if create_id else None
                if existing is None:
                    raise
                return existing
        return workspace

    async def _created_by(self, project: str, create_id: str) -> Workspace | None:
        raw = await self.collection.find_one({"_id": created_id(create_id), "project": project}, {FANOUT_FIELD: 0})
        return None if raw is None else workspace_to_wire(raw)

    async def create_many(self, project: str, shots: list[dict[str, Any]], *, key: str) -> list[Workspace]:
        """Append ``shots`` (each ``{"title", "form_data"}``, already valid) to the end of the timeline in one
        write, announced as ``workspace.created`` to every connection of the project (a job's change has no
        sender: PROTOCOL.md 8.2). Idempotent per ``key`` (a job's id): when workspaces of that key exist (a run
        that was interrupted after its write), those are returned and nothing is written again."""
        prefix = f"{project}/~{key}~"  # longer than any create message id can make it (64): no collision
        query = {"project": project, "create_msg_id": {"$regex": "^" + re.escape(prefix)}}  # one project's shots
        existing = self.collection.find(query, {FANOUT_FIELD: 0})
        done = [workspace_to_wire(raw) async for raw in existing.sort("create_msg_id", ASCENDING)]
        if done or not shots:
            return done
        async with self._lock(project):
            last = [d["order_index"] async for d in self.collection.find({"project": project}, {"order_index": 1})
                    .sort("order_index", DESCENDING).limit(1)]  # fmt: skip
            now = utcnow()
            docs: list[tuple[dict[str, Any], list[Event]]] = []
            for n, shot in enumerate(shots):
                order_index = position_for_insert(last, None, len(last))
                if order_index is None:  # floats exhausted at the end: spread the timeline out first
                    await self._renumber(project)
                    return await self.create_many(project, shots, key=key)
                last = [order_index]
                doc = new_workspace(
                    project,
                    order_index,
                    title=shot.get("title") or "",
                    form_data=dict(shot.get("form_data") or {}),
                    create_msg_id=f"{prefix}{n:04d}~{'shot-created-by-a-job':->48}",
                    now=now,
                )
                docs.append((doc, [(WorkspaceCreated(workspace=workspace_to_wire(doc)), None)]))
            await self.writes.insert(project, docs, records=[_created(doc, origin=None, user=None) for doc, _ in docs])
        return [workspace_to_wire(doc) for doc, _ in docs]

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
            ({"_id": i}, {"$set": {"order_index": v, "updated_at": now}, "$inc": {"version": 1}})
            for i, v in renumber(ids).items()
        ]
        await self.writes.update_in_order(project, ops)  # nobody hears of it: the order itself has not changed

    # ---- history and restore (PROTOCOL.md 10.2) -------------------------------------------------------------

    @property
    def history(self) -> History:
        if self.writes.history is None:
            raise AppError(codes.UNAVAILABLE, "history is not kept on this server")
        return self.writes.history

    async def history_of(
        self, project: str | None, workspace_id: str, *, before_version: int | None = None, limit: int = 50
    ) -> tuple[str, list[HistoryEntry]]:
        """(project, entries newest first) of a workspace of ``project`` (None: of any project)."""
        workspace = await self.get(project, workspace_id)  # not_found
        entries = await self.history.entries(
            workspace.project, workspace.id, before_version=before_version, limit=limit
        )
        return workspace.project, [
            HistoryEntry(version=e["version"], changes=e["changes"], at=iso(e["at"]) or "", by=e["by"]) for e in entries
        ]

    async def restore(
        self, project: str, workspace_id: str, version: int, *, origin: str | None = None, user: str | None = None
    ) -> WriteResult:
        """A forward change back to the client-writable fields of ``version``: an ordinary update (the other
        connections get ``workspace.updated`` with what it changed)."""
        oid = object_id(workspace_id)
        wanted = await self.history.state_at(project, str(oid), version)
        if wanted is None:
            raise AppError(codes.NOT_FOUND, f"version {version} of workspace {workspace_id} is not kept")
        current = await self.collection.find_one({"_id": oid, "project": project}, dict.fromkeys(CLIENT_FIELDS, 1))
        if current is None:
            raise not_found(workspace_id)
        return await self.update(project, workspace_id, restoring(state_of(current), wanted), origin=origin, user=user)

    def forget(self, project: str, workspace_id: str) -> None:
        self.updates.forget(project, workspace_id)

    # ---- delete, reorder ---------------------------------------------------------------------------------

    async def delete(self, project: str, workspace_id: str, *, origin: str | None = None) -> bool:
        oid = object_id(workspace_id)
        await self.writer.barrier((project, workspace_id))
        events: list[Event] = [(WorkspaceDeleted(workspace_id=workspace_id), origin)]
        async with self._lock(project):
            removed = await self.writes.delete(
                project, {"_id": oid, "project": project}, events, projection={"video": 1, "project": 1}
            )
        self.forget(project, workspace_id)
        existed = removed is not None
        if removed is not None and self.on_deleted is not None:
            try:
                await self.on_deleted(removed)
            except Exception as exc:  # the delete stands; a provider hiccup must not undo the reply
                logger.warning("after deleting {}: {}", workspace_id, type(exc).__name__)
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
            now = utcnow()
            # In order, the last write carrying the event: whoever hears of it can read the whole new order. When
            # nothing moved the others still hear of the reorder, carried by the first workspace.
            await self.writes.update_in_order(
                project,
                [
                    ({"_id": ObjectId(i)}, {"$set": {"order_index": v, "updated_at": now}, "$inc": {"version": 1}})
                    for i, v in changes.items()
                ],
                [(WorkspaceReordered(order=order), origin)],
                marker={"_id": ObjectId(order[0])} if order else None,
            )
            for i in changes:
                self.forget(project, i)
            if changes and self.on_reorder is not None:
                self.on_reorder(len(changes))
        return order
