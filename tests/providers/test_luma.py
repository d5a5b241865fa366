"""LumaProvider against respx-mocked Luma Dream Machine endpoints (facts: PROVIDERS.md section 7a)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from providers.base import ImageInput, ProviderConfig, VideoJob, VideoProvider
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.video.luma import LumaProvider, _build_request, _parse_status

BASE = "https://api.lumalabs.ai/dream-machine/v1"
KEY = "luma-0123456789abcdef-secret"
GEN_ID = "9f2c7e1a-4b7d-4c1e-9a51-6d0f1f3c2b11"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PUBLIC_URL = "https://media.example.com/p/1.png"


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "luma", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def make_job(public_url: str | None = PUBLIC_URL, **overrides: Any) -> VideoJob:
    values: dict[str, Any] = {
        "image": ImageInput(data=PNG, content_type="image/png", public_url=public_url),
        "prompt": "A cat walks along a garden wall",
        "negative_prompt": "blurry text",
        "camera_movement": "push_in",
        "shot_size": "close_up",
        "lighting": "golden_hour",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "seed": 42,
    }
    values.update(overrides)
    return VideoJob(**values)


def generation(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": GEN_ID,
        "state": state,
        "failure_reason": None,
        "generation_type": "video",
        "model": "ray-2",
        "created_at": "2026-01-07T01:36:08Z",
        "assets": {"video": None, "image": None, "progress_video": None},
        **extra,
    }


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> LumaProvider:
    return LumaProvider(make_config(), http)


# --- _build_request -----------------------------------------------------------------------------------------------


def test_build_request_maps_the_form_onto_luma_fields():
    """The picture is keyframe frame0 by URL; ratio, "5s", 720p and loop false are fields; the shot form is
    prompt text; no seed is sent (Luma has none)."""
    assert _build_request(make_job(), make_config()) == {
        "model": "ray-2",
        "prompt": "A cat walks along a garden wall. Camera: slow push in. Shot: close-up. Lighting: golden hour. "
        "Avoid: blurry text.",
        "aspect_ratio": "16:9",
        "keyframes": {"frame0": {"type": "image", "url": PUBLIC_URL}},
        "duration": "5s",
        "resolution": "720p",
        "loop": False,
    }


def test_build_request_without_public_url_says_to_set_public_base_url():
    """Luma takes no inline images: without a public URL the job is refused, naming PUBLIC_BASE_URL."""
    with pytest.raises(ProviderInvalidRequest, match="PUBLIC_BASE_URL") as info:
        _build_request(make_job(public_url=None), make_config())
    assert info.value.provider == "luma"


@pytest.mark.parametrize(
    ("aspect", "ratio"),
    [
        ("9:21", "9:21"),
        ("4:3", "4:3"),
        ("1:1", "1:1"),
        ("2:1", "16:9"),
        ("5:4", "4:3"),
        ("junk", "16:9"),
        ("1:0", "16:9"),
    ],
)
def test_build_request_aspect_ratio_is_the_nearest_luma_ratio(aspect, ratio):
    """Luma's ratios pass through; others get the nearest; junk gets 16:9."""
    assert _build_request(make_job(aspect_ratio=aspect), make_config())["aspect_ratio"] == ratio


@pytest.mark.parametrize(("seconds", "duration"), [(2, "5s"), (6.9, "5s"), (7, "9s"), (20, "9s")])
def test_build_request_duration_is_5s_or_9s(seconds, duration):
    """Durations become Luma's "5s" or "9s" strings."""
    assert _build_request(make_job(duration_s=seconds), make_config())["duration"] == duration


def test_build_request_ray_1_6_gets_no_duration_or_resolution():
    """ray-1-6 predates duration/resolution, so neither is sent for it."""
    body = _build_request(make_job(model="ray-1-6"), make_config())
    assert body["model"] == "ray-1-6" and "duration" not in body and "resolution" not in body


def test_build_request_model_comes_from_job_then_config_then_default():
    """job.model wins over config.model, which wins over ray-2."""
    assert _build_request(make_job(), make_config(model="ray-flash-2"))["model"] == "ray-flash-2"
    assert _build_request(make_job(model="ray-2"), make_config(model="ray-flash-2"))["model"] == "ray-2"


# --- _parse_status ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"), [("queued", "queued"), ("dreaming", "generating"), ("pondering", "generating")]
)
def test_parse_status_maps_pending_states(raw, state):
    """queued and dreaming map per PROVIDERS.md; unknown states count as generating; no progress number."""
    status = _parse_status(generation(raw))
    assert (status.status, status.raw_status, status.progress, status.video_url) == (state, raw, None, None)


def test_parse_status_completed_gives_assets_video():
    """completed → completed with assets.video as the URL."""
    status = _parse_status(generation("completed", assets={"video": "https://luma.example/v.mp4"}))
    assert (status.status, status.video_url) == ("completed", "https://luma.example/v.mp4")


def test_parse_status_failed_carries_failure_reason():
    """failed → failed with Luma's failure_reason (or a generic reason when it gave none)."""
    status = _parse_status(generation("failed", failure_reason="Failed to read user input frames"))
    assert (status.status, status.error) == ("failed", "Failed to read user input frames")
    assert _parse_status(generation("failed")).error == "Luma reported the generation failed"


@pytest.mark.parametrize("data", [{"id": GEN_ID}, generation("completed")])
def test_parse_status_unusable_bodies_are_bad_responses(data):
    """No state, or completed without assets.video, is a ProviderBadResponse."""
    with pytest.raises(ProviderBadResponse):
        _parse_status(data)


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol_and_constructs_without_a_key(http):
    """The class is a VideoProvider with its name and defaults; a missing key does not fail construction."""
    provider = LumaProvider(make_config(api_key=None), http)
    assert isinstance(provider, VideoProvider)
    assert (provider.name, LumaProvider.default_base_url) == ("luma", BASE)


async def test_submit_posts_generations_video_with_bearer_auth(provider, router):
    """submit POSTs /generations/video with the Bearer key and the built body, and keeps the generation id."""
    route = router.post(f"{BASE}/generations/video").respond(201, json=generation("queued"))

    task = await provider.submit(make_job())

    assert (task.task_id, task.status) == (GEN_ID, "queued")
    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/generations/video")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == _build_request(make_job(), make_config())


async def test_submit_without_public_url_sends_nothing(provider, router):
    """Without a public URL, submit raises ProviderInvalidRequest naming PUBLIC_BASE_URL and no request leaves."""
    router.post(f"{BASE}/generations/video").respond(201, json=generation("queued"))
    with pytest.raises(ProviderInvalidRequest, match="PUBLIC_BASE_URL"):
        await provider.submit(make_job(public_url=None))
    assert not router.calls


async def test_submit_without_id_is_a_bad_response(provider, router):
    """A create answer without an id is a ProviderBadResponse."""
    router.post(f"{BASE}/generations/video").respond(201, json={"state": "queued"})
    with pytest.raises(ProviderBadResponse):
        await provider.submit(make_job())


async def test_status_gets_the_generation(provider, router):
    """status GETs /generations/{id} with the key and maps the generation object."""
    route = router.get(f"{BASE}/generations/{GEN_ID}").respond(
        200, json=generation("completed", assets={"video": "https://luma.example/v.mp4"})
    )

    status = await provider.status(GEN_ID)

    assert (status.status, status.video_url) == ("completed", "https://luma.example/v.mp4")
    request = route.calls.last.request
    assert (request.method, request.headers["authorization"]) == ("GET", f"Bearer {KEY}")


async def test_status_uses_the_configured_base_url(http, router):
    """Every URL hangs from config.base_url."""
    route = router.get(f"https://luma.proxy.example/v1/generations/{GEN_ID}").respond(200, json=generation("dreaming"))
    status = await LumaProvider(make_config(base_url="https://luma.proxy.example/v1/"), http).status(GEN_ID)
    assert route.called and status.status == "generating"


@pytest.mark.parametrize(
    ("http_status", "body", "exc", "reason"),
    [
        (400, {"detail": "Loop is not supported for keyframes"}, ProviderInvalidRequest, "Loop is not supported"),
        (400, {"detail": "Prompt is required"}, ProviderInvalidRequest, "Prompt is required"),
        (
            422,
            {"detail": [{"loc": ["body", "aspect_ratio"], "msg": "Input should be '1:1', '16:9'"}]},
            ProviderInvalidRequest,
            "Input should be",
        ),
        (401, {"detail": "Invalid API key"}, ProviderAuthError, "Invalid API key"),
        (403, {"detail": "Forbidden"}, ProviderAuthError, "Forbidden"),
        (500, {"detail": "Internal Server Error"}, ProviderUnavailable, "Internal Server Error"),
        (503, None, ProviderUnavailable, "HTTP 503"),
    ],
)
async def test_http_errors_map_with_lumas_detail(provider, router, http_status, body, exc, reason):
    """Luma's {"detail": ...} (string or validation list) is the message; the class follows the HTTP status."""
    route = router.post(f"{BASE}/generations/video")
    if body is None:
        route.respond(http_status, text="Service Unavailable")
    else:
        route.respond(http_status, json=body)
    with pytest.raises(exc) as info:
        await provider.submit(make_job())
    assert reason in str(info.value) and KEY not in str(info.value)
    assert info.value.status_code == http_status


async def test_429_with_retry_after_sets_retry_after(provider, router):
    """A 429 carries Retry-After seconds as ProviderRateLimited.retry_after."""
    router.get(f"{BASE}/generations/{GEN_ID}").respond(
        429, json={"detail": "Too many requests"}, headers={"Retry-After": "30"}
    )
    with pytest.raises(ProviderRateLimited, match="Too many requests") as info:
        await provider.status(GEN_ID)
    assert info.value.retry_after == 30.0


async def test_transport_failure_is_unavailable_and_chained(provider, router):
    """A connection error becomes ProviderUnavailable raised from the httpx error."""
    router.get(f"{BASE}/generations/{GEN_ID}").mock(side_effect=httpx.ConnectError("down"))
    with pytest.raises(ProviderUnavailable) as info:
        await provider.status(GEN_ID)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_the_key_is_scrubbed_even_when_luma_echoes_it(provider, router):
    """If Luma's detail repeats the key, our error message does not."""
    router.post(f"{BASE}/generations/video").respond(401, json={"detail": f"key {KEY} is not valid"})
    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    """Without a key, submit (even with no public URL) and status raise ProviderNotConfigured; nothing is sent."""
    provider = LumaProvider(make_config(api_key=None), http)
    for job in (make_job(), make_job(public_url=None)):
        with pytest.raises(ProviderNotConfigured):
            await provider.submit(job)
    with pytest.raises(ProviderNotConfigured):
        await provider.status(GEN_ID)
    assert not router.calls


async def test_cancel_is_false_and_sends_nothing(provider, router):
    """Luma has no cancel API (DELETE only removes the record): cancel returns False without a request."""
    assert await provider.cancel(GEN_ID) is False
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed


# --- callbacks (PROVIDERS.md 16) -----------------------------------------------------------------------------------

CALLBACK = "https://studio.example.com/api/callbacks/luma"


def test_build_request_carries_the_callback_url_only_when_given():
    """``callback_url`` in the create body, exactly the URL given; absent without one."""
    assert _build_request(make_job(), make_config(), CALLBACK)["callback_url"] == CALLBACK
    assert "callback_url" not in _build_request(make_job(), make_config())


async def test_submit_sends_the_configured_callback_url(http, router):
    """A config with a callback URL (PUBLIC_BASE_URL set) sends it in the create body, the rest unchanged."""
    route = router.post(f"{BASE}/generations/video").respond(201, json=generation("queued"))
    await LumaProvider(make_config(callback_url=CALLBACK), http).submit(make_job())
    body = json.loads(route.calls.last.request.content)
    assert body == {**_build_request(make_job(), make_config()), "callback_url": CALLBACK}
