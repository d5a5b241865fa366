"""The workspaces' update pipeline: an update (``workspace.update``, or a REST upload setting ``image_path``) from
its queueing to its acknowledged write, and the ``image_path`` checks that creates share.

Updates go through the coalescing writer: per workspace one ``update_one`` at a time, guarded by the version it
was computed from, so the merged ``form_data`` limits are checked against what is stored without a read per
update (the form of recently written workspaces is cached, and a version mismatch reloads it). The writes of
different workspaces that are ready together go to the database as one ``bulk_write`` (``app.writes.bulk``).

Each write goes through the write path (``app.writes``) with the ``workspace.updated`` events it makes true, which
carries them with the write and announces them once it is acknowledged. The timeline's structure (create, delete,
reorder) is ``app.services.workspaces``, which owns one of these.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from loguru import logger
from pymongo.asynchronous.collection import AsyncCollection

from app.auth import owner_of
from app.db import iso, utcnow
from app.errors import AppError, not_found
from app.media import MediaStore
from app.writes import CoalescingWriter, Event, History, WritePath
from protocol import WorkspaceUpdated, check_form_totals, codes, merge_form

Key = tuple[str, str]  # (project, workspace id)

_FORM_CACHE_SIZE = 10_000
_PLAIN_FIELDS = ("title", "image_path", "image_url")
_CLIENT_KEYS = frozenset({*_PLAIN_FIELDS, "form_data"})
_CACHED_FIELDS = {"form_data": 1, "version": 1, "title": 1, "image_path": 1, "image_url": 1}
_VERSION_RETRIES = 5


@dataclass(frozen=True)
class Patch:
    changes: dict[str, Any]  # same shape as ``updates``; form_data values None = remove
    origin: str | None = None  # connection id of the sender (None: REST)
    user: str | None = None  # the sender's token ``sub`` with per-project tokens (PROTOCOL.md 10.2's ``by.user``)


@dataclass(frozen=True)
class WriteResult:
    version: int
    updated_at: str


@dataclass
class _Cached:
    version: int
    form: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # title, image_path, image_url (for the history's state)


def object_id(workspace_id: str) -> ObjectId:
    if not ObjectId.is_valid(workspace_id) or len(workspace_id) != 24:
        raise not_found(workspace_id)
    return ObjectId(workspace_id)


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "form_data":
            into.setdefault("form_data", {}).update(value)
        else:
            into[name] = value


def _mongo_update(merged: dict[str, Any], now: datetime) -> dict[str, Any]:
    # The hot path: a raw $set of dotted form_data paths (the stored names of WorkspaceDoc), no model per update.
    set_: dict[str, Any] = {"updated_at": now}
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


class UpdatePipeline:
    def __init__(
        self,
        writes: WritePath,
        *,
        media: MediaStore,
        debounce_s: float = 0.0,
        max_wait_s: float = 1.0,
        on_write: Callable[[float, int], None] | None = None,
        admit: Callable[[], None] | None = None,  # raises to refuse an update at once (the database is down)
    ) -> None:
        self.writes = writes
        self.collection: AsyncCollection[dict[str, Any]] = writes.collection  # reads
        self.on_write = on_write  # (seconds, updates in the write), for metrics
        self.media = media
        self.writer: CoalescingWriter[Key, Patch, WriteResult] = CoalescingWriter(
            self._flush, debounce_s=debounce_s, max_wait_s=max_wait_s, admit=admit, gate=writes.bulk.ready
        )
        self._forms: OrderedDict[Key, _Cached] = OrderedDict()
        self.coalesced_updates = 0  # updates that shared a write with an earlier one

    async def image_refused(self, project: str, changes: dict[str, Any]) -> AppError | None:
        """Why the ``image_path`` of ``changes`` cannot be stored, or None: it must name an upload of this server
        (PROTOCOL.md 2) of the workspace's project (9.1). Awaited in the flush: with MEDIA_STORE=s3 it may ask the
        bucket."""
        path = changes.get("image_path")
        if not path:
            return None
        name = Path(path).name
        if not await self.media.has_upload(name):
            return AppError(codes.INVALID_MESSAGE, "image_path: no such upload on this server")
        if await owner_of(self.collection, f"uploads/{name}") != project:
            return AppError(codes.INVALID_MESSAGE, "image_path: no such upload in this project")
        return None

    def submit_update(
        self,
        project: str,
        workspace_id: str,
        changes: dict[str, Any],
        *,
        origin: str | None = None,
        user: str | None = None,
    ) -> asyncio.Future[WriteResult]:
        """Queue an update (synchronously, so per-connection order is the call order). The future resolves
        once the write holding it is acknowledged."""
        return self.writer.submit((project, str(object_id(workspace_id))), Patch(changes, origin, user))

    async def update(
        self,
        project: str,
        workspace_id: str,
        changes: dict[str, Any],
        *,
        origin: str | None = None,
        user: str | None = None,
    ) -> WriteResult:
        return await self.submit_update(project, workspace_id, changes, origin=origin, user=user)

    async def _cached_form(self, key: Key, *, reload: bool = False) -> _Cached | None:
        cached = None if reload else self._forms.get(key)
        if cached is None:
            raw = await self.collection.find_one({"_id": ObjectId(key[1]), "project": key[0]}, _CACHED_FIELDS)
            if raw is None:
                self._forms.pop(key, None)
                return None
            cached = _Cached(raw["version"], raw.get("form_data") or {}, {k: raw.get(k) for k in _PLAIN_FIELDS})
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
            form, fields = cached.form, dict(cached.fields)
            merged: dict[str, Any] = {}
            accepted: list[int] = []
            results: list[WriteResult | BaseException] = []
            for patch in patches:
                refused = await self.image_refused(project, patch.changes)
                if refused is not None:
                    results.append(refused)
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
                fields.update((k, v) for k, v in patch.changes.items() if k != "form_data")
                _merge(merged, patch.changes)
                accepted.append(len(results))
                results.append(WriteResult(0, ""))  # placeholder until the write returns
            if not accepted:
                return results
            now = utcnow()
            result = WriteResult(cached.version + 1, iso(now) or "")
            events = _events(workspace_id, [patches[i] for i in accepted], merged, result)
            last = patches[accepted[-1]]  # coalesced patches of several senders: the entry names the last one
            client = {k: v for k, v in merged.items() if k in _CLIENT_KEYS}  # server-owned ones make no entry
            record = None
            if client:
                state = {**{k: fields.get(k) for k in _PLAIN_FIELDS}, "form_data": form}
                record = History.entry(
                    project, workspace_id, result.version, client, state, now, origin=last.origin, user=last.user
                )
            started = time.perf_counter()
            # Guarded by the version the merge was computed from, so when it matches the new version is known
            # (old + 1): update_one suffices, no document comes back. No `project` in the filter: the cached form
            # was read with it, and an _id never changes project (one predicate less for the database to plan).
            matched = await self.writes.update(
                project,
                {"_id": ObjectId(workspace_id), "version": cached.version},
                _mongo_update(merged, now),
                events,
                batched=True,  # the workspaces' writes ready together: one bulk_write
                record=record,  # PROTOCOL.md 10.2: readable once confirmed
            )
            if not matched:
                reload = True  # someone else wrote (or it was deleted): reload and try again
                continue
            if self.on_write is not None:
                self.on_write(time.perf_counter() - started, len(accepted))
            self._forms[key] = _Cached(result.version, form, fields)
            for index in accepted:
                results[index] = result
            self.coalesced_updates += len(accepted) - 1
            return results
        logger.warning("workspace {} changed under the writer {} times in a row", workspace_id, _VERSION_RETRIES)
        return [AppError(codes.UNAVAILABLE, "the workspace is busy; try again")] * len(patches)

    def forget(self, project: str, workspace_id: str) -> None:
        self._forms.pop((project, workspace_id), None)
