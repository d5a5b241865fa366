"""The REST error body ``{"error": {"code", "message", "details"}}`` and the exception handlers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import HTTP_ONLY_CODES, AppError, to_app_error, wire_code
from protocol import codes


def error_response(
    error: AppError, status: int | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    http_status = status or HTTP_ONLY_CODES.get(error.code) or codes.HTTP_STATUS.get(error.code, 500)
    code = wire_code(error.code)
    body: dict[str, Any] = {"error": {"code": code, "message": error.message, "details": error.details}}
    return JSONResponse(body, status_code=http_status, headers=headers)


async def app_error_handler(request: Request, exc: Exception) -> Response:
    error = to_app_error(exc)
    request.app.state.runtime.metrics.http_errors.labels(code=error.code).inc()
    return error_response(error)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: codes.NOT_FOUND, 405: codes.INVALID_MESSAGE, 401: codes.UNAUTHORIZED}.get(
        exc.status_code, codes.INVALID_MESSAGE
    )
    return error_response(AppError(code, str(exc.detail)), exc.status_code, exc.headers)  # e.g. served-file 404s
