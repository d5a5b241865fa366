"""ByteDance Seedance through Volcengine Ark's content-generation tasks (PROVIDERS.md 4).

The shot form goes into the prompt text and the documented ``--ratio``/``--duration``/``--seed``/``--camerafixed``
text commands (they work on every Seedance model; newer ones also take top-level fields, older ones ignore
those). The picture is the first frame, as a public URL or a data URI. No progress number; only queued tasks
can be cancelled (``DELETE`` on a running one is refused by Ark)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderError, ProviderNotConfigured, ProviderQuotaExceeded
from providers.http import classify_http_error, json_or_error, send
from providers.video._shot import compose_prompt, shot_directions

PROMPT_LIMIT = 2000
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
STATES: dict[str, VideoState] = {
    "queued": "queued",
    "running": "generating",
    "succeeded": "completed",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "cancelled",
}
QUOTA_CODES = ("AccountOverdueError", "Arrearage", "QuotaExceeded")


def _build_request(job: VideoJob, model: str) -> dict[str, Any]:
    duration = min(12, max(2, round(job.duration_s)))
    commands = [f"--ratio {job.aspect_ratio if job.aspect_ratio in RATIOS else 'adaptive'}", f"--duration {duration}"]
    if job.seed is not None:
        commands.append(f"--seed {min(job.seed, 2**32 - 1)}")
    if job.camera_movement == "static":
        commands.append("--camerafixed true")
    directions = shot_directions(job, include_camera=job.camera_movement != "static")
    if job.negative_prompt:
        directions = f"{directions} Avoid: {job.negative_prompt}.".strip()
    flags = " ".join(commands)
    text = compose_prompt(job.prompt, directions, PROMPT_LIMIT - len(flags) - 1) + " " + flags
    image = job.image.public_url or job.image.data_uri()
    return {
        "model": model,
        "content": [
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": image}, "role": "first_frame"},
        ],
    }


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    raw = str(data.get("status") or "")
    state = STATES.get(raw, "generating")
    error = data.get("error")
    reason = None
    if state == "failed":
        reason = (error or {}).get("message") if isinstance(error, dict) else None
        reason = reason or ("the task expired before it ran" if raw == "expired" else "the task failed")
    video = (data.get("content") or {}).get("video_url") if state == "completed" else None
    if state == "completed" and not video:
        raise ProviderBadResponse("seedance: succeeded without content.video_url", provider="seedance")
    return TaskStatus(state, 100 if state == "completed" else None, video, reason, raw_status=raw)


def _error(response: httpx.Response) -> ProviderError:
    try:
        err = response.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    code = str(err.get("code") or "")
    message = f"seedance: {err.get('message') or 'HTTP ' + str(response.status_code)}"
    if any(code.startswith(q) for q in QUOTA_CODES):
        return ProviderQuotaExceeded(message, provider="seedance", status_code=response.status_code)
    return classify_http_error(response, message, provider="seedance")


class SeedanceProvider:
    name = "seedance"
    default_base_url = "https://ark.cn-beijing.volces.com/api/v3"
    default_model = "doubao-seedance-1-0-pro-250528"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.model = config.model or self.default_model

    def _headers(self) -> dict[str, str]:
        if not self.config.api_key:
            raise ProviderNotConfigured("seedance: SEEDANCE_API_KEY is not set", provider=self.name)
        return {"Authorization": f"Bearer {self.config.api_key}"}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await send(
            self.http,
            method,
            f"{self.base_url}{path}",
            provider=self.name,
            error=_error,
            headers=self._headers(),
            **kwargs,
        )

    async def submit(self, job: VideoJob) -> ProviderTask:
        response = await self._send("POST", "/contents/generations/tasks", json=_build_request(job, self.model))
        task_id = json_or_error(response, provider=self.name).get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderBadResponse("seedance: no task id in the answer", provider=self.name)
        return ProviderTask(task_id, "queued")

    async def status(self, task_id: str) -> TaskStatus:
        response = await self._send("GET", f"/contents/generations/tasks/{task_id}")
        return _parse_status(json_or_error(response, provider=self.name))

    async def cancel(self, task_id: str) -> bool:
        await self._send("DELETE", f"/contents/generations/tasks/{task_id}")
        return True

    async def aclose(self) -> None:
        return None
