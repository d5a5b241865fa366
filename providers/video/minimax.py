"""MiniMax Hailuo video (PROVIDERS.md section 7b): three calls to get a video URL.

``POST /v1/video_generation`` → ``GET /v1/query/video_generation?task_id=`` → on ``Success``,
``GET /v1/files/retrieve?file_id=`` for ``file.download_url``. Errors usually arrive under HTTP 200 with
``base_resp.status_code != 0``; every answer is checked for that (the translation, shared with the speech adapter,
is ``providers._minimax``).

Camera moves are MiniMax's bracket commands at the head of the prompt (``[Push in] ...``); shot size, lighting
and things to avoid are prompt text. Hailuo models take ``duration`` 6 or 10 and ``resolution`` with a capital P
(1080P only at 6 s, 10 s only at 768P); the older I2V-01 models get neither and use their defaults. There is no
aspect ratio (the picture decides), no seed, no progress and no cancel API.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from providers._minimax import base_resp, body_error, http_error
from providers._shot import compose_prompt, shot_directions
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderError
from providers.http import BearerKeyAdapter, json_or_error

log = logging.getLogger(__name__)

NAME = "minimax"
PROMPT_LIMIT = 2000

BRACKETS: dict[str, str] = {
    "static": "[Static shot]",
    "push_in": "[Push in]",
    "pull_out": "[Pull out]",
    "pan_left": "[Pan left]",
    "pan_right": "[Pan right]",
    "tilt_up": "[Tilt up]",
    "tilt_down": "[Tilt down]",
    "orbit_left": "[Truck left,Pan right]",  # combined moves share one bracket
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


# --- pure mapping -------------------------------------------------------------------------------------------------


def _build_request(job: VideoJob, config: ProviderConfig, callback_url: str | None = None) -> dict[str, Any]:
    """The ``POST /v1/video_generation`` body."""
    model = job.model or config.model or MinimaxProvider.default_model
    bracket = BRACKETS.get(job.camera_movement or "")
    directions = shot_directions(job, include_camera=bracket is None)
    if job.negative_prompt and job.negative_prompt.strip():
        directions = f"{directions} Avoid: {job.negative_prompt.strip()}.".strip()
    prompt = compose_prompt(job.prompt, directions, PROMPT_LIMIT - (len(bracket) + 1 if bracket else 0))
    if bracket:
        prompt = f"{bracket} {prompt}".strip()
    body: dict[str, Any] = {"model": model}
    if prompt:
        body["prompt"] = prompt
    body["first_frame_image"] = job.image.public_url or job.image.data_uri()
    if "hailuo" in model.lower():
        duration = 10 if job.duration_s >= 8 else 6
        body["duration"] = duration
        body["resolution"] = "768P" if duration == 10 else "1080P"
    body["prompt_optimizer"] = True
    if callback_url:  # the provider POSTs the task there when it changes (PROVIDERS.md 16)
        body["callback_url"] = callback_url
    return body


def _body_error(data: dict[str, Any], response: httpx.Response, secret: str) -> ProviderError | None:
    """The error a 2xx body carries in ``base_resp``, if any. A ``Fail`` task's query is not a failed call: its
    ``base_resp`` is the task's reason, which ``_parse_status`` reports."""
    if data.get("status") == "Fail":
        return None
    return body_error(data, response, secret)


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    """A query body → our status (without the URL, which needs the files call). Unknown values: generating."""
    raw = data.get("status")
    if not isinstance(raw, str) or not raw:
        raise ProviderBadResponse("minimax: query answer has no status", provider=NAME)
    state = STATES.get(raw)
    if state is None:
        log.debug("minimax: unknown task status %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "failed":
        code, message = base_resp(data)
        reason = f"{message} (code {code})" if code and message else "MiniMax reported the task failed"
        return TaskStatus(status=state, error=reason, raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _file_id(data: dict[str, Any]) -> str:
    """The ``file_id`` of a ``Success`` query (it may be a JSON number)."""
    file_id = data.get("file_id")
    if isinstance(file_id, bool) or not isinstance(file_id, str | int) or file_id in ("", 0):
        raise ProviderBadResponse("minimax: task succeeded without a file_id", provider=NAME)
    return str(file_id)


def _parse_file(data: dict[str, Any]) -> str:
    """``file.download_url`` of a ``files/retrieve`` body."""
    file = data.get("file")
    url = file.get("download_url") if isinstance(file, dict) else None
    if not isinstance(url, str) or not url:
        raise ProviderBadResponse("minimax: files/retrieve gave no download_url", provider=NAME)
    return url


# --- the adapter --------------------------------------------------------------------------------------------------


class MinimaxProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.minimax.io"
    default_model = "MiniMax-Hailuo-02"
    missing_key = "minimax: no API key configured (MINIMAX_API_KEY)"

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return http_error(response, key)

    async def _call(
        self, method: str, path: str, *, json: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """One request, with HTTP errors and HTTP-200 ``base_resp`` errors both raised."""
        response = await self._send(method, path, json=json, params=params)
        data = json_or_error(response, provider=NAME)
        error = _body_error(data, response, self._key())
        if error is not None:
            raise error
        return data

    async def submit(self, job: VideoJob) -> ProviderTask:
        self._key()  # refuse before building a data URI we cannot send
        data = await self._call(
            "POST", "/v1/video_generation", json=_build_request(job, self._config, self._config.callback_url)
        )
        task_id = data.get("task_id")
        if isinstance(task_id, bool) or not isinstance(task_id, str | int) or task_id in ("", 0):
            raise ProviderBadResponse("minimax: create response has no task_id", provider=NAME)
        return ProviderTask(task_id=str(task_id), status="queued")

    async def status(self, task_id: str) -> TaskStatus:
        """Query the task; on ``Success`` also ask files/retrieve for the download URL."""
        data = await self._call("GET", "/v1/query/video_generation", params={"task_id": task_id})
        status = _parse_status(data)
        if status.status != "completed":
            return status
        found = await self._call("GET", "/v1/files/retrieve", params={"file_id": _file_id(data)})
        return TaskStatus(status="completed", video_url=_parse_file(found), raw_status=status.raw_status)

    async def cancel(self, task_id: str) -> bool:
        """MiniMax has no cancel API: nothing is sent."""
        return False

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
