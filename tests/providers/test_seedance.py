"""SeedanceProvider against respx-mocked Volcengine Ark endpoints (facts: PROVIDERS.md section 4)."""

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
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.video.seedance import PROMPT_LIMIT, SeedanceProvider, _build_request, _parse_status

BASE = "https://ark.cn-beijing.volces.com/api/v3"
TASKS = f"{BASE}/contents/generations/tasks"
KEY = "ark-0123456789abcdef-secret"
TASK_ID = "cgt-20250331175019-68d9t"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PUBLIC_URL = "https://media.example.com/p/1.png"


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "seedance", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def make_job(**overrides: Any) -> VideoJob:
    values: dict[str, Any] = {
        "image": ImageInput(data=PNG, content_type="image/png"),
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


def ark_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "param": "", "type": "BadRequest"}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> SeedanceProvider:
    return SeedanceProvider(make_config(), http)


# --- _build_request -----------------------------------------------------------------------------------------------


def test_build_request_puts_shot_form_and_text_commands_in_the_prompt():
    """The default (1.0 pro) model gets prompt + shot sentences + --ratio/--duration/--seed/--camerafixed text
    commands, and the picture as a first_frame data URI."""
    assert _build_request(make_job(), make_config()) == {
        "model": "doubao-seedance-1-0-pro-250528",
        "content": [
            {
                "type": "text",
                "text": "A cat walks along a garden wall. Camera: slow push in. Shot: close-up. "
                "Lighting: golden hour. Avoid: blurry text. --ratio 16:9 --duration 5 --seed 42 --camerafixed false",
            },
            {"type": "image_url", "image_url": {"url": PNG_URI}, "role": "first_frame"},
        ],
    }


@pytest.mark.parametrize("model", ["doubao-seedance-1-5-pro-251215", "doubao-seedance-2-0-260128", "seedance-1-5-pro"])
def test_build_request_sends_top_level_fields_to_newer_models(model):
    """Seedance 1.5 pro / 2.0 (Ark and BytePlus ids) get ratio, duration, seed and camera_fixed as body fields,
    and no text commands."""
    body = _build_request(make_job(model=model), make_config())
    assert body["model"] == model
    assert (body["ratio"], body["duration"], body["seed"], body["camera_fixed"]) == ("16:9", 5, 42, False)
    assert "--" not in body["content"][0]["text"]


def test_build_request_static_camera_is_the_camerafixed_flag_not_a_sentence():
    """A static camera becomes --camerafixed true; the prompt does not also describe the camera."""
    text = _build_request(make_job(camera_movement="static"), make_config())["content"][0]["text"]
    assert text.endswith("--camerafixed true")
    assert "Camera:" not in text


def test_build_request_omits_seed_and_camerafixed_when_the_form_has_none():
    """Without a seed or a camera move, neither --seed nor --camerafixed is sent."""
    text = _build_request(make_job(seed=None, camera_movement=None), make_config())["content"][0]["text"]
    assert text.endswith("--ratio 16:9 --duration 5")


@pytest.mark.parametrize(
    ("aspect", "ratio"), [("9:16", "9:16"), ("21:9", "21:9"), ("3:4", "3:4"), ("2:1", "adaptive"), ("x", "adaptive")]
)
def test_build_request_ratio_is_ark_value_or_adaptive(aspect, ratio):
    """Ark's ratio strings pass through; anything else lets Ark follow the picture (adaptive)."""
    text = _build_request(make_job(aspect_ratio=aspect), make_config())["content"][0]["text"]
    assert f"--ratio {ratio} " in text


@pytest.mark.parametrize(("seconds", "duration"), [(1, 2), (7.4, 7), (10, 10), (30, 12)])
def test_build_request_clamps_duration_to_2_to_12_seconds(seconds, duration):
    """The duration is whole seconds within Seedance's 2-12."""
    body = _build_request(make_job(duration_s=seconds, model="doubao-seedance-1-5-pro-251215"), make_config())
    assert body["duration"] == duration


@pytest.mark.parametrize(("seed", "sent"), [(-1, -1), (0, 0), (2**32 - 1, 2**32 - 1), (2**32 + 5, 5), (-7, 2**32 - 7)])
def test_build_request_keeps_seed_in_arks_range(seed, sent):
    """Seeds outside [-1, 2^32-1] are wrapped into it rather than refused."""
    body = _build_request(make_job(seed=seed, model="doubao-seedance-2-0-260128"), make_config())
    assert body["seed"] == sent


def test_build_request_sends_a_public_url_as_is():
    """With a public URL the first frame is that URL, not a data URI."""
    image = ImageInput(data=PNG, content_type="image/png", public_url=PUBLIC_URL)
    assert _build_request(make_job(image=image), make_config())["content"][1]["image_url"] == {"url": PUBLIC_URL}


def test_build_request_model_comes_from_job_then_config_then_default():
    """job.model wins over config.model, which wins over the default model id."""
    assert _build_request(make_job(), make_config(model="ep-2025-x"))["model"] == "ep-2025-x"
    assert _build_request(make_job(model="m-job"), make_config(model="ep-2025-x"))["model"] == "m-job"


def test_build_request_keeps_text_within_the_limit_and_keeps_the_commands():
    """A very long prompt is shortened; the shot sentences and text commands survive."""
    text = _build_request(make_job(prompt="word " * 2000), make_config())["content"][0]["text"]
    assert len(text) <= PROMPT_LIMIT
    assert "Lighting: golden hour." in text and text.endswith("--camerafixed false")


# --- _parse_status ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("queued", "queued"),
        ("running", "generating"),
        ("failed", "failed"),
        ("expired", "failed"),
        ("cancelled", "cancelled"),
        ("some_new_state", "generating"),
    ],
)
def test_parse_status_maps_every_ark_status(raw, state):
    """Each Ark status maps per PROVIDERS.md (expired is a failure); unknown ones count as generating."""
    status = _parse_status({"id": TASK_ID, "status": raw})
    assert (status.status, status.raw_status, status.progress, status.video_url) == (state, raw, None, None)


def test_parse_status_succeeded_gives_the_video_url():
    """succeeded → completed with content.video_url; Ark gives no progress number."""
    status = _parse_status(
        {"id": TASK_ID, "status": "succeeded", "content": {"video_url": "https://tos.example/v.mp4"}, "error": None}
    )
    assert (status.status, status.video_url, status.progress) == ("completed", "https://tos.example/v.mp4", None)


def test_parse_status_failed_carries_arks_reason_and_code():
    """A failed task's error.message and error.code become the status error."""
    status = _parse_status(
        {"status": "failed", "error": {"code": "OutputVideoSensitiveContentDetected", "message": "risky output"}}
    )
    assert status.error == "risky output (OutputVideoSensitiveContentDetected)"


def test_parse_status_expired_without_error_still_explains():
    """An expired task without an error body gets a reason saying it expired."""
    assert _parse_status({"status": "expired", "error": None}).error == "the task expired before it finished"


@pytest.mark.parametrize("data", [{"id": TASK_ID}, {"status": "succeeded", "content": {}}])
def test_parse_status_unusable_bodies_are_bad_responses(data):
    """No status, or success without a video URL, is a ProviderBadResponse."""
    with pytest.raises(ProviderBadResponse):
        _parse_status(data)


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol_and_constructs_without_a_key(http):
    """The class is a VideoProvider with its name and defaults, and a missing key does not fail construction."""
    provider = SeedanceProvider(make_config(api_key=None), http)
    assert isinstance(provider, VideoProvider)
    assert (provider.name, SeedanceProvider.default_base_url) == ("seedance", BASE)


async def test_submit_posts_the_task_with_bearer_auth(provider, router):
    """submit POSTs /contents/generations/tasks with the Bearer key and the built JSON body; the cgt- id is kept."""
    route = router.post(TASKS).respond(200, json={"id": TASK_ID})

    task = await provider.submit(make_job())

    assert (task.task_id, task.status) == (TASK_ID, "queued")
    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", TASKS)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == _build_request(make_job(), make_config())


async def test_submit_uses_the_configured_base_url(http, router):
    """Every URL hangs from config.base_url (e.g. BytePlus's host)."""
    byteplus = "https://ark.ap-southeast.bytepluses.com/api/v3"
    route = router.post(f"{byteplus}/contents/generations/tasks").respond(200, json={"id": TASK_ID})
    await SeedanceProvider(make_config(base_url=byteplus + "/"), http).submit(make_job())
    assert route.called


async def test_submit_without_task_id_is_a_bad_response(provider, router):
    """A 200 with no id is a ProviderBadResponse."""
    router.post(TASKS).respond(200, json={})
    with pytest.raises(ProviderBadResponse):
        await provider.submit(make_job())


async def test_status_gets_the_task_and_maps_it(provider, router):
    """status GETs /contents/generations/tasks/{id} with the key and returns the mapped status and URL."""
    route = router.get(f"{TASKS}/{TASK_ID}").respond(
        200,
        json={
            "id": TASK_ID,
            "model": "doubao-seedance-1-0-pro-250528",
            "status": "succeeded",
            "content": {"video_url": "https://tos.example/v.mp4"},
            "error": None,
            "created_at": 1743414619,
            "updated_at": 1743414673,
        },
    )

    status = await provider.status(TASK_ID)

    assert (status.status, status.video_url) == ("completed", "https://tos.example/v.mp4")
    request = route.calls.last.request
    assert (request.method, request.headers["authorization"]) == ("GET", f"Bearer {KEY}")


@pytest.mark.parametrize(
    ("http_status", "code", "exc"),
    [
        (400, "InvalidParameter", ProviderInvalidRequest),
        (400, "MissingParameter", ProviderInvalidRequest),
        (400, "InputTextSensitiveContentDetected", ProviderInvalidRequest),
        (401, "AuthenticationError", ProviderAuthError),
        (403, "AccessDenied", ProviderAuthError),
        (403, "AccountOverdueError", ProviderQuotaExceeded),
        (404, "InvalidEndpointOrModel.NotFound", ProviderInvalidRequest),
        (429, "RateLimitExceeded.EndpointRPMExceeded", ProviderRateLimited),
        (429, "QuotaExceeded", ProviderQuotaExceeded),
        (500, "InternalServiceError", ProviderUnavailable),
        (503, "ServerOverloaded", ProviderUnavailable),
    ],
)
async def test_ark_error_bodies_map_onto_the_error_tree(provider, router, http_status, code, exc):
    """Ark's {"error": {code, message}} envelope becomes the right error, with Ark's reason and code, no key."""
    router.post(TASKS).respond(http_status, json=ark_error(code, f"{code} happened. Request ID: 2025x"))

    with pytest.raises(exc) as info:
        await provider.submit(make_job())

    message = str(info.value)
    assert f"{code} happened" in message and code in message and KEY not in message
    assert (info.value.provider, info.value.status_code) == ("seedance", http_status)


async def test_429_with_retry_after_sets_retry_after(provider, router):
    """A 429 rate limit carries Retry-After seconds as ProviderRateLimited.retry_after and is retryable."""
    router.get(f"{TASKS}/{TASK_ID}").respond(
        429, json=ark_error("RateLimitExceeded.EndpointTPMExceeded", "slow down"), headers={"Retry-After": "7"}
    )
    with pytest.raises(ProviderRateLimited) as info:
        await provider.status(TASK_ID)
    assert info.value.retry_after == 7.0 and info.value.retryable


async def test_a_non_json_gateway_error_is_unavailable(provider, router):
    """An HTML 502 from a gateway is ProviderUnavailable naming the HTTP status."""
    router.get(f"{TASKS}/{TASK_ID}").respond(502, text="<html>Bad Gateway</html>")
    with pytest.raises(ProviderUnavailable, match="HTTP 502"):
        await provider.status(TASK_ID)


async def test_transport_failure_is_unavailable_and_chained(provider, router):
    """A connection error becomes ProviderUnavailable raised from the httpx error."""
    router.post(TASKS).mock(side_effect=httpx.ConnectError("boom"))
    with pytest.raises(ProviderUnavailable) as info:
        await provider.submit(make_job())
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_the_key_is_scrubbed_even_when_ark_echoes_it(provider, router):
    """If Ark's message repeats the key, our error message does not."""
    router.post(TASKS).respond(401, json=ark_error("AuthenticationError", f"the API key {KEY} is invalid"))
    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    """Without a key, submit/status/cancel raise ProviderNotConfigured and no request leaves."""
    provider = SeedanceProvider(make_config(api_key=None), http)
    for call in (provider.submit(make_job()), provider.status(TASK_ID), provider.cancel(TASK_ID)):
        with pytest.raises(ProviderNotConfigured):
            await call
    assert not router.calls


async def test_cancel_deletes_the_queued_task(provider, router):
    """cancel sends DELETE /contents/generations/tasks/{id} with the key and reports True."""
    route = router.delete(f"{TASKS}/{TASK_ID}").respond(200, json={})
    assert await provider.cancel(TASK_ID) is True
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("http_status", [400, 404, 409])
async def test_cancel_refused_for_a_running_task_is_false(provider, router, http_status):
    """Ark cancels only queued tasks: a 4xx refusal means "could not cancel" (False), not an exception."""
    router.delete(f"{TASKS}/{TASK_ID}").respond(
        http_status, json=ark_error("InvalidParameter", "task status running cannot be cancelled")
    )
    assert await provider.cancel(TASK_ID) is False


@pytest.mark.parametrize(("http_status", "exc"), [(401, ProviderAuthError), (500, ProviderUnavailable)])
async def test_cancel_still_raises_real_errors(provider, router, http_status, exc):
    """Auth and server errors on cancel are raised, not mistaken for a refusal."""
    router.delete(f"{TASKS}/{TASK_ID}").respond(http_status, json=ark_error("X", "nope"))
    with pytest.raises(exc):
        await provider.cancel(TASK_ID)


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed


# --- callbacks (PROVIDERS.md 16) -----------------------------------------------------------------------------------

CALLBACK = "https://studio.example.com/api/callbacks/seedance"


def test_build_request_carries_the_callback_url_only_when_given():
    """``callback_url`` in the create body, exactly the URL given; absent without one."""
    assert _build_request(make_job(), make_config(), CALLBACK)["callback_url"] == CALLBACK
    assert "callback_url" not in _build_request(make_job(), make_config())


async def test_submit_sends_the_configured_callback_url(http, router):
    """A config with a callback URL (PUBLIC_BASE_URL set) sends it in the create body, the rest unchanged."""
    route = router.post(TASKS).respond(200, json={"id": TASK_ID})
    await SeedanceProvider(make_config(callback_url=CALLBACK), http).submit(make_job())
    body = json.loads(route.calls.last.request.content)
    assert body == {**_build_request(make_job(), make_config()), "callback_url": CALLBACK}
