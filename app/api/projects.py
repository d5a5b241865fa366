"""``GET /api/projects`` and ``GET /api/projects/{project}/timeline.otio`` (PROTOCOL.md 8.4).

A project is the name its workspaces share: the listing groups the ``workspaces`` collection by ``project``
(``shots``: how many; ``updated_at``: the latest of their ``updated_at``), most recently changed first, and with
a per-project token (9.1) holds only the projects the token names. A project whose shots were all deleted is no
longer listed; deleting a shot leaves no trace, so it does not move ``updated_at``.

The timeline is ``app.timeline``'s OTIO JSON, served as ``application/json`` (what the export stores its ``.otio``
as) with a ``Content-Disposition`` naming ``<project>.otio``; a project the token does not name is 403, as its
listing is; a project with no shots is an empty timeline.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import principal_of, require_project
from app.db import iso
from app.errors import AppError
from app.runtime import Runtime, runtime_of
from app.timeline import OTIO_CONTENT_TYPE, MediaLengths, timeline_otio
from protocol import codes
from protocol.fields import PROJECT_RE


async def project_summaries(
    workspaces: AsyncCollection[dict[str, Any]], names: frozenset[str] | None
) -> list[dict[str, Any]]:
    """``{"name", "shots", "updated_at"}`` of every project with a workspace (of ``names`` only, unless None),
    the most recently changed first (then by name)."""
    pipeline: list[dict[str, Any]] = []
    if names is not None:
        pipeline.append({"$match": {"project": {"$in": sorted(names)}}})
    pipeline += [
        {"$group": {"_id": "$project", "shots": {"$sum": 1}, "updated_at": {"$max": "$updated_at"}}},
        {"$sort": {"updated_at": -1, "_id": 1}},
    ]
    cursor = await workspaces.aggregate(pipeline)
    return [{"name": doc["_id"], "shots": doc["shots"], "updated_at": iso(doc["updated_at"])} async for doc in cursor]


async def list_projects(request: Request) -> Response:
    principal = principal_of(request)
    names = principal.projects if principal.only_path is None else frozenset()  # a signed file URL: no project
    projects = await project_summaries(runtime_of(request).workspaces.collection, names)
    return JSONResponse({"projects": projects})


def _lengths(request: Request, runtime: Runtime) -> MediaLengths:
    """The app's memory of measured media lengths, made on first use (one per app, as its media store is)."""
    state = request.app.state
    lengths = getattr(state, "media_lengths", None)
    if not isinstance(lengths, MediaLengths) or lengths.media is not runtime.media:
        lengths = state.media_lengths = MediaLengths(runtime.media)
    return lengths


async def project_timeline(request: Request) -> Response:
    runtime = runtime_of(request)
    project = request.path_params["project"]
    if not PROJECT_RE.match(project):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    require_project(request, project)  # 403 for a project the token does not name
    shots = await runtime.workspaces.list_all(project)
    text = await timeline_otio(project, shots, runtime.media, _lengths(request, runtime))
    headers = {"Content-Disposition": f'inline; filename="{project}.otio"'}
    return Response(text, media_type=OTIO_CONTENT_TYPE, headers=headers)
