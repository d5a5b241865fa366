"""Runway's API facts (PROVIDERS.md section 1), shared by the video adapter (``image_to_video``) and the image
adapter (``text_to_image``, section 17): one host, one ``X-Runway-Version``, the task states ``GET /v1/tasks/{id}``
answers, and the error envelope (``{"error": "..."}``) as our errors, with the key masked.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import VideoState
from providers.errors import ProviderError
from providers.http import classify_http_error

API_VERSION = "2024-11-06"

STATES: dict[str, VideoState] = {
    "PENDING": "queued",
    "THROTTLED": "queued",  # over the org's concurrency: stored, starts by itself
    "RUNNING": "generating",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "CANCELED": "cancelled",  # Runway's own docs spell it this way
}


def _error_message(response: httpx.Response) -> str:
    """Runway's human reason from an error body (``{"error": "..."}``), else the HTTP reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    reason: Any = body.get("error") if isinstance(body, dict) else None
    if isinstance(reason, dict):
        reason = reason.get("message")
    if not isinstance(reason, str) or not reason.strip():
        reason = response.reason_phrase or "error"
    return f"runway: {reason.strip()[:500]} (HTTP {response.status_code})"


def http_error(response: httpx.Response, secret: str) -> ProviderError:
    message = _error_message(response).replace(secret, "***")
    return classify_http_error(response, message, provider="runway")
