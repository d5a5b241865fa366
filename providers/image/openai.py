"""OpenAI Images: ``POST /v1/images/generations`` (PROVIDERS.md 17), one synchronous call.

GPT image models always answer base64 (``data[0].b64_json``); a ``data[0].url`` (an OpenAI-compatible server, an
older model) is downloaded through ``fetch``. Errors are Chat Completions' envelope (section 8), including 429
``insufficient_quota``, which is quota, not a rate limit. The images API has no seed and no negative prompt: the
things to avoid are written into the prompt, which GPT image models follow as an instruction.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import ProviderConfig
from providers.errors import ProviderBadResponse, ProviderError, ProviderQuotaExceeded
from providers.http import BearerKeyAdapter, classify_http_error, json_or_error
from providers.image._download import MAX_PICTURE_BYTES, Fetch, bounded_fetch, decode_base64
from providers.image._picture import picture_result
from providers.image._prompt import image_prompt
from providers.image._size import free_size, nearest
from providers.image.base import ImageRequest, ImageResult

NAME = "openai"
PROMPT_LIMIT = 32_000  # characters, GPT image models
OUTPUT_FORMAT = "png"
# gpt-image-1, -1.5 and -1-mini take three sizes; gpt-image-2 (and, we assume, later models) any WxH in multiples
# of 16, aspect 1:3 to 3:1, up to 3840x2160. The pixel floor is OpenAI's published minimum [UNCONF in PROVIDERS.md].
FIXED_SIZE_MODELS = ("gpt-image-1", "dall-e")
FIXED_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
MAX_SIDE = 3840
MAX_PIXELS = 3840 * 2160
MIN_PIXELS = 655_360
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


# --- pure mapping -------------------------------------------------------------------------------------------------


def _size(model: str, width: int, height: int) -> str:
    if model.startswith(FIXED_SIZE_MODELS):
        w, h = nearest(width, height, FIXED_SIZES)
    else:
        w, h = free_size(width, height, max_side=MAX_SIDE, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    return f"{w}x{h}"


def _build_request(request: ImageRequest, config: ProviderConfig) -> dict[str, Any]:
    """The ``POST /images/generations`` body: one picture, PNG, the shot form and things to avoid in the prompt."""
    model = request.model or config.model or OpenAIImageProvider.default_model
    return {
        "model": model,
        "prompt": image_prompt(request, PROMPT_LIMIT, provider=NAME, avoid=True),
        "size": _size(model, request.width, request.height),
        "output_format": OUTPUT_FORMAT,
        "n": 1,
    }


def _parse_answer(data: dict[str, Any]) -> tuple[str, str]:
    """``("b64", text)`` or ``("url", url)`` from ``{"data": [{"b64_json"} | {"url"}]}``."""
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items else None
    if isinstance(first, dict):
        if isinstance(first.get("b64_json"), str) and first["b64_json"]:
            return "b64", first["b64_json"]
        if isinstance(first.get("url"), str) and first["url"]:
            return "url", first["url"]
    raise ProviderBadResponse("openai: the answer holds no picture", provider=NAME)


def _http_error(response: httpx.Response, secret: str) -> ProviderError:
    """The ``{"error": {"message", "type", "code"}}`` envelope → our tree; the key is masked even if echoed."""
    message, code, kind = response.reason_phrase or "error", "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        code, kind = str(error.get("code") or ""), str(error.get("type") or "")
    elif isinstance(error, str):
        message = error
    text = f"openai: {message.strip()[:500]}{f' ({code})' if code else ''} (HTTP {response.status_code})"
    text = text.replace(secret, "***")
    if code in QUOTA_CODES or kind in QUOTA_CODES:
        return ProviderQuotaExceeded(text, provider=NAME, status_code=response.status_code)
    return classify_http_error(response, text, provider=NAME)


# --- the adapter --------------------------------------------------------------------------------------------------


class OpenAIImageProvider(BearerKeyAdapter):
    name = NAME
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-image-2"
    missing_key = "openai: no API key configured (OPENAI_API_KEY)"

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        fetch: Fetch | None = None,
        max_bytes: int = MAX_PICTURE_BYTES,
    ) -> None:
        super().__init__(config, http)
        self._max_bytes = max_bytes
        self._fetch = fetch or bounded_fetch(http, provider=NAME, max_bytes=max_bytes)

    def _http_error(self, response: httpx.Response, key: str) -> ProviderError:
        return _http_error(response, key)

    async def generate(self, request: ImageRequest) -> ImageResult:
        response = await self._send("POST", "/images/generations", json=_build_request(request, self._config))
        kind, value = _parse_answer(json_or_error(response, provider=NAME))
        if kind == "b64":
            data = decode_base64(value, provider=NAME, max_bytes=self._max_bytes)
        else:
            data = await self._fetch(value)
        return picture_result(data, provider=NAME, max_bytes=self._max_bytes)

    async def aclose(self) -> None:
        """The shared client belongs to the app."""
