"""``GET /api/workspaces?project=``, ``GET /api/workspaces/{id}`` and ``GET /api/workspaces/{id}/history``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import require_project, require_visible
from app.errors import AppError
from app.runtime import runtime_of
from protocol import codes
from protocol.fields import PROJECT_RE


def project_param(request: Request) -> str:
    project = request.query_params.get("project") or "default"
    if not PROJECT_RE.match(project):
        raise AppError(codes.INVALID_MESSAGE, "project: must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return project


async def list_workspaces(request: Request) -> Response:
    runtime = runtime_of(request)
    project = project_param(request)
    require_project(request, project)  # 403 for a project the token does not name
    workspaces = await runtime.workspaces.list_all(project)
    return JSONResponse({"workspaces": [w.model_dump(mode="json") for w in workspaces]})


async def get_workspace(request: Request) -> Response:
    runtime = runtime_of(request)
    project = request.query_params.get("project")
    workspace = await runtime.workspaces.get(project, request.path_params["workspace_id"])
    require_visible(request, workspace.project, workspace.id)  # another project's: 404, as if it did not exist
    return JSONResponse(workspace.model_dump(mode="json"))


def _int_param(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise AppError(codes.INVALID_MESSAGE, f"{name}: an integer from {low} to {high}")
    return int(raw)


async def workspace_history(request: Request) -> Response:
    """PROTOCOL.md 10.2: the body of ``workspace.history_result`` (without ``type``)."""
    runtime = runtime_of(request)
    workspace_id = request.path_params["workspace_id"]
    before = _int_param(request, "before_version", 1, 2**62)
    limit = _int_param(request, "limit", 1, 100) or 50
    project, entries = await runtime.workspaces.history_of(
        request.query_params.get("project"), workspace_id, before_version=before, limit=limit
    )
    require_visible(request, project, workspace_id)
    return JSONResponse({"workspace_id": workspace_id, "entries": [e.model_dump(mode="json") for e in entries]})
