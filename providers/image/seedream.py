"""ByteDance Seedream on Volcengine Ark: ``POST {ark}/images/generations`` (PROVIDERS.md 17), one synchronous call.

Facts here are third-party copies of Ark's docs [3P], so the adapter is tolerant: it asks for ``b64_json`` (no
second download, nothing that expires in 24 h) but reads a ``url`` answer too, through ``fetch``. Sizes are sent as
``WxH`` with the request's aspect, scaled into the model's pixel range (Seedream 4.5 and 5.0 refuse fewer than
2560x1440 pixels; 4.0 takes 1280x720 [3P]). Errors use Ark's envelope (section 4); a content-safety code about
the *output* means the generation ran and was filtered, so it is a failed task, not a refused request.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from providers.base import ProviderConfig
from providers.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderQuotaExceeded,
    ProviderTaskFailed,
)
from providers.http import BearerKeyAdapter, classify_http_error, json_or_error
from providers.image._download import MAX_PICTURE_BYTES, Fetch, bounded_fetch, decode_base64
from providers.image._picture import picture_result
from providers.image._prompt import image_prompt
from providers.image._size import free_size
from providers.image.base import ImageRequest, ImageResult

NAME = "seedream"
PROMPT_LIMIT = 2000  # characters; Ark recommends at most ~600 English words
SEED_MODULUS = 2**31  # Ark's image seeds are in [-1, 2^31 - 1]
MAX_PIXELS = 4096 * 4096
MIN_PIXELS = 2560 * 1440  # Seedream 4.5 / 5.0
MIN_PIXELS_BY_MODEL = {"seedream-4-0": 1280 * 720}
MAX_ASPECT = 16.0
QUOTA_CODES = frozenset({"AccountOverdueError", "QuotaExceeded"})

ResponseFormat = Literal["b64_json", "url"]


# --- pure mapping -------------------------------------------------------------------------------------------------


def _size(model: str, width: int, height: int) -> str:
    floor = next((pixels for marker, pixels in MIN_PIXELS_BY_MODEL.items() if marker in model), MIN_PIXELS)
    w, h = free_size(width, height, max_side=16_384, min_pixels=floor, max_pixels=MAX_PIXELS, max_aspect=MAX_ASPECT)
    return f"{w}x{h}"


def _build_request(
    request: ImageRequest, config: ProviderConfig, response_format: ResponseFormat = "b64_json"
) -> dict[str, Any]:
    """The ``POST /images/generations`` body: one picture, no watermark, the shot form in the prompt."""
    model = request.model or config.model or SeedreamImageProvider.default_model
    body: dict[str, Any] = {
        "model": model,
        "prompt": image_prompt(request, PROMPT_LIMIT, provider=NAME, avoid=True),
        "size": _size(model, request.width, request.height),
        "response_format": response_format,
        "watermark": False,
    }
    if request.seed is not None:
        body["seed"] = request.seed if -1 <= request.seed < SEED_MODULUS else request.seed % SEED_MODULUS
    return body


def _parse_answer(data: dict[str, Any]) -> tuple[str, str]:
    """``("b64", text)`` or ``("url", url)`` from ``{"data": [{"b64_json" | "url", "size"}]}``. An item carrying
    ``error`` instead (a picture filtered after generation) is a failed task."""
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items else None
    if isinstance(first, dict):
        if isinstance(first.get("b64_json"), str) and first["b64_json"]:
            return "b64", first["b64_json"]
        if isinstance(first.get("url"), str) and first["url"]:
            return "url", first["url"]
        error = first.get("error")
        if isinstance(error, dict):
            message, code = _text(error.get("message")) or "the picture failed", _text(error.get("code"))
            raise ProviderTaskFailed(f"seedream: {message[:500]}{f' ({code})' if code else ''}", provider=NAME)
    raise ProviderBadResponse("seedream: the answer holds no picture", provider=NAME)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _ark_error(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` from ``{"error": {"code", "message", ...}}`` ("" when absent)."""
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
    code, message = _ark_error(response)
    reason = message or response.reason_phrase or "error"
    text = f"seedream: {reason[:500]}{f' ({code})' if code else ''} (HTTP {response.status_code})"
    text = text.replace(secret, "***")
    status = response.status_code
    if code.split(".")[0] in QUOTA_CODES:
        return ProviderQuotaExceeded(text, provider=NAME, status_code=status)
    if "SensitiveContent" in code:
        if code.startswith("Output"):
            return ProviderTaskFailed(text, provider=NAME, status_code=status)
        return ProviderInvalidRequest(text, provider=NAME, status_code=status)
    return classify_http_error(response, text, provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class SeedreamImageProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://ark.cn-beijing.volces.com/api/v3"
    default_model = "doubao-seedream-4-5-251128"
    missing_key = "seedream: no Ark API key configured (SEEDREAM_API_KEY)"

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        fetch: Fetch | None = None,
        max_bytes: int = MAX_PICTURE_BYTES,
        response_format: ResponseFormat = "b64_json",
    ) -> None:
        super().__init__(config, http)
        self._max_bytes = max_bytes
        self._fetch = fetch or bounded_fetch(http, provider=NAME, max_bytes=max_bytes)
        self._response_format: ResponseFormat = response_format

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return _http_error(response, key)

    async def generate(self, request: ImageRequest) -> ImageResult:
        body = _build_request(request, self._config, self._response_format)
        response = await self._send("POST", "/images/generations", json=body)
        kind, value = _parse_answer(json_or_error(response, provider=NAME))
        if kind == "b64":
            data = decode_base64(value, provider=NAME, max_bytes=self._max_bytes)
        else:
            data = await self._fetch(value)
        return picture_result(data, provider=NAME, seed=body.get("seed"), max_bytes=self._max_bytes)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
