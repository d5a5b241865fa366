"""``POST /api/callbacks/{provider}``: a provider says one of its tasks changed (PROTOCOL.md 9.3, PROVIDERS.md 16).

A callback is only a hint. Its body is never stored: the task it names is looked up by (provider, task id) among
the active generations, and the poller is poked to ask the provider itself and store what *it* says, so a forged
callback can change nothing (at most it makes the poller ask a little sooner, throttled per task).

Signatures, where the provider signs: fal (``pika`` runs on fal's queue) with Ed25519, the keys read from
``FAL_JWKS_URL`` through that provider's HTTP client and cached for ``FAL_JWKS_TTL_S`` (fetched again, at most
once a minute, when no cached key verifies: fal may have rotated them); any provider with a
``<NAME>_WEBHOOK_SECRET`` with Standard Webhooks HMAC. A missing, bad or stale (over 5 min) signature is 401 and
counted in ``workspace_server_callbacks_refused_total``. Kling, Luma, MiniMax and Seedance do not sign: their
callbacks are accepted as hints. MiniMax's first POST is ``{"challenge": ...}``, echoed back.

Every answer but 401/404 is ``200 {"received": true}``, whether or not a task matched: a caller learns nothing
about which tasks exist.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from loguru import logger
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.body import MAX_JSON_DEPTH, read_body
from app.api.body import nesting_exceeds as _too_deep
from app.errors import AppError
from app.runtime import Runtime, runtime_of
from app.services.video import ACTIVE
from app.webhooks import SignatureRefused, parse_jwks, verify_fal, verify_standard
from protocol import codes, loads

FAL_PROVIDERS = frozenset({"pika"})  # providers reached through fal's queue: fal signs their webhooks
CALLBACK_PROVIDERS = frozenset({"pika", "kling", "luma", "minimax", "seedance"})  # the ones with a callback
MAX_CALLBACK_BYTES = 1024 * 1024
JWKS_REFETCH_S = 60.0  # a signature no cached key verifies fetches the keys again, at most this often
_TASK_REF = re.compile(r"[A-Za-z0-9_\-:.]{1,200}")


class JwksCache:
    """fal's public keys: fetched on first use, kept ``ttl_s``; ``refresh`` fetches again (rate-limited)."""

    def __init__(self, url: str, http: httpx.AsyncClient, *, ttl_s: float) -> None:
        self.url, self.http, self.ttl_s = url, http, ttl_s
        self.keys: list[Any] = []
        self.fetched_at: float | None = None
        self.fetches = 0

    async def get(self, *, refresh: bool = False) -> list[Any]:
        now = time.monotonic()
        stale = self.fetched_at is None or now - self.fetched_at > self.ttl_s
        if refresh and self.fetched_at is not None and now - self.fetched_at < JWKS_REFETCH_S:
            return self.keys
        if stale or refresh:
            self.fetches += 1
            response = await self.http.get(self.url, timeout=5.0)
            response.raise_for_status()
            self.keys, self.fetched_at = parse_jwks(response.json()), now
        return self.keys


class CallbackReceiver:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        http = runtime.providers.client("pika")  # fal's keys come through the fal provider's client
        self.jwks = JwksCache(settings.fal_jwks_url, http, ttl_s=settings.fal_jwks_ttl_s)

    async def verify(self, provider: str, request: Request, body: bytes) -> str | None:
        """The signed task reference (fal's request id) or None; raises ``SignatureRefused``."""
        headers = dict(request.headers)
        now = time.time()
        if provider in FAL_PROVIDERS:
            try:
                return verify_fal(headers, body, await self._keys(), now=now)
            except SignatureRefused as exc:
                if exc.reason != "bad_signature":
                    raise
            return verify_fal(headers, body, await self._keys(refresh=True), now=now)  # keys rotated?
        secret = self.runtime.providers.webhook_secret(provider)
        if secret is not None:
            verify_standard(headers, body, secret, now=now)
        return None

    async def _keys(self, *, refresh: bool = False) -> list[Any]:
        try:
            return await self.jwks.get(refresh=refresh)
        except (httpx.HTTPError, ValueError) as exc:  # fal retries its webhooks: say so, do not guess
            logger.warning("fal's webhook keys could not be fetched: {}", type(exc).__name__)
            raise AppError(codes.UNAVAILABLE, "the provider's signing keys could not be fetched") from exc

    async def poke(self, provider: str, ref: str) -> bool:
        """Poke the poller for the active generation of ``provider`` whose task id is ``ref`` (or, as the fal
        adapter stores it, begins with ``ref.``). True when there was one."""
        pattern = f"^{re.escape(ref)}(\\.|$)"
        raw = await self.runtime.video.collection.find_one(
            {"video.provider": provider, "video.status": {"$in": list(ACTIVE)}, "video.task_id": {"$regex": pattern}},
            {"_id": 1},
        )
        if raw is None:
            return False
        self.runtime.poller.poke(workspace_id=str(raw["_id"]))
        return True


def _receiver(request: Request) -> CallbackReceiver:
    state = request.app.state
    receiver: CallbackReceiver | None = getattr(state, "callback_receiver", None)
    if receiver is None:
        receiver = state.callback_receiver = CallbackReceiver(runtime_of(request))
    return receiver


def task_ref(body: Any) -> str | None:
    """The provider's task id in a callback body, tolerant of each provider's shape: fal ``request_id``,
    Kling/MiniMax ``task_id`` (also under ``data``), Luma/Seedance ``id``."""
    if not isinstance(body, dict):
        return None
    for holder in (body, body.get("data")):
        if isinstance(holder, dict):
            for key in ("request_id", "task_id", "id"):
                value = holder.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and _TASK_REF.fullmatch(str(value)):
                    return str(value)
    return None


def _decode(body: bytes) -> Any:
    if not body.strip():
        return None
    if _too_deep(body, MAX_JSON_DEPTH):
        raise AppError(codes.INVALID_MESSAGE, f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return loads(body)
    except ValueError as exc:
        raise AppError(codes.INVALID_JSON, f"the body is not valid JSON: {str(exc)[:120]}") from None


async def provider_callback(request: Request) -> Response:
    provider = request.path_params["provider"]
    if provider not in CALLBACK_PROVIDERS:
        raise AppError(codes.NOT_FOUND, f"no callbacks for provider {provider[:40]!r}")
    receiver = _receiver(request)
    metrics = receiver.runtime.metrics
    body = await read_body(request, MAX_CALLBACK_BYTES)
    try:
        signed_ref = await receiver.verify(provider, request, body)
    except SignatureRefused as exc:
        metrics.callbacks_refused.labels(provider=provider, reason=exc.reason).inc()
        logger.warning("{} callback refused: {}", provider, str(exc))
        raise AppError(codes.UNAUTHORIZED, f"callback refused: {exc}") from None
    data = _decode(body)
    if provider == "minimax" and isinstance(data, dict) and isinstance(data.get("challenge"), str):
        return JSONResponse({"challenge": data["challenge"][:1024]})  # MiniMax checks the URL before using it
    metrics.callbacks_received.labels(provider=provider).inc()
    ref = signed_ref if signed_ref and _TASK_REF.fullmatch(signed_ref) else task_ref(data)
    if ref is not None:
        found = await receiver.poke(provider, ref)
        logger.info("{} callback for {}: {}", provider, ref[:40], "poked" if found else "no active task")
    return JSONResponse({"received": True})
