"""Pure ASGI middleware (so it also sees WebSocket scopes): token auth and the Origin allowlist.

A refused WebSocket is accepted, then closed with 1008, so browsers see the code (PROTOCOL.md 7).
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import time
from urllib.parse import parse_qs

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol import codes


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


async def _http_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLogMiddleware:
    """One line per HTTP request: method, path (never the query string, which may hold ``?token=``), status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            logger.info(
                "{} {} {} {:.1f}ms", scope["method"], scope["path"], status, (time.perf_counter() - started) * 1000
            )


class GuardMiddleware:
    """``AUTH_TOKEN`` (every path but ``GET /health`` and preflights) and ``ALLOWED_ORIGINS`` for WebSockets."""

    def __init__(self, app: ASGIApp, *, token: str | None, origins: list[str] | None) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.origins = set(origins) if origins else None

    def _token_ok(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        presented = _presented_token(scope)
        return presented is not None and hmac.compare_digest(presented.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            origin = _header(scope, b"origin")
            if self.origins is not None and origin is not None and origin.rstrip("/") not in self.origins:
                await _refuse_websocket(receive, send, "origin not allowed")
                return
            if not self._token_ok(scope):
                await _refuse_websocket(receive, send, "missing or wrong token")
                return
        elif kind == "http":
            method, path = scope["method"], scope["path"]
            exempt = method == "OPTIONS" or (method in ("GET", "HEAD") and path == "/health")
            if not exempt and not self._token_ok(scope):
                await _http_error(send, 401, codes.UNAUTHORIZED, "missing or wrong token")
                return
        await self.app(scope, receive, send)
