"""The job routes of PROTOCOL.md 8.4: ``POST /api/jobs``, ``GET /api/jobs?project=&status=``,
``GET /api/jobs/{id}``, ``POST /api/jobs/{id}/cancel``.

Access as for workspaces (``app.api.access``): starting a job or listing needs a token naming the project (403);
a job of a project the token does not name is 404, as if it did not exist. Viewers are refused state-changing
requests by the guard already."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import require_project, visible
from app.api.body import read_json
from app.api.workspaces import project_param
from app.errors import AppError
from app.jobs import JobEngine, job_not_found
from app.runtime import runtime_of
from protocol import codes
from protocol.fields import ObjectIdStr, ProjectName
from protocol.inbound import JobStatusName

_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    project: ProjectName = "default"
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    workspace_id: ObjectIdStr | None = None
    params: Annotated[dict[str, Any], Field(max_length=64)] | None = None


def _engine(request: Request) -> JobEngine:
    engine = runtime_of(request).jobs
    if engine is None:
        raise AppError(codes.UNAVAILABLE, "jobs are not available on this server")
    return engine


async def start_job(request: Request) -> Response:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise AppError(codes.INVALID_JSON, "the body must be a JSON object")
    try:
        body = StartBody.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        where = ".".join(str(p) for p in errors[0]["loc"])
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors]
        raise AppError(codes.INVALID_MESSAGE, f"{where}: {errors[0]['msg']}", details=details) from None
    require_project(request, body.project)
    job = await _engine(request).start(body.project, body.kind, workspace_id=body.workspace_id, params=body.params)
    return JSONResponse({"job": job.model_dump(mode="json")}, status_code=202)


def _statuses(request: Request) -> list[JobStatusName] | None:
    given = [s.strip() for value in request.query_params.getlist("status") for s in value.split(",") if s.strip()]
    unknown = [s for s in given if s not in _STATUSES]
    if unknown:
        raise AppError(codes.INVALID_MESSAGE, f"status: {unknown[0][:32]!r} is none of {', '.join(_STATUSES)}")
    return given or None  # type: ignore[return-value]


async def list_jobs(request: Request) -> Response:
    project = project_param(request)
    require_project(request, project)
    jobs = await _engine(request).list_jobs(project, list(_statuses(request) or []) or None)
    return JSONResponse({"jobs": [j.model_dump(mode="json") for j in jobs]})


async def get_job(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    job = await _engine(request).get(None, job_id)
    if not visible(request, job.project):
        raise job_not_found(job_id)
    return JSONResponse(job.model_dump(mode="json"))


async def cancel_job(request: Request) -> Response:
    engine = _engine(request)
    job_id = request.path_params["job_id"]
    job = await engine.get(None, job_id)
    if not visible(request, job.project):
        raise job_not_found(job_id)
    return JSONResponse((await engine.cancel(job.project, job_id)).model_dump(mode="json"))
