"""Error codes (PROTOCOL.md 3.3), WebSocket close codes (3.4), and the HTTP status each error code maps to."""

from __future__ import annotations

from typing import Final, Literal

PROTOCOL_VERSION: Final = 1

INVALID_JSON: Final = "invalid_json"
UNKNOWN_TYPE: Final = "unknown_type"
INVALID_MESSAGE: Final = "invalid_message"
FORBIDDEN_FIELD: Final = "forbidden_field"
NOT_FOUND: Final = "not_found"
CONFLICT: Final = "conflict"
RATE_LIMITED: Final = "rate_limited"
UNAUTHORIZED: Final = "unauthorized"
FORBIDDEN: Final = "forbidden"  # 1.1: the token's role or projects, or the Origin, do not allow this
PROVIDER_ERROR: Final = "provider_error"
UNAVAILABLE: Final = "unavailable"
INTERNAL: Final = "internal"
TIMEOUT: Final = "timeout"  # only as video.error.code

ErrorCode = Literal[
    "invalid_json",
    "unknown_type",
    "invalid_message",
    "forbidden_field",
    "not_found",
    "conflict",
    "rate_limited",
    "unauthorized",
    "forbidden",
    "provider_error",
    "unavailable",
    "internal",
]

HTTP_STATUS: Final[dict[str, int]] = {
    INVALID_JSON: 400,
    UNKNOWN_TYPE: 400,
    INVALID_MESSAGE: 400,
    FORBIDDEN_FIELD: 400,
    NOT_FOUND: 404,
    CONFLICT: 409,
    RATE_LIMITED: 429,
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    PROVIDER_ERROR: 502,
    UNAVAILABLE: 503,
    INTERNAL: 500,
}

WS_NORMAL_CLOSURE: Final = 1000
WS_GOING_AWAY: Final = 1001
WS_POLICY_VIOLATION: Final = 1008
WS_MESSAGE_TOO_BIG: Final = 1009
WS_INTERNAL_ERROR: Final = 1011
WS_TRY_AGAIN_LATER: Final = 1013
