"""RunwayProvider against respx-mocked Runway endpoints (facts: PROVIDERS.md section 1)."""

from __future__ import annotations

import base64
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
from providers.video.runway import RunwayProvider, _build_request, _compose_prompt, _parse_status, _utf16_len

BASE = "https://api.dev.runwayml.com"
KEY = "key_" + "0123456789abcdef" * 8
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "runway", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def make_job(**overrides: Any) -> VideoJob:
    values: dict[str, Any] = {
        "image": ImageInput(data=PNG, content_type="image/png"),
        "prompt": "A cat walks along a garden wall",
        "camera_movement": "push_in",
        "shot_size": "close_up",
        "lighting": "golden_hour",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "seed": 42,
    }
    values.update(overrides)
    return VideoJob(**values)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> RunwayProvider:
    return RunwayProvider(make_config(), http)


# --- the outgoing request -----------------------------------------------------------------------------------------


async def test_submit_sends_exact_url_headers_and_camelcase_body(provider, router):
    """submit POSTs /v1/image_to_video with Bearer + X-Runway-Version and the camelCase gen4_turbo body."""
    route = router.post("/v1/image_to_video").respond(200, json={"id": "17f2-task"})

    task = await provider.submit(make_job())

    assert task.task_id == "17f2-task"
    assert task.status == "queued"
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/v1/image_to_video"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-runway-version"] == "2024-11-06"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gen4_turbo",
        "promptImage": PNG_URI,
        "promptText": "A cat walks along a garden wall. Camera: slow push in. Shot: close-up. Lighting: golden hour.",
        "ratio": "1280:720",
        "duration": 5,
        "seed": 42,
    }


async def test_submit_sends_public_https_url_instead_of_inline_image(provider, router):
    """With a public HTTPS URL for the picture, promptImage is that URL, not a data URI."""
    route = router.post("/v1/image_to_video").respond(200, json={"id": "t"})
    image = ImageInput(data=PNG, content_type="image/png", public_url="https://media.example.com/p/1.png")

    await provider.submit(make_job(image=image))

    assert json.loads(route.calls.last.request.content)["promptImage"] == "https://media.example.com/p/1.png"


def test_build_request_inlines_image_when_public_url_is_not_https():
    """Runway fetches HTTPS URLs only, so a plain-http public URL falls back to the data URI."""
    image = ImageInput(data=PNG, content_type="image/png", public_url="http://localhost:8000/media/1.png")

    assert _build_request(make_job(image=image), make_config())["promptImage"] == PNG_URI


@pytest.mark.parametrize(
    ("aspect", "ratio"),
    [
        ("16:9", "1280:720"),
        ("9:16", "720:1280"),
        ("4:3", "1104:832"),
        ("3:4", "832:1104"),
        ("1:1", "960:960"),
        ("21:9", "1584:672"),
        ("832:1104", "832:1104"),
        ("nonsense", "1280:720"),
        ("1:0", "1280:720"),
    ],
)
def test_build_request_maps_aspect_ratio_to_gen4_ratio_strings(aspect, ratio):
    """Each form aspect ratio becomes the nearest of gen4_turbo's exact ratio strings; junk gets the default."""
    assert _build_request(make_job(aspect_ratio=aspect), make_config())["ratio"] == ratio


@pytest.mark.parametrize(
    ("model", "seconds", "duration"),
    [
        ("gen4_turbo", 1, 5),
        ("gen4_turbo", 7.5, 5),
        ("gen4_turbo", 8, 10),
        ("gen4_turbo", 30, 10),
        ("gen4.5", 3, 3),
        ("gen4.5", 30, 10),
    ],
)
def test_build_request_clamps_duration_to_what_the_model_accepts(model, seconds, duration):
    """duration_s is clamped to the model's accepted integer durations (gen4_turbo: 5 or 10)."""
    body = _build_request(make_job(duration_s=seconds, model=model), make_config())
    assert body["model"] == model
    assert body["duration"] == duration


def test_build_request_model_comes_from_job_then_config_then_default():
    """The job's model wins over the configured one, which wins over gen4_turbo."""
    assert _build_request(make_job(), make_config(model="gen4.5"))["model"] == "gen4.5"
    assert _build_request(make_job(model="gen4_turbo"), make_config(model="gen4.5"))["model"] == "gen4_turbo"


def test_build_request_omits_seed_and_negative_prompt():
    """No seed → no seed field; negative_prompt has no Runway field and is not pushed into promptText."""
    body = _build_request(make_job(seed=None, negative_prompt="blurry, text"), make_config())
    assert "seed" not in body
    assert "blurry" not in body["promptText"]
    assert not any("negative" in key.lower() for key in body)


def test_build_request_without_form_or_prompt_sends_no_prompt_text():
    """An empty prompt and no shot form sends no promptText at all (it is optional)."""
    body = _build_request(make_job(prompt="  ", camera_movement=None, shot_size=None, lighting=None), make_config())
    assert "promptText" not in body


def test_compose_prompt_keeps_directions_within_1000_utf16_units():
    """An over-long prompt is cut so prompt + shot directions fit 1000 UTF-16 units, directions intact."""
    directions = "Camera: slow push in. Shot: close-up."
    for filler in ("a" * 2000, "😀" * 1000):  # astral characters count twice in UTF-16
        text = _compose_prompt(filler, directions)
        assert _utf16_len(text) <= 1000
        assert text.endswith(directions)


# --- status mapping -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "PENDING"}, ("queued", None, None, None)),
        ({"status": "THROTTLED"}, ("queued", None, None, None)),
        ({"status": "RUNNING", "progress": 0.42}, ("generating", 42, None, None)),
        ({"status": "RUNNING", "progress": 1}, ("generating", 100, None, None)),
        ({"status": "RUNNING"}, ("generating", None, None, None)),
        (
            {"status": "SUCCEEDED", "output": ["https://cdn.example/v.mp4?_jwt=x"]},
            ("completed", None, "https://cdn.example/v.mp4?_jwt=x", None),
        ),
        (
            {"status": "SUCCEEDED", "output": []},
            ("failed", None, None, "Runway reported success but returned no video"),
        ),
        (
            {"status": "FAILED", "failure": "Prompt flagged", "failureCode": "SAFETY.INPUT.TEXT"},
            ("failed", None, None, "Prompt flagged (SAFETY.INPUT.TEXT)"),
        ),
        ({"status": "FAILED"}, ("failed", None, None, "Runway reported the task failed")),
        ({"status": "CANCELLED"}, ("cancelled", None, None, None)),
        ({"status": "CANCELED"}, ("cancelled", None, None, None)),
        ({"status": "WARMING_UP"}, ("generating", None, None, None)),
    ],
)
async def test_status_maps_every_runway_status(provider, router, body, expected):
    """GET /v1/tasks/{id} maps each Runway status (progress float 0-1 → int 0-100) onto ours; unknown → generating."""
    route = router.get("/v1/tasks/17f2-task").respond(
        200, json={"id": "17f2-task", "createdAt": "2026-11-20T07:06:07Z", **body}
    )

    status = await provider.status("17f2-task")

    assert (status.status, status.progress, status.video_url, status.error) == expected
    assert status.raw_status == body["status"]
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-runway-version"] == "2024-11-06"


def test_parse_status_without_status_is_a_bad_response():
    """A task body without ``status`` is not guessed at."""
    with pytest.raises(ProviderBadResponse):
        _parse_status({"id": "x"})


async def test_cancel_sends_delete_and_returns_true(provider, router):
    """cancel DELETEs /v1/tasks/{id} (204, no body) with both headers and reports success."""
    route = router.delete("/v1/tasks/17f2-task").respond(204)

    assert await provider.cancel("17f2-task") is True
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-runway-version"] == "2024-11-06"


# --- errors -------------------------------------------------------------------------------------------------------


async def test_400_becomes_invalid_request_with_runways_reason(provider, router):
    """A 400 ``{"error": ...}`` becomes ProviderInvalidRequest carrying Runway's human reason."""
    router.post("/v1/image_to_video").respond(400, json={"error": "promptImage: invalid data URI", "issues": []})

    with pytest.raises(ProviderInvalidRequest) as info:
        await provider.submit(make_job())

    assert "promptImage: invalid data URI" in str(info.value)
    assert info.value.status_code == 400
    assert info.value.provider == "runway"
    assert not info.value.retryable


async def test_401_becomes_auth_error_without_leaking_the_key(provider, router):
    """A 401 is ProviderAuthError; even if Runway echoes the key, the message never contains it."""
    router.post("/v1/image_to_video").respond(401, json={"error": f"Invalid API key {KEY}"})

    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())

    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.args)


async def test_429_daily_quota_is_rate_limited_with_retry_after(provider, router):
    """A 429 (daily generation cap) is retryable ProviderRateLimited with the Retry-After seconds."""
    router.post("/v1/image_to_video").respond(
        429, json={"error": "You have exceeded your daily generation limit"}, headers={"Retry-After": "30"}
    )

    with pytest.raises(ProviderRateLimited) as info:
        await provider.submit(make_job())

    assert info.value.retryable
    assert info.value.retry_after == 30.0
    assert "daily generation limit" in str(info.value)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
async def test_5xx_is_unavailable(provider, router, code):
    """5xx (load shedding), JSON or not, is retryable ProviderUnavailable."""
    router.get("/v1/tasks/t").respond(code, text="<html>bad gateway</html>")

    with pytest.raises(ProviderUnavailable) as info:
        await provider.status("t")

    assert info.value.retryable
    assert info.value.status_code == code


async def test_404_on_status_is_invalid_request(provider, router):
    """An unknown (or deleted) task id is a non-retryable ProviderInvalidRequest."""
    router.get("/v1/tasks/gone").respond(404, json={"error": "Task not found"})

    with pytest.raises(ProviderInvalidRequest, match="Task not found"):
        await provider.status("gone")


async def test_timeout_becomes_unavailable_with_cause(provider, router):
    """A transport timeout is wrapped once as ProviderUnavailable, chained to the httpx exception."""
    router.post("/v1/image_to_video").mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(ProviderUnavailable) as info:
        await provider.submit(make_job())

    assert isinstance(info.value.__cause__, httpx.ConnectTimeout)


@pytest.mark.parametrize("response", [httpx.Response(200, text="not json"), httpx.Response(200, json={"no": "id"})])
async def test_unparseable_create_answer_is_bad_response(provider, router, response):
    """A 2xx create answer that is not JSON, or has no id, is ProviderBadResponse."""
    router.post("/v1/image_to_video").mock(return_value=response)

    with pytest.raises(ProviderBadResponse):
        await provider.submit(make_job())


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    """Without a key the constructor still works; every call raises ProviderNotConfigured before any request."""
    provider = RunwayProvider(make_config(api_key=None), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.submit(make_job())
    with pytest.raises(ProviderNotConfigured):
        await provider.status("t")
    with pytest.raises(ProviderNotConfigured):
        await provider.cancel("t")
    assert router.calls.call_count == 0


# --- the adapter's shape ------------------------------------------------------------------------------------------


async def test_satisfies_protocol_and_aclose_leaves_shared_client_open(provider, http):
    """RunwayProvider is a VideoProvider with its name/defaults, and aclose does not close the app's client."""
    assert isinstance(provider, VideoProvider)
    assert (RunwayProvider.name, RunwayProvider.default_base_url) == ("runway", BASE)
    assert RunwayProvider.default_model == "gen4_turbo"
    await provider.aclose()
    assert not http.is_closed


async def test_base_url_override_is_honoured(http):
    """Every URL hangs from config.base_url (proxies, tests)."""
    provider = RunwayProvider(make_config(base_url="https://proxy.example/runway/"), http)
    with respx.mock() as mock:
        route = mock.get("https://proxy.example/runway/v1/tasks/t").respond(200, json={"status": "PENDING"})
        await provider.status("t")
    assert route.called
