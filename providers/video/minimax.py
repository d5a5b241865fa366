"""MiniMax Hailuo video (PROVIDERS.md 7b): create -> query -> files/retrieve for the download URL.

Errors usually arrive under HTTP 200 with ``base_resp.status_code != 0``. Camera moves use MiniMax's bracket
commands in the prompt (``[Push in]``). ``resolution`` is spelled with a capital P. No progress, no cancel."""

from __future__ import annotations

from typing import Any

import httpx

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
from providers.http import classify_http_error, json_or_error, send
from providers.video._shot import compose_prompt, shot_directions

PROMPT_LIMIT = 2000
BRACKETS = {
    "static": "[Static shot]",
    "push_in": "[Push in]",
    "pull_out": "[Pull out]",
    "pan_left": "[Pan left]",
    "pan_right": "[Pan right]",
    "tilt_up": "[Tilt up]",
    "tilt_down": "[Tilt down]",
    "orbit_left": "[Truck left,Pan right]",
    "orbit_right": "[Truck right,Pan left]",
    "crane_up": "[Pedestal up]",
    "crane_down": "[Pedestal down]",
    "handheld": "[Shake]",
}
STATES: dict[str, VideoState] = {
    "Preparing": "queued",
    "Queueing": "queued",
    "Processing": "generating",
    "Success": "completed",
    "Fail": "failed",
}


def _build_request(job: VideoJob, model: str) -> dict[str, Any]:
    bracket = BRACKETS.get(job.camera_movement or "")
    directions = shot_directions(job, include_camera=bracket is None)
    if job.negative_prompt:
        directions = f"{directions} Avoid: {job.negative_prompt}.".strip()
    prompt = compose_prompt(job.prompt, directions, PROMPT_LIMIT - (len(bracket) + 1 if bracket else 0))
    duration = 10 if job.duration_s >= 8 else 6
    return {
        "model": model,
        "prompt": f"{bracket} {prompt}" if bracket else prompt,
        "first_frame_image": job.image.public_url or job.image.data_uri(),
        "duration": duration,
        "resolution": "768P" if duration == 10 else "1080P",
        "prompt_optimizer": True,
    }


def _check(data: dict[str, Any]) -> dict[str, Any]:
    """Raise for ``base_resp.status_code != 0`` (MiniMax's errors under HTTP 200)."""
    base = data.get("base_resp") or {}
    code = base.get("status_code", 0)
    if code in (0, None):
        return data
    message = f"minimax: {base.get('status_msg') or 'error'} (code {code})"
    error: ProviderError
    if code == 1002:
        error = ProviderRateLimited(message, provider="minimax", status_code=200)
    elif code == 1004:
        error = ProviderAuthError(message, provider="minimax")
    elif code == 1008:
        error = ProviderQuotaExceeded(message, provider="minimax")
    elif code in (1000, 1001):
        error = ProviderUnavailable(message, provider="minimax")
    else:  # 1026 sensitive content, 2013 invalid parameters, ...
        error = ProviderInvalidRequest(message, provider="minimax")
    raise error


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    raw = str(data.get("status") or "")
    state = STATES.get(raw, "generating")
    return TaskStatus(state, None, None, "MiniMax reported the task failed" if state == "failed" else None, raw)


def _http_error(response: httpx.Response) -> ProviderError:
    try:
        message = str((response.json().get("base_resp") or {}).get("status_msg") or "")
    except (ValueError, AttributeError):
        message = ""
    return classify_http_error(
        response, f"minimax: {message or 'HTTP ' + str(response.status_code)}", provider="minimax"
    )


class MinimaxProvider:
    name = "minimax"
    default_base_url = "https://api.minimax.io"
    default_model = "MiniMax-Hailuo-02"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.model = config.model or self.default_model

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if not self.config.api_key:
            raise ProviderNotConfigured("minimax: MINIMAX_API_KEY is not set", provider=self.name)
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        response = await send(
            self.http,
            method,
            f"{self.base_url}{path}",
            provider=self.name,
            error=_http_error,
            headers=headers,
            **kwargs,
        )
        return _check(json_or_error(response, provider=self.name))

    async def submit(self, job: VideoJob) -> ProviderTask:
        data = await self._call("POST", "/v1/video_generation", json=_build_request(job, self.model))
        task_id = data.get("task_id")
        if not task_id:
            raise ProviderBadResponse("minimax: no task_id in the answer", provider=self.name)
        return ProviderTask(str(task_id), "queued")

    async def status(self, task_id: str) -> TaskStatus:
        data = await self._call("GET", "/v1/query/video_generation", params={"task_id": task_id})
        status = _parse_status(data)
        if status.status != "completed":
            return status
        file_id = data.get("file_id")
        if not file_id:
            raise ProviderBadResponse("minimax: Success without file_id", provider=self.name)
        found = await self._call("GET", "/v1/files/retrieve", params={"file_id": str(file_id)})
        url = (found.get("file") or {}).get("download_url")
        if not url:
            raise ProviderBadResponse("minimax: files/retrieve gave no download_url", provider=self.name)
        return TaskStatus("completed", 100, url, raw_status=status.raw_status)

    async def cancel(self, task_id: str) -> bool:
        return False  # MiniMax has no cancel API

    async def aclose(self) -> None:
        return None
