"""``POST /api/generate/video``, ``POST /api/generate/video/cancel``, ``POST /api/ai/suggest``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access import scoped_project
from app.api.body import read_json
from app.errors import AppError
from app.runtime import runtime_of
from protocol import codes
from protocol.fields import AiMessageText, ObjectIdStr


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GenerateBody(_Body):
    workspace_id: ObjectIdStr
    provider: str | None = Field(default=None, min_length=1, max_length=64)


class CancelBody(_Body):
    workspace_id: ObjectIdStr


class SuggestBody(_Body):
    workspace_id: ObjectIdStr
    message: AiMessageText
    apply: bool = False


async def _body(request: Request, model: type[_Body]) -> Any:
    data = await read_json(request)  # 415 / 413 / invalid_json / too deep, before anything is looked up
    if not isinstance(data, dict):
        raise AppError(codes.INVALID_JSON, "the body must be a JSON object")
    if isinstance(data.get("workspace_id"), str) and len(data["workspace_id"]) != 24:
        raise AppError(codes.NOT_FOUND, f"workspace {data['workspace_id'][:64]} does not exist")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        raise AppError(codes.INVALID_MESSAGE, f"{where}: {first['msg']}", details=details) from None


async def generate_video(request: Request) -> Response:
    runtime = runtime_of(request)
    body: GenerateBody = await _body(request, GenerateBody)
    project = await scoped_project(request, request.query_params.get("project"), body.workspace_id)
    _, video = await runtime.video.start(project, body.workspace_id, body.provider)
    return JSONResponse({"workspace_id": body.workspace_id, "video": video.model_dump(mode="json")}, status_code=202)


async def cancel_video(request: Request) -> Response:
    runtime = runtime_of(request)
    body: CancelBody = await _body(request, CancelBody)
    project = await scoped_project(request, request.query_params.get("project"), body.workspace_id)
    _, video = await runtime.video.cancel(project, body.workspace_id)
    return JSONResponse({"workspace_id": body.workspace_id, "video": video.model_dump(mode="json")})


async def ai_suggest(request: Request) -> Response:
    runtime = runtime_of(request)
    body: SuggestBody = await _body(request, SuggestBody)
    project = await scoped_project(request, request.query_params.get("project"), body.workspace_id)
    _, entry = await runtime.ai.suggest(project, body.workspace_id, body.message, apply=body.apply)
    return JSONResponse({"workspace_id": body.workspace_id, "suggestion": entry.model_dump(mode="json")})
