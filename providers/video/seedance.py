"""ByteDance Seedance through Volcengine Ark's content-generation tasks (PROVIDERS.md section 4).

``POST /contents/generations/tasks`` → ``GET /contents/generations/tasks/{id}``; ``DELETE`` on the same path
cancels a *queued* task (Ark refuses a running one, and deletes the record of a finished one).

The picture is the first frame, as a public URL or a data URI. Ratio, duration, seed and a locked camera go in
the documented ``--ratio``/``--duration``/``--seed``/``--camerafixed`` text commands, which every Seedance model
reads; the 1.5-pro and 2.0 models take them as top-level body fields instead. The rest of the shot form (camera
move, shot size, lighting, things to avoid) is prompt text. Ark reports no progress.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from providers._shot import compose_prompt, shot_directions
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderQuotaExceeded,
    ProviderUnavailable,
)
from providers.http import BearerKeyAdapter, classify_http_error, json_or_error

log = logging.getLogger(__name__)

NAME = "seedance"
PROMPT_LIMIT = 2000
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
MIN_DURATION, MAX_DURATION = 2, 12
SEED_MODULUS = 2**32  # Ark takes seeds in [-1, 2^32 - 1]
# Model ids (with or without BytePlus's missing "doubao-" prefix) that take the parameters as body fields.
TOP_LEVEL_MODELS = ("seedance-1-5", "seedance-2")

STATES: dict[str, VideoState] = {
    "queued": "queued",
    "running": "generating",
    "succeeded": "completed",
    "failed": "failed",
    "expired": "failed",  # the task outlived its execution timeout before running
    "cancelled": "cancelled",
}

# Ark error codes (``error.code``, first dotted part) that are not what the HTTP status alone would say.
QUOTA_CODES = frozenset({"AccountOverdueError", "QuotaExceeded"})
# Cancelling a running (or unknown) task is refused with a 4xx; that is "could not cancel", not a failure.
CANCEL_REFUSED = frozenset({400, 404, 409})


# --- pure mapping -------------------------------------------------------------------------------------------------


def _model(job: VideoJob, config: ProviderConfig) -> str:
    return job.model or config.model or SeedanceProvider.default_model


def _uses_top_level(model: str) -> bool:
    return any(marker in model for marker in TOP_LEVEL_MODELS)


def _params(job: VideoJob) -> dict[str, Any]:
    """The shot form's Ark parameters, named as the body fields are (the text commands differ slightly)."""
    params: dict[str, Any] = {
        "ratio": job.aspect_ratio if job.aspect_ratio in RATIOS else "adaptive",
        "duration": min(MAX_DURATION, max(MIN_DURATION, round(job.duration_s))),
    }
    if job.seed is not None:
        params["seed"] = job.seed if -1 <= job.seed < SEED_MODULUS else job.seed % SEED_MODULUS
    if job.camera_movement:
        params["camera_fixed"] = job.camera_movement == "static"
    return params


def _text_commands(params: dict[str, Any]) -> str:
    names = {"ratio": "--ratio", "duration": "--duration", "seed": "--seed", "camera_fixed": "--camerafixed"}
    return " ".join(
        f"{names[key]} {str(value).lower() if isinstance(value, bool) else value}" for key, value in params.items()
    )


def _build_request(job: VideoJob, config: ProviderConfig, callback_url: str | None = None) -> dict[str, Any]:
    """The ``POST /contents/generations/tasks`` body: text (prompt + shot form) and the first frame."""
    model = _model(job, config)
    params = _params(job)
    # A locked camera is the camera_fixed flag; any other move is described in words.
    directions = shot_directions(job, include_camera=job.camera_movement != "static")
    if job.negative_prompt and job.negative_prompt.strip():
        directions = f"{directions} Avoid: {job.negative_prompt.strip()}.".strip()
    body: dict[str, Any] = {"model": model}
    if _uses_top_level(model):
        text = compose_prompt(job.prompt, directions, PROMPT_LIMIT)
        body.update(params)
    else:
        commands = _text_commands(params)
        text = f"{compose_prompt(job.prompt, directions, PROMPT_LIMIT - len(commands) - 1)} {commands}".strip()
    body["content"] = [
        {"type": "text", "text": text},
        {
            "type": "image_url",
            "image_url": {"url": job.image.public_url or job.image.data_uri()},
            "role": "first_frame",
        },
    ]
    if callback_url:  # the provider POSTs the task there when it changes (PROVIDERS.md 16)
        body["callback_url"] = callback_url
    return body


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    """A ``GET /contents/generations/tasks/{id}`` body → our status. Unknown values count as generating."""
    raw = data.get("status")
    if not isinstance(raw, str) or not raw:
        raise ProviderBadResponse("seedance: task has no status", provider=NAME)
    state = STATES.get(raw)
    if state is None:
        log.debug("seedance: unknown task status %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "completed":
        content = data.get("content")
        video = content.get("video_url") if isinstance(content, dict) else None
        if not isinstance(video, str) or not video:
            raise ProviderBadResponse("seedance: task succeeded without content.video_url", provider=NAME)
        return TaskStatus(status=state, video_url=video, raw_status=raw)
    if state == "failed":
        return TaskStatus(status=state, error=_failure_reason(data, raw), raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _failure_reason(data: dict[str, Any], raw: str) -> str:
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message.strip():
        message = "the task expired before it finished" if raw == "expired" else "Seedance reported the task failed"
    return f"{message.strip()} ({code})" if isinstance(code, str) and code else message.strip()


def _ark_error(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` from Ark's ``{"error": {"code", "message", ...}}`` envelope ("" when absent)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else ""), (message.strip() if isinstance(message, str) else "")


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    """Ark's error body → our error tree: overdue/quota codes are quota, content-safety codes invalid requests,
    the rest by HTTP status (429 keeps its Retry-After)."""
    code, message = _ark_error(response)
    reason = message or response.reason_phrase or "error"
    text = f"seedance: {reason[:500]}{f' ({code})' if code else ''} (HTTP {response.status_code})"
    text = text.replace(secret, "***")
    if code.split(".")[0] in QUOTA_CODES:
        return ProviderQuotaExceeded(text, provider=NAME, status_code=response.status_code)
    if "SensitiveContent" in code:
        return ProviderInvalidRequest(text, provider=NAME, status_code=response.status_code)
    return classify_http_error(response, text, provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class SeedanceProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://ark.cn-beijing.volces.com/api/v3"
    default_model = "doubao-seedance-1-0-pro-250528"
    missing_key = "seedance: no Ark API key configured (SEEDANCE_API_KEY)"

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return _http_error(response, key)

    async def submit(self, job: VideoJob) -> ProviderTask:
        self._key()  # refuse before building a data URI we cannot send
        response = await self._send(
            "POST", "/contents/generations/tasks", json=_build_request(job, self._config, self._config.callback_url)
        )
        task_id = json_or_error(response, provider=NAME).get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderBadResponse("seedance: create response has no task id", provider=NAME)
        return ProviderTask(task_id=task_id, status="queued")

    async def status(self, task_id: str) -> TaskStatus:
        response = await self._send("GET", f"/contents/generations/tasks/{quote(task_id, safe='')}")
        return _parse_status(json_or_error(response, provider=NAME))

    async def cancel(self, task_id: str) -> bool:
        """Cancel a queued task. False when Ark refuses (it is already running, or unknown)."""
        try:
            await self._send("DELETE", f"/contents/generations/tasks/{quote(task_id, safe='')}")
        except (ProviderInvalidRequest, ProviderUnavailable) as exc:
            if exc.status_code in CANCEL_REFUSED:
                log.debug("seedance: cancel of %s refused: %s", task_id, exc.message)
                return False
            raise
        return True

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
