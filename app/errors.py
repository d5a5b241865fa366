"""The app's error type and the one boundary that maps every failure onto a protocol error code."""

from __future__ import annotations

import uuid
from typing import Any

from loguru import logger
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from app.logging import traceback_verdict
from protocol import ProtocolError, codes
from providers.errors import ProviderError, ProviderNotConfigured, ProviderUnreachable

DB_UNAVAILABLE_ERRORS = (ConnectionFailure, AutoReconnect, ServerSelectionTimeoutError, ExecutionTimeout, WTimeoutError)


class AppError(Exception):
    """A failure with a protocol error code (PROTOCOL.md 3.3)."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def not_found(workspace_id: str) -> AppError:
    return AppError(codes.NOT_FOUND, f"workspace {workspace_id} does not exist in this project")


def to_app_error(exc: BaseException) -> AppError:
    """Map any exception onto a protocol error. Unknown ones are logged with a correlation id."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, ProtocolError):
        return AppError(exc.code, exc.message, details=exc.details)
    if isinstance(exc, DB_UNAVAILABLE_ERRORS):
        logger.warning("database unavailable: {}", type(exc).__name__)
        return AppError(codes.UNAVAILABLE, "the database is unreachable right now; nothing was changed")
    # unavailable: not configured or no answer; a provider that answered (5xx too) refused or failed
    if isinstance(exc, ProviderNotConfigured | ProviderUnreachable):
        return AppError(codes.UNAVAILABLE, exc.message)
    if isinstance(exc, ProviderError):
        return AppError(codes.PROVIDER_ERROR, exc.message)
    correlation = uuid.uuid4().hex[:12]
    verdict = traceback_verdict(exc)  # one traceback per type and raising location a minute: no log floods
    if verdict.show:
        since = f" ({verdict.suppressed} more of the same since its last traceback)" if verdict.suppressed else ""
        logger.opt(exception=exc).error("internal error {}: {}{}", correlation, type(exc).__name__, since)
    else:
        logger.error(
            "internal error {}: {} (traceback of the same error shown recently; {} suppressed)",
            correlation,
            type(exc).__name__,
            verdict.suppressed,
        )
    return AppError(codes.INTERNAL, "internal server error", details={"correlation_id": correlation})


# Codes that only exist over HTTP (PROTOCOL.md 5's 413/415/422); over the WebSocket they are invalid_message.
UNPROCESSABLE = "unprocessable"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
PAYLOAD_TOO_LARGE = "payload_too_large"
HTTP_ONLY_CODES = {UNPROCESSABLE: 422, UNSUPPORTED_MEDIA_TYPE: 415, PAYLOAD_TOO_LARGE: 413}


def wire_code(code: str) -> str:
    """The protocol error code for ``code`` (HTTP-only codes become ``invalid_message``)."""
    return codes.INVALID_MESSAGE if code in HTTP_ONLY_CODES else code
