"""MiniMax's error envelope (PROVIDERS.md sections 7b and 18), shared by the video adapter (Hailuo) and the speech
adapter (``t2a_v2``) so MiniMax is translated once: errors usually come under HTTP 200 with
``base_resp.status_code != 0``, and that code, more than the HTTP status, says which of our errors it is.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInvalidRequest,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.http import classify_http_error, parse_retry_after

NAME = "minimax"

# base_resp.status_code → our error. PROVIDERS.md lists 1000/1001/1002/1004/1008/1026/2013; 1013 (internal),
# 1027 (output flagged), 1039 (token rate limit) and 2049 (invalid key) are MiniMax's error-code page from memory.
TRANSIENT_CODES = frozenset({1000, 1001, 1013})
RATE_LIMIT_CODES = frozenset({1002, 1039})
AUTH_CODES = frozenset({1004, 2049})
QUOTA_CODES = frozenset({1008})
# Anything else (1026/1027 sensitive content, 2013 invalid parameters, ...) is a refused request.


def base_resp(data: dict[str, Any]) -> tuple[int, str]:
    """``(status_code, status_msg)`` of the ``base_resp`` envelope; ``(0, "")`` when absent."""
    base = data.get("base_resp")
    if not isinstance(base, dict):
        return 0, ""
    try:
        code = int(base.get("status_code") or 0)
    except (TypeError, ValueError):
        code = -1
    message = base.get("status_msg")
    return code, message.strip() if isinstance(message, str) else ""


def code_error(code: int, message: str, *, status_code: int, retry_after: float | None) -> ProviderError:
    text = f"minimax: {message[:500] or 'error'} (code {code})"
    if code in RATE_LIMIT_CODES:
        return ProviderRateLimited(text, provider=NAME, status_code=status_code, retry_after=retry_after)
    if code in AUTH_CODES:
        return ProviderAuthError(text, provider=NAME, status_code=status_code)
    if code in QUOTA_CODES:
        return ProviderQuotaExceeded(text, provider=NAME, status_code=status_code)
    if code in TRANSIENT_CODES:
        return ProviderUnavailable(text, provider=NAME, status_code=status_code)
    return ProviderInvalidRequest(text, provider=NAME, status_code=status_code)


def body_error(data: dict[str, Any], response: httpx.Response, secret: str) -> ProviderError | None:
    """The error a 2xx body carries in ``base_resp``, if any, with the key masked."""
    code, message = base_resp(data)
    if code == 0:
        return None
    return code_error(
        code,
        message.replace(secret, "***"),
        status_code=response.status_code,
        retry_after=parse_retry_after(response.headers),
    )


def http_error(response: httpx.Response, secret: str) -> ProviderError:
    """A non-2xx answer: MiniMax's ``base_resp`` code when the body has one, else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = base_resp(body) if isinstance(body, dict) else (0, "")
    message = message.replace(secret, "***")
    if code:
        retry_after = parse_retry_after(response.headers)
        return code_error(code, message, status_code=response.status_code, retry_after=retry_after)
    reason = message or response.reason_phrase or "error"
    return classify_http_error(response, f"minimax: {reason[:500]} (HTTP {response.status_code})", provider=NAME)
