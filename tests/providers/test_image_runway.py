"""RunwayImageProvider against respx-mocked ``POST /v1/text_to_image`` and ``GET /v1/tasks/{id}`` (facts:
PROVIDERS.md 1 and 17). Polling runs on a fake clock: no test sleeps."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from providers._shot import utf16_len
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
from providers.image.runway import RunwayImageProvider, _build_request, _ratio

BASE = "https://api.dev.runwayml.com"
KEY = "key_" + "0123456789abcdef" * 8
TASK = "17f20503-6c24-4c16-946b-35dbbce2af2f"
OUTPUT = "https://dnznrvs05pmza.cloudfront.net/out.png?_jwt=eyJhbGciOi.secret"


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 36)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 160, 90)).save(buf, fmt)
    return buf.getvalue()


def task(status: str, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"id": TASK, "createdAt": "2026-12-01T10:00:00.000Z", "status": status} | extra)


class FakeTime:
    """A clock that only moves when the adapter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_config(**overrides: Any) -> ProviderConfig:
    return ProviderConfig(**({"name": "runway", "base_url": BASE, "api_key": KEY} | overrides))


def make_request(**overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {
        "prompt": "A cyclist at a crossroads",
        "shot_size": "close_up",
        "lighting": "night",
        "camera_movement": "static",
        "negative_prompt": "blurry",
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
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def provider(http: httpx.AsyncClient, clock: FakeTime) -> RunwayImageProvider:
    return RunwayImageProvider(make_config(), http, sleep=clock.sleep, clock=clock.clock)


def created(router: respx.MockRouter) -> respx.Route:
    return router.post(f"{BASE}/v1/text_to_image").respond(200, json={"id": TASK})


# --- the happy path -----------------------------------------------------------------------------------------------


async def test_generate_creates_polls_and_downloads(provider, router, clock):
    """POST /v1/text_to_image (Bearer + X-Runway-Version, camelCase), poll the task until SUCCEEDED, then GET
    ``output[0]`` without our key; the picture is measured from its bytes."""
    create = created(router)
    poll = router.get(f"{BASE}/v1/tasks/{TASK}").mock(
        side_effect=[task("PENDING"), task("RUNNING", progress=0.5), task("SUCCEEDED", output=[OUTPUT])]
    )
    cdn = router.get(OUTPUT).respond(200, content=picture("PNG", (96, 54)))

    result = await provider.generate(make_request())

    request = create.calls.last.request
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-runway-version"] == "2024-11-06"
    assert json.loads(request.content) == {
        "model": "gen4_image",
        "promptText": "A cyclist at a crossroads. Shot: close-up. Lighting: night. Camera: static, locked-off shot.",
        "ratio": "1280:720",
        "seed": 42,
    }
    assert poll.call_count == 3
    for call in poll.calls:
        assert call.request.headers["authorization"] == f"Bearer {KEY}"
        assert call.request.headers["x-runway-version"] == "2024-11-06"
    assert "authorization" not in cdn.calls.last.request.headers
    assert (result.content_type, result.width, result.height, result.seed) == ("image/png", 96, 54, 42)
    assert clock.sleeps == [2.0, 2.0]


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ((1280, 720), "1280:720"),
        ((1920, 1080), "1920:1080"),
        ((720, 1280), "720:1280"),
        ((1024, 1024), "1024:1024"),
        ((1440, 1080), "1440:1080"),
        ((2560, 1080), "1808:768"),
        ((1080, 1920), "1080:1920"),
    ],
)
def test_ratio_is_the_nearest_gen4_image_ratio(size, ratio):
    """Nearest aspect first, then nearest pixel count, among gen4_image's exact ratio strings."""
    assert _ratio(*size) == ratio


def test_prompt_fits_1000_utf16_units_and_drops_the_negative_prompt():
    """Runway counts UTF-16 units; the directions survive the cut; no negative phrasing is sent."""
    body = _build_request(make_request(prompt="😀" * 1000), make_config())
    assert utf16_len(body["promptText"]) <= 1000
    assert body["promptText"].endswith("Camera: static, locked-off shot.")
    assert "blurry" not in json.dumps(body)


def test_no_seed_no_seed_field_and_seeds_wrap_into_runways_range():
    assert "seed" not in _build_request(make_request(seed=None), make_config())
    assert _build_request(make_request(seed=2**32 + 9), make_config())["seed"] == 9


async def test_the_injected_fetch_downloads_the_output(http, router, clock):
    """The app's guarded fetcher gets the output URL; our client only talks to Runway."""
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return picture("JPEG", (40, 40))

    provider = RunwayImageProvider(make_config(), http, fetch=fetch, sleep=clock.sleep, clock=clock.clock)
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task("SUCCEEDED", output=[OUTPUT]))

    result = await provider.generate(make_request())

    assert fetched == [OUTPUT]
    assert result.content_type == "image/jpeg"


async def test_a_transient_poll_failure_is_retried(provider, router):
    """A 503 on a status GET (idempotent) is retried, not fatal to a task that is still running."""
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(side_effect=[httpx.Response(503), task("SUCCEEDED", output=[OUTPUT])])
    router.get(OUTPUT).respond(200, content=picture())

    assert (await provider.generate(make_request())).width == 64


# --- failures -----------------------------------------------------------------------------------------------------


async def test_a_failed_task_is_task_failed_with_runways_reason(provider, router):
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(
        return_value=task("FAILED", failure="Prompt flagged by moderation", failureCode="SAFETY.INPUT.TEXT")
    )

    with pytest.raises(ProviderTaskFailed, match=r"Prompt flagged by moderation \(SAFETY.INPUT.TEXT\)"):
        await provider.generate(make_request())


@pytest.mark.parametrize("status", ["CANCELLED", "CANCELED"])
async def test_a_cancelled_task_is_task_failed(provider, router, status):
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task(status))

    with pytest.raises(ProviderTaskFailed, match="cancelled"):
        await provider.generate(make_request())


async def test_success_without_output_is_a_bad_response(provider, router):
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task("SUCCEEDED", output=[]))

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_the_wait_is_bounded_and_the_task_cancelled(http, router, clock):
    """Past max_wait the generation is given up (not retryable) and DELETEd at Runway so it stops billing."""
    provider = RunwayImageProvider(
        make_config(), http, max_wait=10, poll_interval=2, sleep=clock.sleep, clock=clock.clock
    )
    created(router)
    poll = router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task("RUNNING", progress=0.1))
    delete = router.delete(f"{BASE}/v1/tasks/{TASK}").respond(204)

    with pytest.raises(ProviderTaskFailed, match="not ready within 10 s") as info:
        await provider.generate(make_request())

    assert not info.value.retryable
    assert poll.call_count == 6 and clock.now == 10  # at 0, 2, ... 10 s, never sleeping past the bound
    assert delete.call_count == 1
    assert delete.calls.last.request.headers["x-runway-version"] == "2024-11-06"


async def test_cancelling_generate_cancels_the_task_at_runway(http, router):
    """When the caller cancels generate() while it waits, the Runway task is DELETEd on the way out."""
    sleeping = asyncio.Event()

    async def sleep(_: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()  # until cancelled

    provider = RunwayImageProvider(make_config(), http, sleep=sleep)
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task("PENDING"))
    delete = router.delete(f"{BASE}/v1/tasks/{TASK}").respond(204)

    job = asyncio.create_task(provider.generate(make_request()))
    await asyncio.wait_for(sleeping.wait(), 5)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert delete.call_count == 1


async def test_a_download_over_the_cap_is_refused(http, router, clock):
    provider = RunwayImageProvider(make_config(), http, max_bytes=1000, sleep=clock.sleep, clock=clock.clock)
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").mock(return_value=task("SUCCEEDED", output=[OUTPUT]))
    router.get(OUTPUT).respond(200, content=picture("PNG", (300, 300)) + b"\x00" * 5000)

    with pytest.raises(ProviderBadResponse, match="larger than") as info:
        await provider.generate(make_request())

    assert "_jwt" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "headers", "exc"),
    [
        (400, {"error": "ratio: Invalid enum value"}, {}, ProviderInvalidRequest),
        (401, {"error": "Invalid API key"}, {}, ProviderAuthError),
        (429, {"error": "You have exceeded your daily generation limit"}, {"Retry-After": "30"}, ProviderRateLimited),
        (502, None, {}, ProviderUnavailable),
        (503, {"error": "Service unavailable"}, {}, ProviderUnavailable),
    ],
)
async def test_create_errors_map_onto_the_tree(provider, router, status, body, headers, exc):
    router.post(f"{BASE}/v1/text_to_image").respond(status, json=body, headers=headers)

    with pytest.raises(exc) as info:
        await provider.generate(make_request())

    assert info.value.status_code == status
    if body:
        assert body["error"] in str(info.value)
    if exc is ProviderRateLimited:
        assert info.value.retry_after == 30.0


@pytest.mark.parametrize("status", [400, 401, 429, 500])
async def test_the_key_never_appears_in_an_error(provider, router, status):
    router.post(f"{BASE}/v1/text_to_image").respond(status, json={"error": f"Invalid API key {KEY}"})

    with pytest.raises(ProviderError) as info:
        await provider.generate(make_request())

    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


@pytest.mark.parametrize("response", [httpx.Response(200, text="nope"), httpx.Response(200, json={"no": "id"})])
async def test_unusable_create_answers_are_bad_responses(provider, router, response):
    router.post(f"{BASE}/v1/text_to_image").mock(return_value=response)

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_a_task_without_status_is_a_bad_response(provider, router):
    created(router)
    router.get(f"{BASE}/v1/tasks/{TASK}").respond(200, json={"id": TASK})

    with pytest.raises(ProviderBadResponse):
        await provider.generate(make_request())


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    provider = RunwayImageProvider(make_config(api_key=None), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.generate(make_request())
    assert router.calls.call_count == 0


async def test_satisfies_the_protocol_and_aclose_leaves_the_client_open(provider, http):
    assert isinstance(provider, ImageProvider)
    assert (provider.name, RunwayImageProvider.default_base_url) == ("runway", BASE)
    await provider.aclose()
    assert not http.is_closed


async def test_an_empty_prompt_is_refused_before_sending(provider, router):
    with pytest.raises(ProviderInvalidRequest, match="needs a prompt"):
        await provider.generate(ImageRequest(prompt=""))
    assert router.calls.call_count == 0
