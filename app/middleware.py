"""Pure ASGI middleware (so it also sees WebSocket scopes): authentication and access (``GuardMiddleware``, with
``app.auth``), the Origin allowlist, and the access log.

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

import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import AuthError, Principal, Verifier, check_signature
from protocol import codes

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = frozenset({"/health", "/livez", "/readyz"})  # GET/HEAD without a token (PROTOCOL.md 6, 9.4)
ADMIN_PATHS = frozenset({"/metrics"})
# Provider callbacks (PROTOCOL.md 9.3) carry no token of ours: the route checks their signatures, and a callback
# is only a hint (the poller asks the provider itself), so they pass the token check.
CALLBACK_PREFIX = "/api/callbacks/"
SIGNED_PREFIXES = ("/uploads/", "/media/")  # where a signed URL stands in for a token (providers behind auth)
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
    """The one boundary of authentication and access (PROTOCOL.md 6, 9.1) and of the Origin policy (9.5).

    Origin is checked first (a foreign page learns nothing about the token). Then the request is authenticated
    once (``AUTH_TOKEN``, a JWT, or a signed media URL for exactly its file) and its ``Principal`` is put in
    ``scope["auth"]`` for the endpoint and the routes (``app.api.access``). Enforced here: a WebSocket for a
    project the token does not name is closed with 1008; a viewer's state-changing request is 403 before the
    route runs; ``/metrics`` is for admins. ``GET /health``, ``/livez``, ``/readyz``, preflights and provider
    callbacks are open."""

    def __init__(self, app: ASGIApp, *, verifier: Verifier, policy: OriginPolicy, signing_key: bytes) -> None:
        self.app = app
        self.verifier = verifier
        self.policy = policy
        self.signing_key = signing_key

    def _signed(self, scope: Scope) -> Principal | None:
        """A signed media URL (``?exp=&sig=``) valid for this very path, right now."""
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD") or not path.startswith(SIGNED_PREFIXES):
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        exp, sig = query.get("exp"), query.get("sig")
        if not exp or not sig:
            return None
        expires = check_signature(self.signing_key, path, exp[0], sig[0])
        if expires is None:
            return None
        return Principal("signed-url", "viewer", frozenset(), datetime.fromtimestamp(expires, UTC), only_path=path)

    def _authenticate(self, scope: Scope) -> Principal:
        """The principal of this request; ``AuthError`` when its credential is refused."""
        presented = _presented_token(scope)
        if presented is None and scope["type"] == "http" and self.verifier.enabled:
            signed = self._signed(scope)
            if signed is not None:
                return signed
        return self.verifier.verify(presented)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            refusal = self.policy.refusal(scope)
            if refusal is not None:
                await _refuse_websocket(receive, send, refusal)
                return
            try:
                principal = self._authenticate(scope)
            except AuthError:
                await _refuse_websocket(receive, send, "missing or wrong token")
                return
            project = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("project", [""])[0] or "default"
            if not principal.may_open(project):
                await _refuse_websocket(receive, send, "the token does not name this project")
                return
            scope["auth"] = principal
        elif kind == "http":
            method, path = scope["method"], scope["path"]
            refusal = None if method in SAFE_METHODS else self.policy.refusal(scope)
            if refusal is not None:
                await _http_error(send, 403, codes.FORBIDDEN, refusal)
                return
            if (
                method == "OPTIONS"
                or (method in ("GET", "HEAD") and path in OPEN_PATHS)
                or (method == "POST" and path.startswith(CALLBACK_PREFIX))
            ):
                await self.app(scope, receive, send)
                return
            try:
                principal = self._authenticate(scope)
            except AuthError as exc:
                await _http_error(send, 401, codes.UNAUTHORIZED, str(exc))
                return
            if method not in SAFE_METHODS and not principal.can_edit:
                await _http_error(send, 403, codes.FORBIDDEN, f"role {principal.role} may not change anything")
                return
            if path in ADMIN_PATHS and not principal.is_admin:
                await _http_error(send, 403, codes.FORBIDDEN, "only an admin token may read this")
                return
            scope["auth"] = principal
        await self.app(scope, receive, send)
