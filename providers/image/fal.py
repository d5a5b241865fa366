"""FLUX text to image through fal's queue (PROVIDERS.md 3 and 17): submit ``POST {queue}/fal-ai/flux/dev``, poll
the returned ``status_url``, read ``response_url``, download ``images[0].url``. Auth is ``Authorization: Key``.

The queue mechanics are shared with the Pika adapter in ``providers._fal_queue`` (``QueueRequest`` keeps the key
on the configured host; the same error reasons and transient result failures). fal has no FAILED status: a failed
run is COMPLETED with ``error``, or a non-2xx result. ``generate()`` polls within ``max_wait`` seconds and cancels
the request when it gives up. FLUX takes no negative prompt and tends to draw what a prompt says to avoid, so it is
dropped. A picture the safety checker flagged (``has_nsfw_concepts``, which fal answers with a black image) is a
failed task.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from providers._fal_queue import QueueRequest, error_reason, http_error, parse_submit, result_is_transient
from providers.base import ProviderConfig
from providers.errors import ProviderBadResponse, ProviderNotConfigured, ProviderTaskFailed
from providers.http import json_or_error, transport_error, with_retries
from providers.image._download import MAX_PICTURE_BYTES, Fetch, bounded_fetch, decode_base64
from providers.image._picture import picture_result
from providers.image._poll import DEFAULT_INTERVAL, DEFAULT_MAX_WAIT, Clock, Sleep, poll
from providers.image._prompt import image_prompt
from providers.image._size import free_size
from providers.image.base import ImageRequest, ImageResult

NAME = "fal"
PROMPT_LIMIT = 2000  # characters; about FLUX's 512 T5 tokens of English
OUTPUT_FORMAT = "jpeg"  # fal's default for FLUX: a tenth of the PNG's size for a photographic picture
MAX_SIDE = 2048
MAX_PIXELS = 2048 * 2048  # FLUX is at its best up to about 2 MP; 4 MP is a generous ceiling
MIN_PIXELS = 256 * 256
PENDING = frozenset({"IN_QUEUE", "IN_PROGRESS"})


# --- pure mapping -------------------------------------------------------------------------------------------------


def _image_size(width: int, height: int) -> dict[str, int]:
    """fal's custom ``{width, height}``: the request's own aspect, multiples of 16, within FLUX's range."""
    w, h = free_size(width, height, max_side=MAX_SIDE, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, max_aspect=4.0)
    return {"width": w, "height": h}


def _build_request(request: ImageRequest) -> dict[str, Any]:
    """The model input, sent as the submit body."""
    body: dict[str, Any] = {
        "prompt": image_prompt(request, PROMPT_LIMIT, provider=NAME),
        "image_size": _image_size(request.width, request.height),
        "num_images": 1,
        "output_format": OUTPUT_FORMAT,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    return body


def _parse_status(data: dict[str, Any]) -> bool:
    """A queue status body → True when COMPLETED (the result is to be fetched), False while pending or unknown;
    COMPLETED with ``error`` is ``ProviderTaskFailed``."""
    raw = data.get("status")
    if not isinstance(raw, str):
        raise ProviderBadResponse("fal: queue status has no status", provider=NAME)
    if raw.upper() != "COMPLETED":
        return False
    error = data.get("error")
    if error:
        reason = error if isinstance(error, str) else json.dumps(error)[:500]
        kind = data.get("error_type")
        raise ProviderTaskFailed(f"fal: {reason[:500]}{f' ({kind})' if isinstance(kind, str) else ''}", provider=NAME)
    return True


def _parse_result(data: dict[str, Any]) -> tuple[str, int | None]:
    """``(url, seed)`` from ``{"images": [{"url", ...}], "seed", "has_nsfw_concepts"}``."""
    flagged = data.get("has_nsfw_concepts")
    if isinstance(flagged, list) and flagged and flagged[0] is True:
        raise ProviderTaskFailed("fal: the safety checker flagged the picture", provider=NAME)
    images = data.get("images")
    first = images[0] if isinstance(images, list) and images else None
    url = first.get("url") if isinstance(first, dict) else None
    if not isinstance(url, str) or not url:
        raise ProviderBadResponse("fal: the result holds no picture", provider=NAME)
    seed = data.get("seed")
    return url, seed if isinstance(seed, int) and not isinstance(seed, bool) else None


# --- the adapter --------------------------------------------------------------------------------------------------


class FalImageProvider:
    name = NAME
    default_base_url = "https://queue.fal.run"
    default_model = "fal-ai/flux/dev"

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
        self._config = config
        self._http = http
        self._base = (config.base_url or self.default_base_url).rstrip("/")
        self._max_bytes = max_bytes
        self._fetch = fetch or bounded_fetch(http, provider=NAME, max_bytes=max_bytes)
        self._max_wait, self._interval = max_wait, poll_interval
        self._sleep, self._clock = sleep, clock

    def _key(self) -> str:
        if not self._config.api_key:
            raise ProviderNotConfigured("fal: no API key configured (FAL_KEY)", provider=NAME)
        return self._config.api_key

    async def _send(self, method: str, url: str, *, json: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Key {self._key()}"}
        try:
            return await self._http.request(method, url, headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=NAME) from exc

    async def _get_ok(self, url: str, key: str) -> httpx.Response:
        response = await self._send("GET", url)
        if not response.is_success:  # pending statuses come as 202: any 2xx is fine
            raise http_error(response, key, provider=NAME)
        return response

    async def _result(self, queued: QueueRequest, key: str) -> tuple[str, int | None]:
        response = await self._send("GET", queued.url("response", self._base))
        if response.is_success:
            return _parse_result(json_or_error(response, provider=NAME))
        if response.status_code in (401, 403) or result_is_transient(response):
            raise http_error(response, key, provider=NAME)
        raise ProviderTaskFailed(f"fal: {error_reason(response)}".replace(key, "***"), provider=NAME)

    async def generate(self, request: ImageRequest) -> ImageResult:
        key = self._key()
        endpoint_id = (request.model or self._config.model or self.default_model).strip("/")
        body = _build_request(request)
        response = await self._send("POST", f"{self._base}/{endpoint_id}", json=body)
        if not response.is_success:
            raise http_error(response, key, provider=NAME)
        queued = parse_submit(json_or_error(response, provider=NAME), endpoint_id, provider=NAME)

        async def check() -> tuple[str, int | None] | None:  # status and result GETs are idempotent: retried
            answer = await with_retries(lambda: self._get_ok(queued.url("status", self._base), key), sleep=self._sleep)
            if not _parse_status(json_or_error(answer, provider=NAME)):
                return None
            return await with_retries(lambda: self._result(queued, key), sleep=self._sleep)

        url, seed = await poll(
            check,
            provider=NAME,
            max_wait=self._max_wait,
            interval=self._interval,
            sleep=self._sleep,
            clock=self._clock,
            cancel=lambda: self._send("PUT", queued.url("cancel", self._base)),
        )
        if url.startswith("data:"):  # fal's sync mode answers the picture inline
            data = decode_base64(url, provider=NAME, max_bytes=self._max_bytes)
        else:
            data = await with_retries(lambda: self._fetch(url), sleep=self._sleep)
        seed = seed if seed is not None else body.get("seed")
        return picture_result(data, provider=NAME, seed=seed, max_bytes=self._max_bytes)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
