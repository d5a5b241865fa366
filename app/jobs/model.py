"""The stored job (the ``jobs`` collection) and its wire shape (``protocol.Job``, PROTOCOL.md 8.1).

Besides the wire fields a stored job holds its lease: ``owner`` (the process running it) and ``lease_expires_at``
(renewed by that process every third of the lease), ``attempts`` (runs started), ``run_started_at`` (for
``JOB_TIMEOUT_S``), ``cancel_requested`` and ``committing`` (the kind is writing its outcome: too late to
cancel). A claim is one ``find_one_and_update`` on (status, lease_expires_at), indexed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from app.db.documents import JobDoc
from app.db.mapping import iso
from app.errors import AppError
from app.writes import Event
from protocol import ErrorInfo, Job, JobStatusUpdate, codes

QUEUED: Final = "queued"
RUNNING: Final = "running"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
ACTIVE: Final = (QUEUED, RUNNING)
FINAL: Final = (COMPLETED, FAILED, CANCELLED)


def new_job(
    project: str, kind: str, params: dict[str, Any], *, workspace_id: str | None, parent_id: str | None, now: datetime
) -> dict[str, Any]:
    """The document of a new queued job with its ``_id``, built from ``JobDoc`` (one definition of the stored
    shape)."""
    doc = JobDoc.model_construct(
        project=project,
        kind=kind,
        workspace_id=workspace_id,
        parent_id=parent_id,
        params=params,
        created_at=now,
        updated_at=now,
    )
    # the optional keys stay absent: "exclusive" and "child_key" are under sparse indexes (one unique)
    raw: dict[str, Any] = {"_id": ObjectId(), **doc.model_dump(exclude={"id", "revision_id", "exclusive", "child_key"})}
    return raw


def job_to_wire(raw: dict[str, Any]) -> Job:
    error = raw.get("error")
    return Job(
        id=str(raw["_id"]),
        project=raw["project"],
        kind=raw["kind"],
        workspace_id=raw.get("workspace_id"),
        parent_id=raw.get("parent_id"),
        status=raw["status"],
        progress=int(raw.get("progress") or 0),
        stage=raw.get("stage"),
        params=raw.get("params") or {},
        result=raw.get("result"),
        error=ErrorInfo(**error) if error else None,
        created_at=iso(raw["created_at"]) or "",
        updated_at=iso(raw["updated_at"]) or "",
        finished_at=iso(raw.get("finished_at")),
    )


def job_not_found(job_id: str) -> AppError:
    return AppError(codes.NOT_FOUND, f"job {job_id[:64]} does not exist in this project")


async def find_job(collection: AsyncCollection[dict[str, Any]], project: str | None, job_id: str) -> dict[str, Any]:
    """The stored job ``job_id`` of ``project`` (None: of any project); ``not_found`` otherwise."""
    if not ObjectId.is_valid(job_id) or len(job_id) != 24:
        raise job_not_found(job_id)
    query: dict[str, Any] = {"_id": ObjectId(job_id)}
    if project is not None:
        query["project"] = project
    raw = await collection.find_one(query)
    if raw is None:
        raise job_not_found(job_id)
    return raw


def announcement(raw: dict[str, Any], origin: str | None) -> list[Event]:
    """The ``job.status_update`` of a stored state of the job; ``origin`` (the requester) gets its reply instead."""
    return [(JobStatusUpdate(job=job_to_wire(raw)), origin)]
