"""SeedreamImageProvider against a respx-mocked Ark ``POST /images/generations`` (facts: PROVIDERS.md 17 and 4)."""

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
    ProviderTaskFailed,
    ProviderUnavailable,
)
from providers.image import ImageProvider, ImageRequest
from providers.image.seedream import SeedreamImageProvider, _build_request, _size

BASE = "https://ark.cn-beijing.volces.com/api/v3"
URL = f"{BASE}/images/generations"
KEY = "ark-" + "5f0c" * 9
CDN = "https://ark-content-generation-v2-cn-beijing.tos-cn-beijing.volces.com/seedream/out.jpeg?X-Tos-Signature=s"


def picture(fmt: str = "JPEG", size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(buf, fmt)
    return buf.getvalue()


def answer(**item: Any) -> dict[str, Any]:
    return {"model": "doubao-seedream-4-5-251128", "created": 1764000000, "data": [item], "usage": {"output_tokens": 1}}


def make_config(**overrides: Any) -> ProviderConfig:
    return ProviderConfig(**({"name": "seedream", "base_url": BASE, "api_key": KEY} | overrides))


def make_request(**overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "prompt": "A fox crosses a frozen river",
        "shot_size": "medium",
        "lighting": "blue_hour",
        "negative_prompt": "people",
        "seed": 42,
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
def provider(http: httpx.AsyncClient) -> SeedreamImageProvider:
    return SeedreamImageProvider(make_config(), http)


# --- the outgoing request -----------------------------------------------------------------------------------------


async def test_generate_posts_the_exact_request_and_decodes_b64(provider, router):
    """POST {ark}/images/generations, Bearer auth, b64_json asked for, no watermark; the JPEG comes back measured."""
    item = {"b64_json": base64.b64encode(picture("JPEG", (80, 45))).decode(), "size": "2560x1440"}
    route = router.post(URL).respond(200, json=answer(**item))

    result = await provider.generate(make_request())

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "doubao-seedream-4-5-251128",
        "prompt": "A fox crosses a frozen river. Shot: medium. Lighting: blue hour. Avoid: people.",
        "size": "2560x1440",
        "response_format": "b64_json",
        "watermark": False,
        "seed": 42,
    }
    # measured from the bytes, not taken from the answer's "size"
    assert (result.content_type, result.width, result.height, result.seed) == ("image/jpeg", 80, 45, 42)


@pytest.mark.parametrize(
    ("model", "size", "sent"),
    [
        ("doubao-seedream-4-5-251128", (1280, 720), "2560x1440"),  # raised to 4.5's 3.7 MP floor
        ("doubao-seedream-4-5-251128", (720, 1280), "1440x2560"),
        ("doubao-seedream-4-5-251128", (1024, 1024), "1920x1920"),
        ("doubao-seedream-5-0-260128", (1280, 720), "2560x1440"),
        ("doubao-seedream-4-0-250828", (1280, 720), "1280x720"),  # 4.0 takes 1280x720 as it is
        ("doubao-seedream-4-5-251128", (8000, 8000), "4096x4096"),
    ],
)
def test_size_keeps_the_aspect_within_the_models_pixel_range(model, size, sent):
    assert _size(model, *size) == sent


@pytest.mark.parametrize(("seed", "sent"), [(5, 5), (-1, -1), (2**31 + 5, 5)])
def test_seed_stays_in_arks_range(seed, sent):
    assert _build_request(make_request(seed=seed), make_config())["seed"] == sent


def test_no_seed_sends_none_and_the_model_comes_from_request_then_config():
    body = _build_request(make_request(seed=None), make_config(model="doubao-seedream-5-0-260128"))
    assert "seed" not in body
    assert body["model"] == "doubao-seedream-5-0-260128"
    assert _build_request(make_request(model="ep-2025"), make_config(model="x"))["model"] == "ep-2025"


# --- url answers and the download ---------------------------------------------------------------------------------


async def test_url_mode_asks_for_urls_and_downloads_through_the_injected_fetch(http, router):
    """With response_format="url" the picture comes through the app's fetcher, never our client."""
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return picture("PNG", (32, 18))

    provider = SeedreamImageProvider(make_config(), http, fetch=fetch, response_format="url")
    route = router.post(URL).respond(200, json=answer(url=CDN, size="2560x1440"))

    result = await provider.generate(make_request())

    assert json.loads(route.calls.last.request.content)["response_format"] == "url"
    assert fetched == [CDN]
    assert router.calls.call_count == 1  # only the POST went through the client
    assert (result.content_type, result.width, result.height) == ("image/png", 32, 18)


async def test_the_default_download_gets_the_url_without_the_key(provider, router):
    router.post(URL).respond(200, json=answer(url=CDN))
    cdn = router.get(CDN).respond(200, content=picture())

    result = await provider.generate(make_request())

    assert result.content_type == "image/jpeg"
    assert "authorization" not in cdn.calls.last.request.headers


async def test_a_download_declared_over_the_cap_is_refused(http, router):
    provider = SeedreamImageProvider(make_config(), http, max_bytes=10_000)
    router.post(URL).respond(200, json=answer(url=CDN))
    router.get(CDN).respond(200, content=picture(), headers={"content-length": "50000000"})

    with pytest.raises(ProviderBadResponse, match="larger than"):
        await provider.generate(make_request())


async def test_a_download_streaming_past_the_cap_is_refused(http, router):
    """Without a (truthful) Content-Length the body is cut off as soon as it passes the cap."""
    provider = SeedreamImageProvider(make_config(), http, max_bytes=10_000)

    async def chunks():
        for _ in range(100):
            yield b"\xff" * 1000

    router.post(URL).respond(200, json=answer(url=CDN))
    router.get(CDN).mock(return_value=httpx.Response(200, content=chunks()))

    with pytest.raises(ProviderBadResponse, match="larger than"):
        await provider.generate(make_request())


@pytest.mark.parametrize(("status", "exc"), [(403, ProviderBadResponse), (404, ProviderBadResponse),
                                             (503, ProviderUnavailable)])  # fmt: skip
async def test_download_failures_say_what_they_are_without_the_url(provider, router, status, exc):
    """An expired URL (403/404) is a bad response, not an auth error (our key is not sent); 5xx is transient.
    The signed URL is never in the message."""
    router.post(URL).respond(200, json=answer(url=CDN))
    router.get(CDN).respond(status)

    with pytest.raises(exc) as info:
        await provider.generate(make_request())

    assert "X-Tos-Signature" not in str(info.value)


# --- failures -----------------------------------------------------------------------------------------------------


async def test_an_item_with_an_error_is_a_failed_task(provider, router):
    """A picture filtered after generation comes back as ``data[0].error``: ProviderTaskFailed with Ark's reason."""
    item = {"error": {"code": "OutputImageSensitiveContentDetected", "message": "The output image may contain x"}}
    router.post(URL).respond(200, json=answer(**item))

    with pytest.raises(ProviderTaskFailed, match=r"may contain x \(OutputImageSensitiveContentDetected\)"):
        await provider.generate(make_request())


def ark(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{message} Request ID: 2025x", "param": "", "type": "BadRequest"}}


@pytest.mark.parametrize(
    ("status", "code", "exc"),
    [
        (400, "InvalidParameter", ProviderInvalidRequest),
        (400, "InputTextSensitiveContentDetected", ProviderInvalidRequest),
        (400, "OutputImageSensitiveContentDetected", ProviderTaskFailed),
        (401, "AuthenticationError", ProviderAuthError),
        (403, "AccountOverdueError", ProviderQuotaExceeded),
        (404, "InvalidEndpointOrModel.NotFound", ProviderInvalidRequest),
        (500, "InternalServiceError", ProviderUnavailable),
        (503, "ServiceOverload", ProviderUnavailable),
    ],
)
async def test_ark_errors_map_onto_the_tree(provider, router, status, code, exc):
    router.post(URL).respond(status, json=ark(code, "it went wrong."))

    with pytest.raises(exc) as info:
        await provider.generate(make_request())

    assert info.value.status_code == status
    assert code in str(info.value) and "it went wrong." in str(info.value)


async def test_429_carries_retry_after(provider, router):
    router.post(URL).respond(
        429, json=ark("RateLimitExceeded.EndpointRPMExceeded", "Too many requests."), headers={"Retry-After": "3"}
    )

    with pytest.raises(ProviderRateLimited) as info:
        await provider.generate(make_request())

    assert info.value.retryable and info.value.retry_after == 3.0


@pytest.mark.parametrize("status", [400, 401, 429, 500])
async def test_the_key_never_appears_in_an_error(provider, router, status):
    router.post(URL).respond(status, json=ark("AuthenticationError", f"the key {KEY} is wrong."))

    with pytest.raises(ProviderError) as info:
        await provider.generate(make_request())

    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


@pytest.mark.parametrize("response", [httpx.Response(200, text="oops"), httpx.Response(200, json={"data": []}),
                                      httpx.Response(200, json={"data": [{"b64_json": "!!"}]})])  # fmt: skip
async def test_malformed_answers_are_bad_responses(provider, router, response):
    router.post(URL).mock(return_value=response)

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    provider = SeedreamImageProvider(make_config(api_key=None), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.generate(make_request())
    assert router.calls.call_count == 0


async def test_satisfies_the_protocol_and_aclose_leaves_the_client_open(provider, http):
    assert isinstance(provider, ImageProvider)
    assert (provider.name, SeedreamImageProvider.default_base_url) == ("seedream", BASE)
    await provider.aclose()
    assert not http.is_closed
