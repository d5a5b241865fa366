"""``GET /health``, ``GET /livez``, ``GET /readyz`` (PROTOCOL.md 5, 9.4), ``GET /metrics``, ``GET /api/protocol``.

``/livez`` answers 200 while the process runs and its event loop turns (nothing else is checked: a load balancer or
orchestrator restarts a process that fails it). ``/readyz`` answers 200 only when this process should be sent
traffic: the database answers, with ``FANOUT=changestream`` the change stream is being followed (else the events
of other processes would not reach its clients), and it is not shutting down; 503 otherwise. All three answer
with the same body, ``status`` saying which check failed (``degraded``: the database; ``starting``: the change
stream; ``draining``: shutting down).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.runtime import Runtime, runtime_of
from protocol import protocol_schema

try:
    VERSION = version("workspace-server")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"


def _body(runtime: Runtime, status: str, db: str) -> dict[str, object]:
    return {
        "status": status,
        "db": db,
        "poller": runtime.poller_state,
        "connections": runtime.hub.count,
        "version": VERSION,
    }


async def _db(runtime: Runtime) -> str:
    # Down: say so at once (the monitor saw it within half a second). Up: ask again, so a database that went
    # away since the monitor's last ping is not reported as "ok".
    return "ok" if runtime.db_health.up and await runtime.db_health.check() else "unreachable"


async def health(request: Request) -> Response:
    runtime = runtime_of(request)
    db = await _db(runtime)
    return JSONResponse(_body(runtime, "ok" if db == "ok" else "degraded", db), status_code=200 if db == "ok" else 503)


async def livez(request: Request) -> Response:
    runtime = runtime_of(request)
    db = "ok" if runtime.db_health.up else "unreachable"  # the monitor's last word: nothing is asked
    return JSONResponse(_body(runtime, "ok", db))


async def readyz(request: Request) -> Response:
    runtime = runtime_of(request)
    db = await _db(runtime)
    status = "ok"
    if runtime.shutting_down:
        status = "draining"
    elif db != "ok":
        status = "degraded"
    elif runtime.settings.fanout == "changestream" and not getattr(runtime.fanout, "up", False):
        status = "starting"  # the change stream is (re)opening: other processes' events would not arrive
    return JSONResponse(_body(runtime, status, db), status_code=200 if status == "ok" else 503)


async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


_SCHEMA: dict[str, object] = {}


async def protocol(request: Request) -> Response:
    if not _SCHEMA:
        _SCHEMA.update(protocol_schema())
    return JSONResponse(_SCHEMA)
