"""FalImageProvider (FLUX) against a respx-mocked fal queue (facts: PROVIDERS.md 3 and 17). Polling runs on a
fake clock: no test sleeps."""

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
    ProviderRateLimited,
    ProviderTaskFailed,
    ProviderUnavailable,
)
from providers.image import ImageProvider, ImageRequest
from providers.image.fal import FalImageProvider, _build_request, _image_size

BASE = "https://queue.fal.run"
KEY = "0f1e2d3c-key-id:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
SUBMIT = f"{BASE}/fal-ai/flux/dev"
REQUEST_ID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
RESPONSE_URL = f"{BASE}/fal-ai/flux/requests/{REQUEST_ID}"
STATUS_URL = f"{RESPONSE_URL}/status"
CANCEL_URL = f"{RESPONSE_URL}/cancel"
PICTURE_URL = "https://v3.fal.media/files/penguin/Xo3nb1q2_output.jpeg"


def picture(fmt: str = "JPEG", size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (240, 180, 40)).save(buf, fmt)
    return buf.getvalue()


def submitted(**urls: str) -> httpx.Response:
    body = {"request_id": REQUEST_ID, "response_url": RESPONSE_URL, "status_url": STATUS_URL, "cancel_url": CANCEL_URL}
    return httpx.Response(200, json=body | urls)


def status(value: str, code: int = 202, **extra: Any) -> httpx.Response:
    return httpx.Response(code, json={"status": value, "response_url": RESPONSE_URL} | extra)


def result(url: str = PICTURE_URL, **extra: Any) -> dict[str, Any]:
    image = {"url": url, "width": 1280, "height": 720, "content_type": "image/jpeg"}
    return {"images": [image], "seed": 1234567, "has_nsfw_concepts": [False], "prompt": "…"} | extra


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_config(**overrides: Any) -> ProviderConfig:
    return ProviderConfig(**({"name": "fal", "base_url": BASE, "api_key": KEY} | overrides))


def make_request(**overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "prompt": "Two children fly a kite on a hill",
        "shot_size": "extreme_wide",
        "lighting": "overcast",
        "negative_prompt": "text",
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
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def provider(http: httpx.AsyncClient, clock: FakeTime) -> FalImageProvider:
    return FalImageProvider(make_config(), http, sleep=clock.sleep, clock=clock.clock)


def completed_run(router: respx.MockRouter, body: dict[str, Any] | None = None) -> None:
    router.post(SUBMIT).mock(return_value=submitted())
    router.get(STATUS_URL).mock(return_value=status("COMPLETED", 200, logs=None))
    router.get(RESPONSE_URL).respond(200, json=body if body is not None else result())


# --- the happy path -----------------------------------------------------------------------------------------------


async def test_generate_submits_polls_reads_the_result_and_downloads(provider, router, clock):
    """Submit with ``Authorization: Key``, poll the returned status_url (202 while pending), read response_url,
    then GET the picture without our key; fal's seed comes back, type and size from the bytes."""
    submit = router.post(SUBMIT).mock(return_value=submitted())
    poll = router.get(STATUS_URL).mock(
        side_effect=[
            status("IN_QUEUE", queue_position=2),
            status("IN_PROGRESS", logs=[{"message": "step 10", "timestamp": "2026-12-01T10:00:00"}]),
            status("COMPLETED", 200, logs=None, metrics={"inference_time": 2.1}),
        ]
    )
    answer = router.get(RESPONSE_URL).respond(200, json=result())
    cdn = router.get(PICTURE_URL).respond(200, content=picture("PNG", (128, 72)))

    image = await provider.generate(make_request())

    request = submit.calls.last.request
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Key {KEY}"
    assert json.loads(request.content) == {
        "prompt": "Two children fly a kite on a hill. Shot: extreme wide. Lighting: overcast.",
        "image_size": {"width": 1280, "height": 720},
        "num_images": 1,
        "output_format": "jpeg",
        "seed": 7,
    }
    assert poll.call_count == 3
    assert poll.calls.last.request.headers["authorization"] == f"Key {KEY}"
    assert answer.calls.last.request.headers["authorization"] == f"Key {KEY}"
    assert "authorization" not in cdn.calls.last.request.headers
    # fal said image/jpeg 1280x720; the bytes are a 128x72 PNG
    assert (image.content_type, image.width, image.height, image.seed) == ("image/png", 128, 72, 1234567)
    assert clock.sleeps == [2.0, 2.0]


@pytest.mark.parametrize(
    ("size", "sent"),
    [
        ((1280, 720), {"width": 1280, "height": 720}),
        ((720, 1280), {"width": 720, "height": 1280}),
        ((1920, 1080), {"width": 1920, "height": 1088}),
        ((4000, 2000), {"width": 2048, "height": 1024}),
        ((100, 100), {"width": 256, "height": 256}),
    ],
)
def test_image_size_is_the_requests_own_in_multiples_of_16(size, sent):
    assert _image_size(*size) == sent


def test_no_seed_no_seed_field():
    assert "seed" not in _build_request(make_request(seed=None))


async def test_the_model_picks_the_endpoint_and_status_urls_drop_its_sub_path(provider, router):
    """``fal-ai/flux-pro/v1.1`` is submitted to its full id; rebuilt status/result URLs use ``fal-ai/flux-pro``."""
    app = f"{BASE}/fal-ai/flux-pro/requests/{REQUEST_ID}"
    submit = router.post(f"{BASE}/fal-ai/flux-pro/v1.1").respond(200, json={"request_id": REQUEST_ID})
    router.get(f"{app}/status").mock(return_value=status("COMPLETED", 200))
    router.get(app).respond(200, json=result())
    router.get(PICTURE_URL).respond(200, content=picture())

    await provider.generate(make_request(model="fal-ai/flux-pro/v1.1"))

    assert submit.called


async def test_urls_on_another_host_are_not_sent_the_key(provider, router):
    """A status/response URL that is not on the configured host is rebuilt on it: the key stays at fal."""
    router.post(SUBMIT).mock(
        return_value=submitted(status_url="https://evil.example/s", response_url="https://evil.example/r")
    )
    poll = router.get(STATUS_URL).mock(return_value=status("COMPLETED", 200))
    router.get(RESPONSE_URL).respond(200, json=result())
    router.get(PICTURE_URL).respond(200, content=picture())

    await provider.generate(make_request())

    assert poll.called


async def test_an_inline_data_uri_is_decoded_without_a_download(provider, router):
    """fal's sync mode answers the picture as a data URI: decoded here, nothing fetched."""
    uri = "data:image/jpeg;base64," + base64.b64encode(picture("JPEG", (30, 20))).decode()
    completed_run(router, result(url=uri))

    image = await provider.generate(make_request())

    assert (image.content_type, image.width) == ("image/jpeg", 30)
    assert router.calls.call_count == 3  # submit, status, result


async def test_the_injected_fetch_downloads_the_picture(http, router, clock):
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return picture()

    provider = FalImageProvider(make_config(), http, fetch=fetch, sleep=clock.sleep, clock=clock.clock)
    completed_run(router)

    await provider.generate(make_request())

    assert fetched == [PICTURE_URL]


# --- failures -----------------------------------------------------------------------------------------------------


async def test_completed_with_an_error_is_a_failed_task(provider, router):
    router.post(SUBMIT).mock(return_value=submitted())
    router.get(STATUS_URL).mock(
        return_value=status("COMPLETED", 200, logs=None, error="CUDA out of memory", error_type="runner_error")
    )

    with pytest.raises(ProviderTaskFailed, match=r"CUDA out of memory \(runner_error\)"):
        await provider.generate(make_request())


async def test_a_failing_result_fetch_is_a_failed_task(provider, router):
    """A 422 on response_url is the run's failure, with fal's validation message."""
    router.post(SUBMIT).mock(return_value=submitted())
    router.get(STATUS_URL).mock(return_value=status("COMPLETED", 200))
    router.get(RESPONSE_URL).respond(
        422, json={"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]}
    )

    with pytest.raises(ProviderTaskFailed, match="prompt: field required"):
        await provider.generate(make_request())


async def test_a_result_fetch_401_is_an_auth_error(provider, router):
    router.post(SUBMIT).mock(return_value=submitted())
    router.get(STATUS_URL).mock(return_value=status("COMPLETED", 200))
    router.get(RESPONSE_URL).respond(401, json={"detail": "Invalid key"})

    with pytest.raises(ProviderAuthError):
        await provider.generate(make_request())


async def test_a_flagged_picture_is_a_failed_task(provider, router):
    """The safety checker's ``has_nsfw_concepts: [true]`` (fal answers a black image) fails the generation."""
    completed_run(router, result(has_nsfw_concepts=[True]))

    with pytest.raises(ProviderTaskFailed, match="safety checker"):
        await provider.generate(make_request())
    assert router.calls.call_count == 3  # submit, status, result: the black picture is not downloaded


async def test_a_result_without_images_is_a_bad_response(provider, router):
    completed_run(router, {"images": [], "seed": 1})

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_the_wait_is_bounded_and_the_request_cancelled(http, router, clock):
    """Past max_wait: ProviderTaskFailed, and a PUT to cancel_url so fal stops the run."""
    provider = FalImageProvider(make_config(), http, max_wait=6, poll_interval=2, sleep=clock.sleep, clock=clock.clock)
    router.post(SUBMIT).mock(return_value=submitted())
    poll = router.get(STATUS_URL).mock(return_value=status("IN_QUEUE", queue_position=40))
    cancel = router.put(CANCEL_URL).respond(202, json={"status": "CANCELLATION_REQUESTED"})

    with pytest.raises(ProviderTaskFailed, match="not ready within 6 s"):
        await provider.generate(make_request())

    assert poll.call_count == 4 and clock.now == 6
    assert cancel.call_count == 1
    assert cancel.calls.last.request.headers["authorization"] == f"Key {KEY}"


async def test_a_download_over_the_cap_is_refused(http, router, clock):
    provider = FalImageProvider(make_config(), http, max_bytes=2048, sleep=clock.sleep, clock=clock.clock)
    completed_run(router)
    router.get(PICTURE_URL).respond(200, content=b"\xff\xd8\xff" + b"\x00" * 4096)

    with pytest.raises(ProviderBadResponse, match="larger than"):
        await provider.generate(make_request())


@pytest.mark.parametrize(
    ("code", "body", "headers", "exc"),
    [
        (401, {"detail": "Invalid key"}, {}, ProviderAuthError),
        (403, {"detail": "Exhausted balance"}, {}, ProviderAuthError),
        (422, {"detail": [{"loc": ["body", "image_size"], "msg": "bad size", "type": "value_error"}]}, {},
         ProviderInvalidRequest),
        (429, {"detail": "Too many concurrent requests"}, {"Retry-After": "4"}, ProviderRateLimited),
        (500, {"detail": "Internal error"}, {}, ProviderUnavailable),
    ],
)  # fmt: skip
async def test_submit_errors_map_onto_the_tree(provider, router, code, body, headers, exc):
    router.post(SUBMIT).respond(code, json=body, headers=headers)

    with pytest.raises(exc) as info:
        await provider.generate(make_request())

    assert info.value.status_code == code
    if exc is ProviderRateLimited:
        assert info.value.retry_after == 4.0


@pytest.mark.parametrize("code", [400, 401, 422, 500])
async def test_the_key_never_appears_in_an_error(provider, router, code):
    router.post(SUBMIT).respond(code, json={"detail": f"key {KEY} rejected"})

    with pytest.raises(ProviderError) as info:
        await provider.generate(make_request())

    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


@pytest.mark.parametrize(
    "response", [httpx.Response(200, text="<html>"), httpx.Response(200, json={"status_url": STATUS_URL})]
)
async def test_unusable_submit_answers_are_bad_responses(provider, router, response):
    router.post(SUBMIT).mock(return_value=response)

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    provider = FalImageProvider(make_config(api_key=None), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.generate(make_request())
    assert router.calls.call_count == 0


async def test_satisfies_the_protocol_and_aclose_leaves_the_client_open(provider, http):
    assert isinstance(provider, ImageProvider)
    assert (provider.name, FalImageProvider.default_base_url) == ("fal", BASE)
    await provider.aclose()
    assert not http.is_closed
