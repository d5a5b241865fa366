"""Luma Dream Machine, the legacy API (PROVIDERS.md section 7a).

``POST /generations/video`` → ``GET /generations/{id}``. Keyframes are URLs only (there is no inline-image field),
so without ``PUBLIC_BASE_URL`` the picture cannot be sent and the job is refused before anything goes out.
``aspect_ratio``, ``duration`` (``"5s"``/``"9s"``), ``resolution`` and ``loop`` are body fields; camera move, shot
size, lighting and things to avoid are prompt text; there is no seed. No progress number. ``DELETE
/generations/{id}`` only *removes* a generation (no cancel semantics are documented), so ``cancel`` sends nothing.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

import httpx

from providers._shot import compose_prompt, shot_directions
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob, VideoState
from providers.errors import ProviderBadResponse, ProviderError, ProviderInvalidRequest
from providers.http import BearerKeyAdapter, classify_http_error, json_or_error

log = logging.getLogger(__name__)

NAME = "luma"
PROMPT_LIMIT = 2000
RATIOS: dict[str, float] = {
    "1:1": 1.0,
    "16:9": 16 / 9,
    "9:16": 9 / 16,
    "4:3": 4 / 3,
    "3:4": 3 / 4,
    "21:9": 21 / 9,
    "9:21": 9 / 21,
}
DEFAULT_RATIO = "16:9"
RESOLUTION = "720p"

STATES: dict[str, VideoState] = {
    "queued": "queued",
    "dreaming": "generating",
    "completed": "completed",
    "failed": "failed",
}


# --- pure mapping -------------------------------------------------------------------------------------------------


def _aspect_ratio(value: str) -> str:
    """Luma's own ratio strings pass through; others get the nearest one, junk the default."""
    if value in RATIOS:
        return value
    width, sep, height = value.partition(":")
    try:
        target = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return DEFAULT_RATIO
    if not sep or target <= 0 or not math.isfinite(target):
        return DEFAULT_RATIO
    return min(RATIOS, key=lambda name: abs(math.log(RATIOS[name] / target)))


def _build_request(job: VideoJob, config: ProviderConfig, callback_url: str | None = None) -> dict[str, Any]:
    """The ``POST /generations/video`` body; refuses a picture that has no public URL."""
    if not job.image.public_url:
        raise ProviderInvalidRequest(
            "luma: Luma only fetches pictures by URL and this one has none; set PUBLIC_BASE_URL to an address of "
            "this server that Luma can reach",
            provider=NAME,
        )
    model = job.model or config.model or LumaProvider.default_model
    directions = shot_directions(job)
    if job.negative_prompt and job.negative_prompt.strip():
        directions = f"{directions} Avoid: {job.negative_prompt.strip()}.".strip()
    body: dict[str, Any] = {"model": model}
    prompt = compose_prompt(job.prompt, directions, PROMPT_LIMIT)
    if prompt:
        body["prompt"] = prompt
    body["aspect_ratio"] = _aspect_ratio(job.aspect_ratio)
    body["keyframes"] = {"frame0": {"type": "image", "url": job.image.public_url}}
    if not model.startswith("ray-1"):  # duration and resolution came with Ray 2
        body["duration"] = "9s" if job.duration_s >= 7 else "5s"
        body["resolution"] = RESOLUTION
    body["loop"] = False
    if callback_url:  # the provider POSTs the task there when it changes (PROVIDERS.md 16)
        body["callback_url"] = callback_url
    return body


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    """A generation object → our status. Unknown states count as generating."""
    raw = data.get("state")
    if not isinstance(raw, str) or not raw:
        raise ProviderBadResponse("luma: generation has no state", provider=NAME)
    state = STATES.get(raw)
    if state is None:
        log.debug("luma: unknown generation state %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "completed":
        assets = data.get("assets")
        video = assets.get("video") if isinstance(assets, dict) else None
        if not isinstance(video, str) or not video:
            raise ProviderBadResponse("luma: generation completed without assets.video", provider=NAME)
        return TaskStatus(status=state, video_url=video, raw_status=raw)
    if state == "failed":
        reason = data.get("failure_reason")
        if not isinstance(reason, str) or not reason.strip():
            reason = "Luma reported the generation failed"
        return TaskStatus(status=state, error=reason.strip(), raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


def _error_reason(response: httpx.Response) -> str:
    """Luma's ``{"detail": ...}`` (a string, or a list of validation items), else the HTTP reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail: Any = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = [item.get("msg") if isinstance(item, dict) else item for item in detail]
        detail = "; ".join(part for part in parts if isinstance(part, str))
    if isinstance(detail, str) and detail.strip():
        return detail.strip()[:500]
    return response.reason_phrase or "error"


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    message = f"luma: {_error_reason(response)} (HTTP {response.status_code})".replace(secret, "***")
    return classify_http_error(response, message, provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class LumaProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.lumalabs.ai/dream-machine/v1"
    default_model = "ray-2"
    missing_key = "luma: no API key configured (LUMA_API_KEY)"

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return _http_error(response, key)

    async def submit(self, job: VideoJob) -> ProviderTask:
        self._key()  # a missing key is the first thing to fix, before the picture's URL
        data = json_or_error(
            await self._send(
                "POST", "/generations/video", json=_build_request(job, self._config, self._config.callback_url)
            ),
            provider=NAME,
        )
        generation_id = data.get("id")
        if not isinstance(generation_id, str) or not generation_id:
            raise ProviderBadResponse("luma: create response has no generation id", provider=NAME)
        return ProviderTask(task_id=generation_id, status="generating" if data.get("state") == "dreaming" else "queued")

    async def status(self, task_id: str) -> TaskStatus:
        response = await self._send("GET", f"/generations/{quote(task_id, safe='')}")
        return _parse_status(json_or_error(response, provider=NAME))

    async def cancel(self, task_id: str) -> bool:
        """Luma has no cancel API (``DELETE`` only removes the record): nothing is sent."""
        return False

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
