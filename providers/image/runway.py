"""Runway text to image: ``POST /v1/text_to_image`` → poll ``GET /v1/tasks/{id}`` → download ``output[0]``
(PROVIDERS.md 1 and 17). Same host, headers (``Authorization: Bearer`` + ``X-Runway-Version``), task states and
error envelope as the video adapter, sharing its version, states and error translation (``providers._runway``).

``generate()`` polls within ``max_wait`` seconds; past it, or when the caller cancels, the task is cancelled at
Runway (``DELETE``) so it stops costing credits. ``gen4_image_turbo`` needs reference images, which a keyframe
request has none of, so the default is ``gen4_image``. Runway has no negative-prompt field, and its guide warns
that negative phrasing tends to produce the opposite, so the negative prompt is dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import httpx

from providers._runway import API_VERSION, STATES, http_error
from providers.base import ProviderConfig
from providers.errors import ProviderBadResponse, ProviderError, ProviderTaskFailed
from providers.http import BearerKeyAdapter, json_or_error, with_retries
from providers.image._download import MAX_PICTURE_BYTES, Fetch, bounded_fetch
from providers.image._picture import picture_result
from providers.image._poll import DEFAULT_INTERVAL, DEFAULT_MAX_WAIT, Clock, Sleep, poll
from providers.image._prompt import image_prompt
from providers.image._size import nearest
from providers.image.base import ImageRequest, ImageResult

NAME = "runway"
PROMPT_LIMIT = 1000  # promptText, in UTF-16 code units
SEED_MODULUS = 2**32
# gen4_image's (and gen4_image_turbo's) exact ratio strings [SDK text_to_image_create_params].
RATIOS = (
    (1024, 1024),
    (1080, 1080),
    (1168, 880),
    (1360, 768),
    (1440, 1080),
    (1080, 1440),
    (1808, 768),
    (1920, 1080),
    (1080, 1920),
    (2112, 912),
    (1280, 720),
    (720, 1280),
    (720, 720),
    (960, 720),
    (720, 960),
    (1680, 720),
)


# --- pure mapping -------------------------------------------------------------------------------------------------


def _ratio(width: int, height: int) -> str:
    """The gen4_image ratio nearest in aspect, then in pixel count (1280x720 stays 1280:720, not 1920:1080)."""
    w, h = nearest(width, height, RATIOS)
    return f"{w}:{h}"


def _build_request(request: ImageRequest, config: ProviderConfig) -> dict[str, Any]:
    """The camelCase ``POST /v1/text_to_image`` body."""
    body: dict[str, Any] = {
        "model": request.model or config.model or RunwayImageProvider.default_model,
        "promptText": image_prompt(request, PROMPT_LIMIT, provider=NAME, utf16=True),
        "ratio": _ratio(request.width, request.height),
    }
    if request.seed is not None:
        body["seed"] = request.seed % SEED_MODULUS
    return body


def _parse_task(data: dict[str, Any]) -> str | None:
    """A ``GET /v1/tasks/{id}`` body → the picture URL when done, None while pending; failure and cancellation
    are ``ProviderTaskFailed`` with Runway's reason and code (``SAFETY.*`` when moderation stopped it)."""
    raw = data.get("status")
    if not isinstance(raw, str):
        raise ProviderBadResponse("runway: task has no status", provider=NAME)
    state = STATES.get(raw.upper())
    if state == "completed":
        output = data.get("output")
        if isinstance(output, list) and output and isinstance(output[0], str) and output[0]:
            return output[0]
        raise ProviderBadResponse("runway: the task succeeded without an output URL", provider=NAME)
    if state == "failed":
        failure, code = data.get("failure"), data.get("failureCode")
        reason = failure.strip() if isinstance(failure, str) and failure.strip() else "Runway reported the task failed"
        code = code if isinstance(code, str) else ""
        raise ProviderTaskFailed(f"runway: {reason[:500]}{f' ({code})' if code else ''}", provider=NAME)
    if state == "cancelled":
        raise ProviderTaskFailed("runway: the task was cancelled", provider=NAME)
    return None  # PENDING, THROTTLED, RUNNING, and unknown states: still going


# --- the adapter --------------------------------------------------------------------------------------------------


class RunwayImageProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.dev.runwayml.com"
    default_model = "gen4_image"
    missing_key = "runway: no API key configured (RUNWAY_API_KEY)"
    headers = {"X-Runway-Version": API_VERSION}

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        fetch: Fetch | None = None,
        max_bytes: int = MAX_PICTURE_BYTES,
        max_wait: float = DEFAULT_MAX_WAIT,
        poll_interval: float = DEFAULT_INTERVAL,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(config, http)
        self._max_bytes = max_bytes
        self._fetch = fetch or bounded_fetch(http, provider=NAME, max_bytes=max_bytes)
        self._max_wait, self._interval = max_wait, poll_interval
        self._sleep, self._clock = sleep, clock

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return http_error(response, key)

    async def generate(self, request: ImageRequest) -> ImageResult:
        body = _build_request(request, self._config)
        response = await self._send("POST", "/v1/text_to_image", json=body)
        task_id = json_or_error(response, provider=NAME).get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderBadResponse("runway: create response has no task id", provider=NAME)
        path = f"/v1/tasks/{quote(task_id, safe='')}"

        async def check() -> str | None:  # a status GET is idempotent: transient failures are retried
            answer = await with_retries(lambda: self._send("GET", path), sleep=self._sleep)
            return _parse_task(json_or_error(answer, provider=NAME))

        url = await poll(
            check,
            provider=NAME,
            max_wait=self._max_wait,
            interval=self._interval,
            sleep=self._sleep,
            clock=self._clock,
            cancel=lambda: self._send("DELETE", path),
        )
        data = await with_retries(lambda: self._fetch(url), sleep=self._sleep)
        return picture_result(data, provider=NAME, seed=body.get("seed"), max_bytes=self._max_bytes)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
