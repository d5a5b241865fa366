"""Pure ASGI middleware (so it also sees WebSocket scopes): token auth and the Origin allowlist.

A refused WebSocket is accepted, then closed with 1008, so browsers see the code (PROTOCOL.md 7).
Tokens are compared in constant time and never logged.

Origins (PROTOCOL.md 1 and 9.5): ``OriginPolicy`` is the one check, used for WebSockets, for every state-changing
HTTP request (any method but GET/HEAD/OPTIONS: 403 ``forbidden`` before the route runs, so nothing changes) and,
through ``cors_options``, for CORS. ``ALLOWED_ORIGINS`` unset allows the server's own origin (the ``Host``
header, over http or https) and the loopback dev origins ``http://localhost`` and ``http://127.0.0.1`` on any
port (the Vite dev server on :5173 proxies to us; exactly PROTOCOL.md's list, so not ``http://[::1]``: set
``ALLOWED_ORIGINS`` for that); a list allows exactly that list;
``*`` allows any. A browser request that says ``Sec-Fetch-Site: cross-site`` but carries no Origin is refused
too. Requests with neither header (curl, scripts) are not a browser's cross-site requests and pass.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol import codes

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The dev origins allowed by default: the loopback names over plain http, any port.
LOOPBACK_ORIGIN = re.compile(r"http://(?:localhost|127\.0\.0\.1)(?::[0-9]{1,5})?")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _presented_token(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    api = _header(scope, b"x-api-token")
    if api:
        return api.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


async def _refuse_websocket(receive: Receive, send: Send, reason: str) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": codes.WS_POLICY_VIOLATION, "reason": reason})


def _same_origin(origin: str, host: str) -> bool:
    """``origin`` names this server as the browser reached it: its host[:port] is the ``Host`` header."""
    scheme, sep, netloc = origin.partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    if not sep or default is None or not netloc:
        return False
    return netloc.removesuffix(default) == host.strip().lower().removesuffix(default)


class OriginPolicy:
    """``ALLOWED_ORIGINS`` as parsed by ``Settings.origins``: None (unset: the defaults), a list, or ``["*"]``."""

    def __init__(self, origins: list[str] | None) -> None:
        self.any = origins is not None and "*" in origins
        self.listed = None if origins is None or self.any else frozenset(o.lower() for o in origins)

    def allows(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().lower()
        if self.any:
            return True
        if self.listed is not None:
            return origin.rstrip("/") in self.listed
        return LOOPBACK_ORIGIN.fullmatch(origin) is not None or (host is not None and _same_origin(origin, host))

    def refusal(self, scope: Scope) -> str | None:
        """Why a WebSocket or state-changing request from this browser context is refused; None: it is not."""
        if self.any:
            return None
        origin = _header(scope, b"origin")
        if origin is not None:
            return None if self.allows(origin, _header(scope, b"host")) else "origin not allowed"
        if (_header(scope, b"sec-fetch-site") or "").strip().lower() == "cross-site":
            return "cross-site request without an allowed Origin"
        return None

    def cors_options(self) -> dict[str, Any]:
        """CORSMiddleware's origin arguments for the same set. The own origin needs no CORS grant: a browser
        never preflights, nor checks CORS headers on, a same-origin request."""
        if self.any:
            return {"allow_origins": ["*"]}
        if self.listed is not None:
            return {"allow_origins": sorted(self.listed)}
        return {"allow_origins": [], "allow_origin_regex": LOOPBACK_ORIGIN.pattern}


async def _http_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _route_templates(app: Any) -> dict[int, str]:
    """id(endpoint) -> route template (``/api/workspaces/{workspace_id}``, ``/uploads/{path}``) for the app's
    routes: the router leaves the matched ``endpoint`` in the scope, not the template."""
    templates: dict[int, str] = {}
    for route in getattr(getattr(app, "router", None), "routes", ()):
        endpoint = getattr(route, "endpoint", None) or getattr(route, "app", None)
        path = getattr(route, "path", None)
        if endpoint is not None and path is not None:
            templates.setdefault(id(endpoint), path if hasattr(route, "endpoint") else f"{path}/{{path}}")
    return templates


class AccessLogMiddleware:
    """One line per HTTP request: method, path (never the query string, which may hold ``?token=``), status; and
    the request counted and timed by route template (never by raw path: ids would make a series each)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is None:
            return
        if self._templates is None:
            self._templates = _route_templates(app)
        route = self._templates.get(id(scope.get("endpoint")), "unmatched")
        method = scope["method"]
        runtime.metrics.http_requests.labels(method=method, route=route, status=str(status)).inc()
        runtime.metrics.http_latency.labels(method=method, route=route).observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            seconds = time.perf_counter() - started
            logger.info("{} {} {} {:.1f}ms", scope["method"], scope["path"], status, seconds * 1000)
            self._observe(scope, status, seconds)


class GuardMiddleware:
    """``AUTH_TOKEN`` (every path but ``GET /health`` and preflights) and the Origin policy (WebSockets and
    state-changing HTTP requests). Origin is checked first: a foreign page learns nothing about the token."""

    def __init__(self, app: ASGIApp, *, token: str | None, policy: OriginPolicy) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.policy = policy

    def _token_ok(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        presented = _presented_token(scope)
        return presented is not None and hmac.compare_digest(presented.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            refusal = self.policy.refusal(scope)
            if refusal is not None:
                await _refuse_websocket(receive, send, refusal)
                return
            if not self._token_ok(scope):
                await _refuse_websocket(receive, send, "missing or wrong token")
                return
        elif kind == "http":
            method, path = scope["method"], scope["path"]
            refusal = None if method in SAFE_METHODS else self.policy.refusal(scope)
            if refusal is not None:
                await _http_error(send, 403, codes.FORBIDDEN, refusal)
                return
            exempt = method == "OPTIONS" or (method in ("GET", "HEAD") and path == "/health")
            if not exempt and not self._token_ok(scope):
                await _http_error(send, 401, codes.UNAUTHORIZED, "missing or wrong token")
                return
        await self.app(scope, receive, send)
