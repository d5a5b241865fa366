"""Runway adapter: Gen-4 Turbo ``image_to_video`` (PROVIDERS.md section 1).

``POST /v1/image_to_video`` → ``GET /v1/tasks/{id}``; ``DELETE /v1/tasks/{id}`` cancels (or deletes a finished
task). Every request carries ``Authorization: Bearer <key>`` and ``X-Runway-Version``; bodies are camelCase.
Runway has no camera or negative-prompt fields, so the shot form goes into ``promptText``. The version, task states
and error translation shared with the image adapter are ``providers._runway``.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

import httpx

from providers._runway import API_VERSION, STATES, http_error
from providers._shot import compose_prompt, shot_directions, utf16_len
from providers.base import ProviderConfig, ProviderTask, TaskStatus, VideoJob
from providers.errors import ProviderBadResponse, ProviderError
from providers.http import BearerKeyAdapter, json_or_error

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1000  # promptText, in UTF-16 code units

# gen4_turbo's exact ratio strings, with the width/height each stands for.
RATIOS: dict[str, float] = {
    "1280:720": 1280 / 720,
    "720:1280": 720 / 1280,
    "1104:832": 1104 / 832,
    "832:1104": 832 / 1104,
    "960:960": 1.0,
    "1584:672": 1584 / 672,
}
DEFAULT_RATIO = "1280:720"

# Durations (seconds) each model accepts; other models get gen4_turbo's.
DURATIONS: dict[str, tuple[int, ...]] = {
    "gen4_turbo": (5, 10),
    "gen4.5": tuple(range(2, 11)),
}


# --- pure mapping -------------------------------------------------------------------------------------------------


_utf16_len = utf16_len


def _compose_prompt(prompt: str, directions: str, limit: int = PROMPT_LIMIT) -> str:
    return compose_prompt(prompt, directions, limit, utf16=True)


def _ratio(aspect_ratio: str) -> str:
    """The gen4_turbo ratio string closest to ``16:9``-style input (Runway's own strings pass through)."""
    if aspect_ratio in RATIOS:
        return aspect_ratio
    width, sep, height = aspect_ratio.partition(":")
    try:
        target = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return DEFAULT_RATIO
    if not sep or target <= 0 or not math.isfinite(target):
        return DEFAULT_RATIO
    return min(RATIOS, key=lambda name: abs(math.log(RATIOS[name] / target)))


def _duration(model: str, seconds: float) -> int:
    """The nearest duration the model accepts (ties go to the shorter, cheaper one)."""
    allowed = DURATIONS.get(model, DURATIONS["gen4_turbo"])
    return min(allowed, key=lambda d: (abs(d - seconds), d))


def _prompt_image(job: VideoJob) -> str:
    """A public HTTPS URL when we have one (Runway fetches only HTTPS), else a data URI."""
    url = job.image.public_url
    if url and url.startswith("https://"):
        return url
    return job.image.data_uri()


def _build_request(job: VideoJob, config: ProviderConfig) -> dict[str, Any]:
    """The ``POST /v1/image_to_video`` body. ``negative_prompt`` is dropped: Runway has no such field and its
    prompting guide warns that negative phrasing in the prompt tends to produce the opposite."""
    model = job.model or config.model or RunwayProvider.default_model
    body: dict[str, Any] = {
        "model": model,
        "promptImage": _prompt_image(job),
        "ratio": _ratio(job.aspect_ratio),
        "duration": _duration(model, job.duration_s),
    }
    prompt = _compose_prompt(job.prompt, shot_directions(job))
    if prompt:
        body["promptText"] = prompt
    if job.seed is not None:
        body["seed"] = job.seed
    return body


def _parse_status(data: dict[str, Any]) -> TaskStatus:
    """A ``GET /v1/tasks/{id}`` body → our status. Unknown values count as still generating."""
    raw = data.get("status")
    if not isinstance(raw, str):
        raise ProviderBadResponse("runway: task has no status", provider="runway")
    state = STATES.get(raw.upper())
    if state is None:
        log.debug("runway: unknown task status %r, treating it as generating", raw)
        return TaskStatus(status="generating", raw_status=raw)
    if state == "generating":
        progress = data.get("progress")
        if isinstance(progress, int | float) and math.isfinite(progress):
            return TaskStatus(status=state, progress=max(0, min(100, round(progress * 100))), raw_status=raw)
        return TaskStatus(status=state, raw_status=raw)
    if state == "completed":
        output = data.get("output")
        if isinstance(output, list) and output and isinstance(output[0], str):
            return TaskStatus(status=state, video_url=output[0], raw_status=raw)
        return TaskStatus(status="failed", error="Runway reported success but returned no video", raw_status=raw)
    if state == "failed":
        reason = data.get("failure") if isinstance(data.get("failure"), str) else None
        code = data.get("failureCode") if isinstance(data.get("failureCode"), str) else None
        error = reason or "Runway reported the task failed"
        if code:
            error = f"{error} ({code})"
        return TaskStatus(status=state, error=error, raw_status=raw)
    return TaskStatus(status=state, raw_status=raw)


# --- the adapter --------------------------------------------------------------------------------------------------


class RunwayProvider(BearerKeyAdapter):
    name = "runway"
    default_base_url = "https://api.dev.runwayml.com"
    default_model = "gen4_turbo"
    missing_key = "runway: no API key configured (RUNWAY_API_KEY)"
    headers = {"X-Runway-Version": API_VERSION}

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return http_error(response, key)

    async def submit(self, job: VideoJob) -> ProviderTask:
        response = await self._send("POST", "/v1/image_to_video", json=_build_request(job, self._config))
        task_id = json_or_error(response, provider=self.name).get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderBadResponse("runway: create response has no task id", provider=self.name)
        return ProviderTask(task_id=task_id, status="queued")

    async def status(self, task_id: str) -> TaskStatus:
        response = await self._send("GET", f"/v1/tasks/{quote(task_id, safe='')}")
        return _parse_status(json_or_error(response, provider=self.name))

    async def cancel(self, task_id: str) -> bool:
        """Cancel a pending/running task. Careful: on a finished task Runway's DELETE deletes it."""
        await self._send("DELETE", f"/v1/tasks/{quote(task_id, safe='')}")
        return True

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
