"""``GET /health``, ``GET /metrics``, ``GET /api/protocol``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.runtime import runtime_of
from protocol import protocol_schema

try:
    VERSION = version("workspace-server")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"


async def health(request: Request) -> Response:
    runtime = runtime_of(request)
    # Down: say so at once (the monitor saw it within half a second). Up: ask again, so a database that went
    # away since the monitor's last ping is not reported as "ok".
    db = "ok" if runtime.db_health.up and await runtime.db_health.check() else "unreachable"
    body = {
        "status": "ok" if db == "ok" else "degraded",
        "db": db,
        "poller": runtime.poller_state,
        "connections": runtime.hub.count,
        "version": VERSION,
    }
    return JSONResponse(body, status_code=200 if db == "ok" else 503)


async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


_SCHEMA: dict[str, object] = {}


async def protocol(request: Request) -> Response:
    if not _SCHEMA:
        _SCHEMA.update(protocol_schema())
    return JSONResponse(_SCHEMA)
