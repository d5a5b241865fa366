"""Pika adapter, through fal's queue API (PROVIDERS.md section 3).

``POST {base}/fal-ai/pika/v2.2/image-to-video`` answers ``request_id`` plus ``status_url``, ``response_url`` and
``cancel_url`` (on ``{owner}/{app}`` only: the model's sub-path is dropped). Auth is ``Authorization: Key <key>``.
With a callback URL configured, submit asks fal to POST the result there (``?fal_webhook=``, PROVIDERS.md 16).
The task id we hand back encodes those URLs, so polling works after a restart. fal has no FAILED status: a failed
run shows as COMPLETED with ``error``, or as a non-2xx answer when the result is fetched. The queue pieces
shared with the fal image adapter (``QueueRequest``, error reasons) are ``providers._fal_queue``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlencode

import httpx

from providers._fal_queue import (
    QueueRequest,
    app_id,
    error_reason,
    http_error,
    parse_submit,
    result_is_transient,
    with_type,
)
from providers._shot import compose_prompt, shot_directions
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderInvalidRequest, ProviderNotConfigured
from providers.http import json_or_error, transport_error

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1000  # characters; fal's Pika schema states none, so this stays conservative
RESOLUTION = "720p"
DURATIONS = (5, 10)

STATES: dict[str, VideoState] = {
    "IN_QUEUE": "queued",
    "IN_PROGRESS": "generating",
    "COMPLETED": "completed",  # only once the result fetch succeeds; see ``PikaProvider.status``
}


# --- pure mapping -------------------------------------------------------------------------------------------------


def _compose_prompt(prompt: str, directions: str, limit: int = PROMPT_LIMIT) -> str:
    return compose_prompt(prompt, directions, limit)


_app_id = app_id


def _build_request(job: VideoJob, config: ProviderConfig) -> dict[str, Any]:
    """The model input, sent as the submit body. Image-to-video has no aspect ratio (it follows the picture)."""
    body: dict[str, Any] = {
        "image_url": job.image.public_url or job.image.data_uri(),
        "prompt": _compose_prompt(job.prompt, shot_directions(job)),
        "resolution": RESOLUTION,
        "duration": min(DURATIONS, key=lambda d: (abs(d - job.duration_s), d)),
    }
    if job.negative_prompt and job.negative_prompt.strip():
        body["negative_prompt"] = job.negative_prompt.strip()[:PROMPT_LIMIT]
    if job.seed is not None:
        body["seed"] = job.seed
    return body


def _submit_url(base: str, endpoint_id: str, callback_url: str | None = None) -> str:
    """The queue submit URL; with ``callback_url``, fal's webhook query parameter (the body is the model input)."""
    url = f"{base}/{endpoint_id}"
    return f"{url}?{urlencode({'fal_webhook': callback_url})}" if callback_url else url


def _encode_task_id(request: QueueRequest) -> str:
    """``<request_id>.<base64url JSON>``: opaque to the app, readable in logs, enough to poll after a restart."""
    payload = {
        "id": request.request_id,
        "app": request.app,
        "status_url": request.status_url,
        "response_url": request.response_url,
        "cancel_url": request.cancel_url,
    }
    packed = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{request.request_id}.{packed}"


def _decode_task_id(task_id: str) -> QueueRequest:
    _, _, packed = task_id.rpartition(".")
    try:
        payload = json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise ProviderInvalidRequest("pika: malformed task id", provider="pika") from exc
    if not (isinstance(payload, dict) and isinstance(payload.get("id"), str) and isinstance(payload.get("app"), str)):
        raise ProviderInvalidRequest("pika: malformed task id", provider="pika")

    def text(key: str) -> str | None:
        value = payload.get(key)
        return value if isinstance(value, str) else None

    return QueueRequest(payload["id"], payload["app"], text("status_url"), text("response_url"), text("cancel_url"))


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    """A queue status body → our status. COMPLETED without ``error`` maps to completed *without* a video URL:
    the caller must still fetch the result, which may yet fail. Unknown values count as still generating."""
    raw = data.get("status")
    if not isinstance(raw, str):
        raise ProviderBadResponse("pika: queue status has no status", provider="pika")
    state = STATES.get(raw.upper())
    if state is None:
        log.debug("pika: unknown queue status %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "completed" and data.get("error"):
        error = data["error"] if isinstance(data["error"], str) else json.dumps(data["error"])[:500]
        return TaskStatus(status="failed", error=with_type(error, data.get("error_type")), raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _parse_result(data: dict[str, Any]) -> TaskStatus:
    """A 2xx result body (the model's output) → completed with the video URL."""
    video = data.get("video")
    url = video.get("url") if isinstance(video, dict) else None
    if isinstance(url, str) and url:
        return TaskStatus(status="completed", video_url=url, raw_status="COMPLETED")
    return TaskStatus(status="failed", error="fal reported success but returned no video", raw_status="COMPLETED")


def _cancel_refused(response: httpx.Response) -> bool:
    """fal's 400 ``{"status": "ALREADY_COMPLETED"}``: too late to cancel, not an error."""
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == 400 and isinstance(body, dict) and body.get("status") == "ALREADY_COMPLETED"


# --- the adapter --------------------------------------------------------------------------------------------------


class PikaProvider:
    name = "pika"
    default_base_url = "https://queue.fal.run"
    default_model = "fal-ai/pika/v2.2/image-to-video"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._base = (config.base_url or self.default_base_url).rstrip("/")
        # Requests we cancelled. fal keeps no CANCELLED status; the app records the cancel durably.
        self._cancelled: set[str] = set()

    def _key(self) -> str:
        if not self._config.api_key:
            raise ProviderNotConfigured("pika: no fal API key configured (PIKA_API_KEY or FAL_KEY)", provider=self.name)
        return self._config.api_key

    async def _send(self, method: str, url: str, *, json: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Key {self._key()}"}
        try:
            return await self._http.request(method, url, headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=self.name) from exc

    async def submit(self, job: VideoJob) -> ProviderTask:
        key = self._key()
        endpoint_id = (job.model or self._config.model or self.default_model).strip("/")
        url = _submit_url(self._base, endpoint_id, self._config.callback_url)
        response = await self._send("POST", url, json=_build_request(job, self._config))
        if not response.is_success:
            raise http_error(response, key, provider=self.name)
        request = parse_submit(json_or_error(response, provider=self.name), endpoint_id, provider=self.name)
        return ProviderTask(task_id=_encode_task_id(request), status="queued")

    async def status(self, task_id: str) -> TaskStatus:
        key = self._key()
        request = _decode_task_id(task_id)
        if request.request_id in self._cancelled:
            return TaskStatus(status="cancelled", raw_status="CANCELLATION_REQUESTED")
        response = await self._send("GET", request.url("status", self._base))
        if not response.is_success:  # pending statuses may come as 202: any 2xx is fine
            raise http_error(response, key, provider=self.name)
        parsed = _parse_status(json_or_error(response, provider=self.name))
        if parsed.status != "completed":
            return parsed
        result = await self._send("GET", request.url("response", self._base))
        if result.is_success:
            return _parse_result(json_or_error(result, provider=self.name))
        if result.status_code in (401, 403) or result_is_transient(result):
            raise http_error(result, key, provider=self.name)
        return TaskStatus(status="failed", error=error_reason(result).replace(key, "***"), raw_status="COMPLETED")

    async def cancel(self, task_id: str) -> bool:
        """Ask fal to cancel (a running request only gets a signal). False when it already finished or is gone."""
        key = self._key()
        request = _decode_task_id(task_id)
        response = await self._send("PUT", request.url("cancel", self._base))
        if response.is_success:
            self._cancelled.add(request.request_id)
            return True
        if response.status_code == 404 or _cancel_refused(response):  # NOT_FOUND / ALREADY_COMPLETED
            return False
        raise http_error(response, key, provider=self.name)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
