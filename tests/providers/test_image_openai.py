"""OpenAIImageProvider against a respx-mocked ``POST /v1/images/generations`` (facts: PROVIDERS.md 17 and 8)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from providers.base import ProviderConfig
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.image import ImageProvider, ImageRequest
from providers.image._picture import sniff
from providers.image.openai import OpenAIImageProvider, _build_request, _size

BASE = "https://api.openai.com/v1"
URL = f"{BASE}/images/generations"
KEY = "sk-proj-" + "Zx9" * 16


def picture(fmt: str = "PNG", size: tuple[int, int] = (48, 27)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(data: bytes | None = None, **item: Any) -> dict[str, Any]:
    entry = {"b64_json": b64(data if data is not None else picture())} | item
    return {"created": 1764000000, "data": [entry], "usage": {"total_tokens": 100}}


def make_config(**overrides: Any) -> ProviderConfig:
    return ProviderConfig(**({"name": "openai", "base_url": BASE, "api_key": KEY} | overrides))


def make_request(**overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "prompt": "A lighthouse keeper climbs the stairs",
        "shot_size": "wide",
        "lighting": "golden_hour",
        "camera_movement": "push_in",
        "negative_prompt": "text, watermark",
        "seed": 7,
    }
    return ImageRequest(**(values | overrides))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> OpenAIImageProvider:
    return OpenAIImageProvider(make_config(), http)


# --- the outgoing request -----------------------------------------------------------------------------------------


async def test_generate_posts_the_exact_request_and_measures_the_picture(provider, router):
    """POST /v1/images/generations with Bearer auth and the gpt-image-2 body; the b64 PNG comes back measured."""
    route = router.post(URL).respond(200, json=answer(picture("PNG", (64, 36)), output_format="jpeg"))

    result = await provider.generate(make_request())

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gpt-image-2",
        "prompt": "A lighthouse keeper climbs the stairs. Shot: wide. Lighting: golden hour. "
        "Camera: slow push in. Avoid: text, watermark.",
        "size": "1280x720",
        "output_format": "png",
        "n": 1,
    }
    # the answer's own claim ("jpeg") is not trusted: type and size come from the bytes
    assert (result.content_type, result.width, result.height) == ("image/png", 64, 36)
    assert result.seed is None  # the images API takes no seed
    assert "data" not in repr(result)


@pytest.mark.parametrize(
    ("model", "size", "sent"),
    [
        ("gpt-image-2", (1280, 720), "1280x720"),
        ("gpt-image-2", (720, 1280), "720x1280"),
        ("gpt-image-2", (1920, 1080), "1920x1088"),
        ("gpt-image-2", (100, 100), "816x816"),  # raised to the pixel floor
        ("gpt-image-2", (8000, 8000), "2880x2880"),  # lowered to 3840x2160's pixel count
        ("gpt-image-1", (1280, 720), "1536x1024"),
        ("gpt-image-1.5", (720, 1280), "1024x1536"),
        ("gpt-image-1-mini", (1000, 1000), "1024x1024"),
    ],
)
def test_size_maps_onto_what_each_model_accepts(model, size, sent):
    """gpt-image-2 keeps the aspect in multiples of 16 within its bounds; older models get their nearest size."""
    assert _size(model, *size) == sent


@pytest.mark.parametrize("size", [(3000, 500), (500, 3000), (3840, 2160), (1366, 768), (17, 4000)])
def test_free_sizes_stay_within_gpt_image_2_limits(size):
    """Whatever is asked, gpt-image-2 gets sides in multiples of 16, aspect within 1:3-3:1, at most 3840x2160."""
    w, h = (int(v) for v in _size("gpt-image-2", *size).split("x"))
    assert w % 16 == 0 and h % 16 == 0
    assert 1 / 3 <= w / h <= 3
    assert max(w, h) <= 3840 and w * h <= 3840 * 2160
    assert w * h >= 655_360


def test_model_comes_from_request_then_config_then_default():
    """The request's model wins over the configured one, which wins over gpt-image-2."""
    assert _build_request(make_request(), make_config(model="gpt-image-1"))["model"] == "gpt-image-1"
    assert _build_request(make_request(model="gpt-image-1.5"), make_config(model="x"))["model"] == "gpt-image-1.5"
    assert _build_request(make_request(), make_config())["model"] == "gpt-image-2"


def test_prompt_keeps_the_directions_within_the_limit():
    """A very long prompt is cut so the shot directions still fit in 32,000 characters."""
    prompt = _build_request(make_request(prompt="x" * 40_000), make_config())["prompt"]
    assert len(prompt) <= 32_000
    assert prompt.endswith("Avoid: text, watermark.")


def test_prompt_without_form_is_the_users_text():
    """No shot form and no negative prompt: the prompt goes as written."""
    request = make_request(shot_size=None, lighting=None, camera_movement=None, negative_prompt=None)
    assert _build_request(request, make_config())["prompt"] == "A lighthouse keeper climbs the stairs"


# --- the answer ---------------------------------------------------------------------------------------------------


async def test_a_url_answer_is_downloaded_without_the_key(provider, router):
    """An OpenAI-compatible ``data[0].url`` is fetched (no Authorization header) and measured like b64."""
    router.post(URL).respond(200, json={"data": [{"url": "https://cdn.example/p.jpg"}]})
    cdn = router.get("https://cdn.example/p.jpg").respond(200, content=picture("JPEG", (40, 30)))

    result = await provider.generate(make_request())

    assert (result.content_type, result.width, result.height) == ("image/jpeg", 40, 30)
    assert "authorization" not in cdn.calls.last.request.headers


@pytest.mark.parametrize(
    "body",
    [
        {"data": []},
        {"data": [{}]},
        {"created": 1},
        {"data": [{"b64_json": "%%% not base64 %%%"}]},
        {"data": [{"b64_json": b64(b"GIF89a not a picture we take")}]},
        {"data": [{"b64_json": b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)}]},  # PNG magic, broken header
    ],
)
async def test_malformed_answers_are_bad_responses(provider, router, body):
    """An answer without a usable PNG/JPEG/WebP is ProviderBadResponse, never passed on."""
    router.post(URL).respond(200, json=body)

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_a_non_json_answer_is_a_bad_response(provider, router):
    router.post(URL).respond(200, text="<html>ok</html>")

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_a_picture_over_the_cap_is_refused(http, router):
    """A b64 picture larger than max_bytes is refused before it is decoded whole."""
    provider = OpenAIImageProvider(make_config(), http, max_bytes=1000)
    router.post(URL).respond(200, json=answer(picture("PNG", (400, 400)) + b"\x00" * 2000))

    with pytest.raises(ProviderBadResponse, match="larger than"):
        await provider.generate(make_request())


def test_sniff_reads_the_magic_bytes():
    """PNG, JPEG and WebP are told apart by their first bytes; anything else is None."""
    webp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(webp, "WEBP")
    assert sniff(picture("PNG")) == "image/png"
    assert sniff(picture("JPEG")) == "image/jpeg"
    assert sniff(webp.getvalue()) == "image/webp"
    assert sniff(b"<svg/>") is None


# --- errors -------------------------------------------------------------------------------------------------------


def error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (401, error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"), ProviderAuthError),
        (403, error("Organization not verified", "invalid_request_error"), ProviderAuthError),
        (400, error("Your request was rejected by the safety system", "image_generation_user_error",
                    "moderation_blocked"), ProviderInvalidRequest),
        (400, error("Invalid size '1x1'", "invalid_request_error", "invalid_value"), ProviderInvalidRequest),
        (429, error("You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
         ProviderQuotaExceeded),
        (500, error("The server had an error", "server_error"), ProviderUnavailable),
        (503, {"error": "overloaded"}, ProviderUnavailable),
    ],
)  # fmt: skip
async def test_error_envelopes_map_onto_the_tree(provider, router, status, body, exc):
    """Chat Completions' error envelope → our tree; OpenAI's message is kept, the class says what to do."""
    router.post(URL).respond(status, json=body)

    with pytest.raises(exc) as info:
        await provider.generate(make_request())

    assert info.value.status_code == status
    assert info.value.provider == "openai"
    message = body["error"]["message"] if isinstance(body["error"], dict) else body["error"]
    assert message in str(info.value)


async def test_429_rate_limit_carries_retry_after(provider, router):
    """A 429 rate_limit_exceeded is retryable, with OpenAI's retry-after (retry-after-ms first)."""
    router.post(URL).respond(
        429, json=error("Rate limit reached", "requests", "rate_limit_exceeded"), headers={"retry-after": "7"}
    )

    with pytest.raises(ProviderRateLimited) as info:
        await provider.generate(make_request())

    assert info.value.retryable and info.value.retry_after == 7.0


@pytest.mark.parametrize("status", [400, 401, 429, 500])
async def test_the_key_never_appears_in_an_error(provider, router, status):
    """Even when the provider echoes the key, no exception message carries it."""
    router.post(URL).respond(status, json=error(f"bad key {KEY} sent", "invalid_request_error"))

    with pytest.raises(ProviderError) as info:
        await provider.generate(make_request())

    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


async def test_a_transport_failure_is_unavailable_and_chained(provider, router):
    router.post(URL).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderUnavailable) as info:
        await provider.generate(make_request())

    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    provider = OpenAIImageProvider(make_config(api_key=None), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.generate(make_request())
    assert router.calls.call_count == 0


async def test_satisfies_the_protocol_and_aclose_leaves_the_client_open(provider, http):
    assert isinstance(provider, ImageProvider)
    assert (provider.name, OpenAIImageProvider.default_base_url) == ("openai", BASE)
    await provider.aclose()
    assert not http.is_closed


async def test_an_empty_prompt_is_refused_before_sending(provider, router):
    """Nothing to paint (no prompt, no shot form) is ProviderInvalidRequest, and OpenAI is never asked."""
    request = ImageRequest(prompt="   ")

    with pytest.raises(ProviderInvalidRequest, match="needs a prompt"):
        await provider.generate(request)
    assert router.calls.call_count == 0
