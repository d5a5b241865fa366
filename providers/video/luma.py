"""Luma Dream Machine (legacy API, PROVIDERS.md 7a). Keyframes are URLs only: without ``PUBLIC_BASE_URL`` the
picture cannot be sent, which is refused before anything goes out. No progress; ``DELETE`` removes a generation,
which is what cancelling means here."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderError, ProviderInvalidRequest, ProviderNotConfigured
from providers.http import classify_http_error, json_or_error, send
from providers.video._shot import compose_prompt, shot_directions

PROMPT_LIMIT = 2000
RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
STATES: dict[str, VideoState] = {
    "queued": "queued",
    "dreaming": "generating",
    "completed": "completed",
    "failed": "failed",
}


def _build_request(job: VideoJob, model: str) -> dict[str, Any]:
    if not job.image.public_url:
        raise ProviderInvalidRequest(
            "luma: the picture must be reachable by URL: set PUBLIC_BASE_URL (Luma takes no inline images)",
            provider="luma",
        )
    directions = shot_directions(job)
    if job.negative_prompt:
        directions = f"{directions} Avoid: {job.negative_prompt}.".strip()
    return {
        "model": model,
        "prompt": compose_prompt(job.prompt, directions, PROMPT_LIMIT),
        "aspect_ratio": job.aspect_ratio if job.aspect_ratio in RATIOS else "16:9",
        "keyframes": {"frame0": {"type": "image", "url": job.image.public_url}},
        "duration": "9s" if job.duration_s >= 7 else "5s",
        "resolution": "720p",
        "loop": False,
    }


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    raw = str(data.get("state") or "")
    state = STATES.get(raw, "generating")
    video = (data.get("assets") or {}).get("video") if state == "completed" else None
    if state == "completed" and not video:
        raise ProviderBadResponse("luma: completed without assets.video", provider="luma")
    reason = (data.get("failure_reason") or "the generation failed") if state == "failed" else None
    return TaskStatus(state, 100 if state == "completed" else None, video, reason, raw)


def _error(response: httpx.Response) -> ProviderError:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return classify_http_error(response, f"luma: {detail or 'HTTP ' + str(response.status_code)}", provider="luma")


class LumaProvider:
    name = "luma"
    default_base_url = "https://api.lumalabs.ai/dream-machine/v1"
    default_model = "ray-2"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.model = config.model or self.default_model

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self.config.api_key:
            raise ProviderNotConfigured("luma: LUMA_API_KEY is not set", provider=self.name)
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        return await send(
            self.http, method, f"{self.base_url}{path}", provider=self.name, error=_error, headers=headers, **kwargs
        )

    async def submit(self, job: VideoJob) -> ProviderTask:
        body = _build_request(job, self.model)
        data = json_or_error(await self._send("POST", "/generations/video", json=body), provider=self.name)
        if not data.get("id"):
            raise ProviderBadResponse("luma: no generation id in the answer", provider=self.name)
        return ProviderTask(str(data["id"]), STATES.get(str(data.get("state")), "queued"))

    async def status(self, task_id: str) -> TaskStatus:
        return _parse_status(json_or_error(await self._send("GET", f"/generations/{task_id}"), provider=self.name))

    async def cancel(self, task_id: str) -> bool:
        await self._send("DELETE", f"/generations/{task_id}")
        return True

    async def aclose(self) -> None:
        return None
