"""Shared HTTP helpers for adapters: one client factory, one retry policy, one Retry-After parser.

Adapters are *given* an ``httpx.AsyncClient`` (made here by the app, one per provider) and never create one
lazily. ``classify_http_error`` is the generic translation of an HTTP failure into the error tree; adapters
call it after handling their own vendor-specific body codes.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from providers.backoff import backoff_delay
from providers.base import ProviderConfig
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderUnreachable,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)


def make_client(*, timeout: httpx.Timeout | float | None = None) -> httpx.AsyncClient:
    """The one way the app builds a provider's client: bounded timeouts and connection pool."""
    return httpx.AsyncClient(
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        limits=DEFAULT_LIMITS,
        follow_redirects=True,
    )


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` (preferred) or ``retry-after`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_http_error(response: httpx.Response, message: str, *, provider: str) -> ProviderError:
    """Generic mapping of a non-2xx response onto the error tree (vendor body codes are the adapter's job)."""
    code = response.status_code
    if code in (401, 403):
        return ProviderAuthError(message, provider=provider, status_code=code)
    if code == 429:
        return ProviderRateLimited(
            message, provider=provider, status_code=code, retry_after=parse_retry_after(response.headers)
        )
    if code in (408, 409) or code >= 500:
        return ProviderUnavailable(message, provider=provider, status_code=code)
    if 400 <= code < 500:
        return ProviderInvalidRequest(message, provider=provider, status_code=code)
    return ProviderBadResponse(message, provider=provider, status_code=code)


# Failures before the request left this machine: no connection was made, so the provider never saw it.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def transport_error(exc: httpx.HTTPError, *, provider: str) -> ProviderUnreachable:
    """A timeout or connection failure: transient. The message names the kind, never the URL's secrets."""
    return ProviderUnreachable(
        f"{provider}: {type(exc).__name__} talking to the provider",
        provider=provider,
        sent=not isinstance(exc, _NEVER_SENT),
    )


def certainly_not_received(exc: ProviderError) -> bool:
    """May a request that *creates* something (a paid generation) be sent again after ``exc``? Only when the
    provider certainly did not act on it: the connection was never made, or it answered 429 with a Retry-After
    (it refused the request, and said when to come back). A read timeout, a 5xx or a 409 may follow a request the
    provider accepted: sending it again could start, and bill, a second generation."""
    if isinstance(exc, ProviderUnreachable):
        return not exc.sent
    return isinstance(exc, ProviderRateLimited) and exc.retry_after is not None


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_if: Callable[[ProviderError], bool] | None = None,
) -> T:
    """The one retry policy: retry ``retryable`` provider errors with exponential backoff and jitter,
    honouring ``retry_after`` when the provider gave one. Tests pass ``sleep`` to switch waiting off. A call that
    is not idempotent passes ``retry_if=certainly_not_received``: it is retried only when it never arrived."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except ProviderError as exc:
            again = exc.retryable and (retry_if is None or retry_if(exc))
            if not again or attempt == attempts:
                raise
            delay = getattr(exc, "retry_after", None)
            if delay is None:
                delay = backoff_delay(attempt, base=base_delay, cap=max_delay, jitter=True)
            await sleep(min(delay, max_delay * 4))
    raise AssertionError("unreachable")  # pragma: no cover


def json_or_error(response: httpx.Response, *, provider: str) -> dict:  # type: ignore[type-arg]
    """Parse a JSON object body or raise ``ProviderBadResponse``."""
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderBadResponse(
            f"{provider}: response is not JSON (HTTP {response.status_code})", provider=provider
        ) from exc
    if not isinstance(data, dict):
        raise ProviderBadResponse(f"{provider}: response is not a JSON object", provider=provider)
    return data


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    error: Callable[[httpx.Response], ProviderError],
    **kwargs: object,
) -> httpx.Response:
    """One request: transport failures become ``ProviderUnreachable``, non-2xx answers ``error(response)``."""
    try:
        response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider=provider) from exc
    if response.status_code >= 400:
        raise error(response)
    return response


class BearerKeyAdapter:
    """What the Runway, Seedance, MiniMax and Luma adapters share: a base URL, an API key sent as
    ``Authorization: Bearer``, and every request through ``send`` with the vendor's error translation (which
    masks the key). A subclass sets ``name``, ``default_base_url``, ``missing_key`` and ``_http_error``, and
    ``headers`` when the vendor wants more on every request."""

    name: str
    default_base_url: str
    missing_key: str  # the ProviderNotConfigured message, naming the variable to set
    headers: dict[str, str] = {}

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._base = (config.base_url or self.default_base_url).rstrip("/")

    def _key(self) -> str:
        if not self._config.api_key:
            raise ProviderNotConfigured(self.missing_key, provider=self.name)
        return self._config.api_key

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        raise NotImplementedError

    async def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        key = self._key()
        return await send(
            self._http,
            method,
            f"{self._base}{path}",
            provider=self.name,
            error=lambda response: self._http_error(response, key),
            headers={**self.headers, "Authorization": f"Bearer {key}"},
            **kwargs,
        )
