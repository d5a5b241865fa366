"""Kling adapter: ``image2video`` (PROVIDERS.md section 2).

``POST /v1/videos/image2video`` → ``GET /v1/videos/image2video/{task_id}``; there is no cancel endpoint. Auth is a
short-lived HS256 JWT (``iss`` = access key, signed with the secret key) sent as ``Authorization: Bearer``; it is
cached and rebuilt before it expires. Every answer is an envelope ``{"code", "message", "request_id", "data"}``
and errors are told by ``code``, not by HTTP status alone (HTTP 429 also carries non-retryable billing codes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from providers._shot import compose_prompt, shot_directions
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.http import classify_http_error, json_or_error, parse_retry_after, transport_error

log = logging.getLogger(__name__)

TOKEN_TTL_S = 1800  # exp = now + 30 min
TOKEN_NBF_SKEW_S = 5  # nbf = now - 5 s, against clock skew (code 1003)
TOKEN_REFRESH_MARGIN_S = 300  # rebuild when less than 5 min of validity is left

PROMPT_LIMIT = 2500  # characters, for prompt and negative_prompt

STATES: dict[str, VideoState] = {
    "submitted": "queued",
    "processing": "generating",
    "succeed": "completed",
    "failed": "failed",
}

# camera_movement → Kling "simple" camera_control config field and value. Kling names rotations unlike film:
# its ``pan`` turns about the x-axis (up/down, i.e. a film tilt), its ``tilt`` about the y-axis (a film pan);
# negative ``zoom`` narrows the view (moves in). Orbit, static and handheld have no control: they go in the prompt.
CAMERA_CONTROLS: dict[str, tuple[str, int]] = {
    "push_in": ("zoom", -5),
    "pull_out": ("zoom", 5),
    "pan_left": ("tilt", -5),
    "pan_right": ("tilt", 5),
    "tilt_up": ("pan", 5),
    "tilt_down": ("pan", -5),
    "crane_up": ("vertical", 5),
    "crane_down": ("vertical", -5),
}
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
# Kling's capability map: for image2video, camera_control works only on kling-v1-5, pro mode, 5 s.
CAMERA_CONTROL_MODELS = frozenset({"kling-v1-5"})


# --- pure mapping -------------------------------------------------------------------------------------------------


def _compose_prompt(prompt: str, directions: str, limit: int = PROMPT_LIMIT) -> str:
    return compose_prompt(prompt, directions, limit)


def _duration(model: str, seconds: float) -> str:
    """Kling's duration is a string: "5"/"10", or "3"…"15" on the v3 family. Nearest allowed, ties shorter."""
    allowed = range(3, 16) if model.startswith("kling-v3") else (5, 10)
    return str(min(allowed, key=lambda d: (abs(d - seconds), d)))


def _camera_control(model: str, duration: str, movement: str | None) -> dict[str, Any] | None:
    """A ``simple`` camera_control when both the model and the movement allow one, else None."""
    if movement not in CAMERA_CONTROLS or model not in CAMERA_CONTROL_MODELS or duration != "5":
        return None
    axis, value = CAMERA_CONTROLS[movement]
    return {"type": "simple", "config": {name: value if name == axis else 0 for name in CAMERA_AXES}}


def _build_request(job: VideoJob, config: ProviderConfig, callback_url: str | None = None) -> dict[str, Any]:
    """The ``POST /v1/videos/image2video`` body. Image-to-video has no aspect ratio (it follows the picture)
    and no seed, so those two are not sent."""
    model = job.model or config.model or KlingProvider.default_model
    duration = _duration(model, job.duration_s)
    camera = _camera_control(model, duration, job.camera_movement)
    body: dict[str, Any] = {
        "model_name": model,
        # A URL, or bare base64: Kling rejects a data: URI prefix.
        "image": job.image.public_url or job.image.base64(),
        "prompt": _compose_prompt(job.prompt, shot_directions(job, include_camera=camera is None)),
        "duration": duration,
        "mode": "pro" if camera else "std",  # camera_control needs pro mode
    }
    if job.negative_prompt and job.negative_prompt.strip():
        body["negative_prompt"] = job.negative_prompt.strip()[:PROMPT_LIMIT]
    if camera:
        body["camera_control"] = camera
    if callback_url:  # the provider POSTs the task there when it changes (PROVIDERS.md 16)
        body["callback_url"] = callback_url
    return body


def _parse_status(envelope: dict[str, Any]) -> TaskStatus:
    """A successful (``code`` 0) query envelope → our status. Unknown values count as still generating."""
    data = envelope.get("data")
    raw = data.get("task_status") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(raw, str):
        raise ProviderBadResponse("kling: task has no task_status", provider="kling")
    state = STATES.get(raw.lower())
    if state is None:
        log.debug("kling: unknown task status %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "completed":
        result = data.get("task_result")
        videos = result.get("videos") if isinstance(result, dict) else None
        first = videos[0] if isinstance(videos, list) and videos else None
        url = first.get("url") if isinstance(first, dict) else None
        if isinstance(url, str) and url:
            return TaskStatus(status=state, video_url=url, raw_status=raw)
        return TaskStatus(status="failed", error="Kling reported success but returned no video", raw_status=raw)
    if state == "failed":
        reason = data.get("task_status_msg")
        error = reason if isinstance(reason, str) and reason.strip() else "Kling reported the task failed"
        return TaskStatus(status=state, error=error, raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _body_code(body: dict[str, Any] | None) -> int | None:
    code = body.get("code") if body is not None else None
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def _error_for(
    response: httpx.Response, body: dict[str, Any] | None, secrets: tuple[str | None, ...] = ()
) -> ProviderError:
    """Translate a Kling failure by its body ``code`` (HTTP status only when the code is unknown).
    Any of ``secrets`` echoed in the vendor's message is masked."""
    code = _body_code(body)
    reason = body.get("message") if body is not None else None
    if not isinstance(reason, str) or not reason.strip():
        reason = response.reason_phrase or "error"
    request_id = body.get("request_id") if body is not None else None
    details = [f"code {code}"] if code is not None else []
    details.append(f"HTTP {response.status_code}")
    if isinstance(request_id, str) and request_id:
        details.append(f"request {request_id}")
    message = f"kling: {reason.strip()[:500]} ({', '.join(details)})"
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    status = response.status_code
    if code is not None:
        if 1000 <= code <= 1004 or code == 1103:  # bad/expired token; no access to the API or model
            return ProviderAuthError(message, provider="kling", status_code=status)
        if code == 1304:  # IP whitelist policy: retrying from the same address will not help
            return ProviderAuthError(message, provider="kling", status_code=status)
        if 1100 <= code <= 1102:  # account exception, arrears, resource pack depleted: 429, but not retryable
            return ProviderQuotaExceeded(message, provider="kling", status_code=status)
        if code in (1302, 1303):  # request rate, or concurrency over the resource pack
            return ProviderRateLimited(
                message, provider="kling", status_code=status, retry_after=parse_retry_after(response.headers)
            )
        if 1200 <= code <= 1203 or code in (1300, 1301):  # bad params, unknown resource, content policy
            return ProviderInvalidRequest(message, provider="kling", status_code=status)
        if 5000 <= code <= 5999:
            return ProviderUnavailable(message, provider="kling", status_code=status)
    if response.is_success:
        return ProviderBadResponse(message, provider="kling", status_code=status)
    return classify_http_error(response, message, provider="kling")


# --- the adapter --------------------------------------------------------------------------------------------------


class KlingProvider:
    name = "kling"
    default_base_url = "https://api-singapore.klingai.com"
    default_model = "kling-v2-6"

    def __init__(
        self, config: ProviderConfig, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._base = (config.base_url or self.default_base_url).rstrip("/")
        self._token: str | None = None
        self._token_exp = 0.0

    def _jwt(self) -> str:
        """The cached token, rebuilt when it has less than ``TOKEN_REFRESH_MARGIN_S`` left."""
        access_key, secret_key = self._config.api_key, self._config.secret_key
        if not access_key or not secret_key:
            raise ProviderNotConfigured(
                "kling: access key and secret key are both required (KLING_ACCESS_KEY, KLING_SECRET_KEY)",
                provider=self.name,
            )
        now = int(self._clock())
        if self._token is None or now >= self._token_exp - TOKEN_REFRESH_MARGIN_S:
            exp = now + TOKEN_TTL_S
            payload = {"iss": access_key, "exp": exp, "nbf": now - TOKEN_NBF_SKEW_S}
            self._token = jwt.encode(payload, secret_key, algorithm="HS256", headers={"typ": "JWT"})
            self._token_exp = exp
        return self._token

    async def _request(self, method: str, path: str, *, json: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._jwt()}"}
        body: dict[str, Any] | None = None
        try:
            response = await self._http.request(method, f"{self._base}{path}", headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=self.name) from exc
        if response.is_success:
            envelope = json_or_error(response, provider=self.name)
            if _body_code(envelope) == 0:
                return envelope
            body = envelope
        else:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                body = parsed
        error = _error_for(response, body, (self._config.api_key, self._config.secret_key, self._token))
        if isinstance(error, ProviderAuthError):
            self._token = None  # an expired or refused token is not reused
        raise error

    async def submit(self, job: VideoJob) -> ProviderTask:
        envelope = await self._request(
            "POST", "/v1/videos/image2video", json=_build_request(job, self._config, self._config.callback_url)
        )
        data = envelope.get("data")
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not isinstance(task_id, str | int) or isinstance(task_id, bool) or not str(task_id):
            raise ProviderBadResponse("kling: create response has no task_id", provider=self.name)
        raw = data.get("task_status") if isinstance(data, dict) else None
        state = STATES.get(raw, "queued") if isinstance(raw, str) else "queued"
        return ProviderTask(task_id=str(task_id), status=state)

    async def status(self, task_id: str) -> TaskStatus:
        return _parse_status(await self._request("GET", f"/v1/videos/image2video/{quote(task_id, safe='')}"))

    async def cancel(self, task_id: str) -> bool:
        """Kling has no cancel endpoint: nothing is sent."""
        return False

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
