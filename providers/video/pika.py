"""Pika adapter, through fal's queue API (PROVIDERS.md section 3).

``POST {base}/fal-ai/pika/v2.2/image-to-video`` answers ``request_id`` plus ``status_url``, ``response_url`` and
``cancel_url`` (on ``{owner}/{app}`` only: the model's sub-path is dropped). Auth is ``Authorization: Key <key>``.
With a callback URL configured, submit asks fal to POST the result there (``?fal_webhook=``, PROVIDERS.md 16).
The task id we hand back encodes those URLs, so polling works after a restart. fal has no FAILED status: a failed
run shows as COMPLETED with ``error``, or as a non-2xx answer when the result is fetched.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderError, ProviderInvalidRequest, ProviderNotConfigured
from providers.http import classify_http_error, json_or_error, transport_error
from providers.video._shot import compose_prompt, shot_directions

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1000  # characters; fal's Pika schema states none, so this stays conservative
RESOLUTION = "720p"
DURATIONS = (5, 10)

STATES: dict[str, VideoState] = {
    "IN_QUEUE": "queued",
    "IN_PROGRESS": "generating",
    "COMPLETED": "completed",  # only once the result fetch succeeds; see ``PikaProvider.status``
}


@dataclass(frozen=True)
class QueueRequest:
    """What the task id carries: fal's request id, the ``{owner}/{app}`` it runs under, and the URLs submit gave."""

    request_id: str
    app: str
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None

    def url(self, kind: str, base: str) -> str:
        """The stored URL of ``kind`` (status/response/cancel) when it hangs from ``base``, else rebuilt on
        ``base``: the key is never sent to a host other than the configured one."""
        stored = {"status": self.status_url, "response": self.response_url, "cancel": self.cancel_url}[kind]
        if stored and stored.startswith(f"{base}/"):
            return stored
        suffix = "" if kind == "response" else f"/{kind}"
        return f"{base}/{self.app}/requests/{self.request_id}{suffix}"


# --- pure mapping -------------------------------------------------------------------------------------------------


def _compose_prompt(prompt: str, directions: str, limit: int = PROMPT_LIMIT) -> str:
    return compose_prompt(prompt, directions, limit)


def _app_id(endpoint_id: str) -> str:
    """``fal-ai/pika/v2.2/image-to-video`` → ``fal-ai/pika``: the queue's status/result URLs drop the sub-path."""
    return "/".join(endpoint_id.strip("/").split("/")[:2])


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


def _parse_submit(data: dict[str, Any], endpoint_id: str) -> QueueRequest:
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise ProviderBadResponse("pika: submit response has no request_id", provider="pika")

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    return QueueRequest(request_id, _app_id(endpoint_id), text("status_url"), text("response_url"), text("cancel_url"))


def _with_type(reason: str, error_type: Any) -> str:
    return f"{reason} ({error_type})" if isinstance(error_type, str) and error_type else reason


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
        return TaskStatus(status="failed", error=_with_type(error, data.get("error_type")), raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _parse_result(data: dict[str, Any]) -> TaskStatus:
    """A 2xx result body (the model's output) → completed with the video URL."""
    video = data.get("video")
    url = video.get("url") if isinstance(video, dict) else None
    if isinstance(url, str) and url:
        return TaskStatus(status="completed", video_url=url, raw_status="COMPLETED")
    return TaskStatus(status="failed", error="fal reported success but returned no video", raw_status="COMPLETED")


def _error_reason(response: httpx.Response) -> str:
    """fal's human reason: ``detail`` (a string, or a list of ``{loc, msg}``) and ``error_type``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    reason: str | None = None
    error_type: Any = response.headers.get("x-fal-error-type")
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            reason = detail
        elif isinstance(detail, list):
            items = []
            for item in detail:
                if isinstance(item, dict) and isinstance(item.get("msg"), str):
                    loc = item.get("loc")
                    where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
                    items.append(f"{where}: {item['msg']}" if where else item["msg"])
            reason = "; ".join(items) or None
        if reason is None and isinstance(body.get("error"), str):
            reason = body["error"]
        error_type = body.get("error_type") or error_type
    reason = (reason or response.reason_phrase or "error").strip()[:500]
    return _with_type(reason, error_type)


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    message = f"pika: {_error_reason(response)} (HTTP {response.status_code})".replace(secret, "***")
    return classify_http_error(response, message, provider="pika")


def _result_is_transient(response: httpx.Response) -> bool:
    """Result-fetch failures that say nothing about the run: rate limits, and bare gateway errors (no
    ``x-fal-request-id``), which fal's own client retries. Every other non-2xx is the run's failure."""
    code = response.status_code
    return code in (408, 409, 429) or (code in (502, 503, 504) and "x-fal-request-id" not in response.headers)


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
            raise _http_error(response, key)
        request = _parse_submit(json_or_error(response, provider=self.name), endpoint_id)
        return ProviderTask(task_id=_encode_task_id(request), status="queued")

    async def status(self, task_id: str) -> TaskStatus:
        key = self._key()
        request = _decode_task_id(task_id)
        if request.request_id in self._cancelled:
            return TaskStatus(status="cancelled", raw_status="CANCELLATION_REQUESTED")
        response = await self._send("GET", request.url("status", self._base))
        if not response.is_success:  # pending statuses may come as 202: any 2xx is fine
            raise _http_error(response, key)
        parsed = _parse_status(json_or_error(response, provider=self.name))
        if parsed.status != "completed":
            return parsed
        result = await self._send("GET", request.url("response", self._base))
        if result.is_success:
            return _parse_result(json_or_error(result, provider=self.name))
        if result.status_code in (401, 403) or _result_is_transient(result):
            raise _http_error(result, key)
        return TaskStatus(status="failed", error=_error_reason(result).replace(key, "***"), raw_status="COMPLETED")

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
        raise _http_error(response, key)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
