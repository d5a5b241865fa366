"""KlingProvider against respx-mocked Kling endpoints (facts: PROVIDERS.md section 2)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
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
from providers.video.kling import KlingProvider, _build_request, _compose_prompt, _parse_status

BASE = "https://api-singapore.klingai.com"
ACCESS_KEY = "ak-0123456789abcdef0123456789abcdef"
SECRET_KEY = "sk-fedcba9876543210fedcba9876543210"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
NOW = 1_800_000_000.0
CREATE = "/v1/videos/image2video"


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "kling", "base_url": BASE, "api_key": ACCESS_KEY, "secret_key": SECRET_KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def make_job(**overrides: Any) -> VideoJob:
    values: dict[str, Any] = {
        "image": ImageInput(data=PNG, content_type="image/png"),
        "prompt": "The girl turns and smiles",
        "negative_prompt": "blurry, watermark",
        "camera_movement": "push_in",
        "shot_size": "close_up",
        "lighting": "golden_hour",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "seed": 7,
    }
    values.update(overrides)
    return VideoJob(**values)


def envelope(data: Any, code: int = 0, message: str = "SUCCEED") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "req-1", "data": data}


def bearer(request: httpx.Request) -> str:
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(http: httpx.AsyncClient, clock: FakeClock) -> KlingProvider:
    return KlingProvider(make_config(), http, clock=clock)


def created(task_id: str = "867283741759111202") -> httpx.Response:
    return httpx.Response(200, json=envelope({"task_id": task_id, "task_status": "submitted", "created_at": 1}))


# --- the outgoing request -----------------------------------------------------------------------------------------


async def test_submit_sends_exact_url_headers_and_body(provider, router):
    """submit POSTs /v1/videos/image2video with a Bearer JWT and Kling's body: bare base64, string duration."""
    route = router.post(CREATE).mock(return_value=created())

    task = await provider.submit(make_job())

    assert task.task_id == "867283741759111202"
    assert task.status == "queued"
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}{CREATE}"
    assert request.headers["content-type"] == "application/json"
    assert claims(bearer(request))["iss"] == ACCESS_KEY
    assert json.loads(request.content) == {
        "model_name": "kling-v2-6",
        "image": base64.b64encode(PNG).decode(),
        "prompt": "The girl turns and smiles. Camera: slow push in. Shot: close-up. Lighting: golden hour.",
        "negative_prompt": "blurry, watermark",
        "duration": "5",
        "mode": "std",
    }


async def test_submit_sends_public_url_when_set(provider, router):
    """With a public URL for the picture, ``image`` is that URL instead of base64."""
    route = router.post(CREATE).mock(return_value=created())
    image = ImageInput(data=PNG, content_type="image/png", public_url="http://media.example.com/p/1.png")

    await provider.submit(make_job(image=image))

    assert json.loads(route.calls.last.request.content)["image"] == "http://media.example.com/p/1.png"


def test_build_request_inline_image_has_no_data_uri_prefix():
    """Kling wants raw base64: a ``data:`` prefix is explicitly wrong."""
    image = _build_request(make_job(), make_config())["image"]
    assert not image.startswith("data:")
    assert base64.b64decode(image) == PNG


def test_build_request_sends_no_aspect_ratio_or_seed():
    """image2video has no aspect ratio (follows the picture) and no seed: neither is sent."""
    body = _build_request(make_job(aspect_ratio="9:16", seed=3), make_config())
    assert not {"aspect_ratio", "seed", "cfg_scale", "camera_control"} & body.keys()


@pytest.mark.parametrize(
    ("movement", "axis", "value"),
    [
        ("push_in", "zoom", -5),
        ("pull_out", "zoom", 5),
        ("pan_left", "tilt", -5),
        ("pan_right", "tilt", 5),
        ("tilt_up", "pan", 5),
        ("tilt_down", "pan", -5),
        ("crane_up", "vertical", 5),
        ("crane_down", "vertical", -5),
    ],
)
def test_camera_movement_becomes_simple_camera_control_on_kling_v1_5(movement, axis, value):
    """On kling-v1-5 (pro, 5 s) a movement becomes camera_control ``simple`` with exactly one non-zero axis,
    and the camera sentence leaves the prompt."""
    body = _build_request(make_job(camera_movement=movement, model="kling-v1-5"), make_config())

    config = {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 0} | {axis: value}
    assert body["camera_control"] == {"type": "simple", "config": config}
    assert body["mode"] == "pro"
    assert "Camera:" not in body["prompt"]
    assert body["prompt"].endswith("Shot: close-up. Lighting: golden hour.")


@pytest.mark.parametrize(
    ("model", "movement", "seconds"),
    [("kling-v1-5", "orbit_left", 5), ("kling-v1-5", "push_in", 10), ("kling-v2-6", "push_in", 5)],
)
def test_camera_movement_goes_into_prompt_where_no_control_applies(model, movement, seconds):
    """Without a matching control (movement, model or duration unsupported) the camera goes into the prompt."""
    body = _build_request(make_job(camera_movement=movement, model=model, duration_s=seconds), make_config())

    assert "camera_control" not in body
    assert body["mode"] == "std"
    assert "Camera: " in body["prompt"]


@pytest.mark.parametrize(
    ("model", "seconds", "duration"),
    [
        ("kling-v2-6", 1, "5"),
        ("kling-v2-6", 7.5, "5"),
        ("kling-v2-6", 8, "10"),
        ("kling-v2-6", 30, "10"),
        ("kling-v3", 1, "3"),
        ("kling-v3", 12, "12"),
        ("kling-v3", 30, "15"),
    ],
)
def test_duration_is_a_clamped_string(model, seconds, duration):
    """duration is a string, clamped to "5"/"10" (or "3"…"15" on the v3 family)."""
    assert _build_request(make_job(duration_s=seconds, model=model), make_config())["duration"] == duration


def test_build_request_model_comes_from_job_then_config_then_default():
    """The job's model wins over the configured one, which wins over kling-v2-6."""
    assert _build_request(make_job(), make_config(model="kling-v2-1"))["model_name"] == "kling-v2-1"
    assert _build_request(make_job(model="kling-v3"), make_config(model="kling-v2-1"))["model_name"] == "kling-v3"


def test_prompts_stay_within_2500_characters():
    """An over-long prompt is cut to fit 2500 characters with the shot directions kept; so is negative_prompt."""
    body = _build_request(make_job(prompt="x" * 5000, negative_prompt="y" * 5000), make_config())
    assert len(body["prompt"]) <= 2500
    assert body["prompt"].endswith("Lighting: golden hour.")
    assert len(body["negative_prompt"]) == 2500
    assert _compose_prompt("short", "") == "short"


# --- the JWT ------------------------------------------------------------------------------------------------------


async def test_jwt_is_hs256_with_iss_exp_and_nbf_in_the_past(provider, router):
    """The Bearer token is an HS256 JWT signed with the secret key: iss = access key, exp = now+1800, nbf = now-5."""
    route = router.get(f"{CREATE}/1").respond(200, json=envelope({"task_id": "1", "task_status": "processing"}))

    await provider.status("1")

    token = bearer(route.calls.last.request)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims(token) == {"iss": ACCESS_KEY, "exp": int(NOW) + 1800, "nbf": int(NOW) - 5}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "wrong-secret-wrong-secret-wrong-secret", algorithms=["HS256"], options={"verify_exp": False})


async def test_jwt_verifies_against_the_real_clock(http, router):
    """With the default clock the token is valid right now according to PyJWT's own exp/nbf checks."""
    route = router.get(f"{CREATE}/1").respond(200, json=envelope({"task_id": "1", "task_status": "processing"}))

    await KlingProvider(make_config(), http).status("1")

    decoded = jwt.decode(bearer(route.calls.last.request), SECRET_KEY, algorithms=["HS256"], issuer=ACCESS_KEY)
    assert decoded["exp"] - decoded["nbf"] == 1805


async def test_jwt_is_cached_then_rebuilt_before_expiry(provider, router, clock):
    """The token is reused while fresh and rebuilt once less than 5 minutes of its 30 are left."""
    route = router.get(f"{CREATE}/1").respond(200, json=envelope({"task_id": "1", "task_status": "processing"}))

    await provider.status("1")
    clock.now = NOW + 1000
    await provider.status("1")
    clock.now = NOW + 1500  # exp - 300 s
    await provider.status("1")

    first, second, third = (bearer(call.request) for call in route.calls)
    assert first == second
    assert third != first
    assert claims(third)["exp"] == int(NOW) + 1500 + 1800


async def test_refused_token_is_not_reused(provider, router, clock):
    """After a 401 (e.g. code 1004, token expired) the next call builds a fresh token."""
    route = router.get(f"{CREATE}/1").mock(
        side_effect=[
            httpx.Response(401, json=envelope(None, 1004, "token expired")),
            httpx.Response(200, json=envelope({"task_id": "1", "task_status": "processing"})),
        ]
    )
    with pytest.raises(ProviderAuthError):
        await provider.status("1")
    clock.now = NOW + 10
    await provider.status("1")

    assert claims(bearer(route.calls[1].request))["exp"] == int(NOW) + 10 + 1800


# --- status mapping -----------------------------------------------------------------------------------------------


SUCCEED = {
    "task_id": "1",
    "task_status": "succeed",
    "task_status_msg": "",
    "task_result": {"videos": [{"id": "v", "url": "https://cdn.klingai.com/out.mp4", "duration": "5.1"}]},
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"task_id": "1", "task_status": "submitted"}, ("queued", None, None)),
        ({"task_id": "1", "task_status": "processing"}, ("generating", None, None)),
        (SUCCEED, ("completed", "https://cdn.klingai.com/out.mp4", None)),
        (
            {"task_id": "1", "task_status": "succeed", "task_result": {"videos": []}},
            ("failed", None, "Kling reported success but returned no video"),
        ),
        (
            {"task_id": "1", "task_status": "failed", "task_status_msg": "Content risk control"},
            ("failed", None, "Content risk control"),
        ),
        ({"task_id": "1", "task_status": "failed"}, ("failed", None, "Kling reported the task failed")),
        ({"task_id": "1", "task_status": "rendering"}, ("generating", None, None)),
    ],
)
async def test_status_maps_every_kling_status(provider, router, data, expected):
    """GET /v1/videos/image2video/{id} maps submitted/processing/succeed/failed (unknown → generating); no progress."""
    route = router.get(f"{CREATE}/1").respond(200, json=envelope(data))

    status = await provider.status("1")

    assert (status.status, status.video_url, status.error) == expected
    assert status.progress is None
    assert status.raw_status == data["task_status"]
    assert route.calls.last.request.method == "GET"


def test_parse_status_without_data_is_a_bad_response():
    """An envelope without ``data.task_status`` is not guessed at."""
    with pytest.raises(ProviderBadResponse):
        _parse_status({"code": 0, "data": None})


async def test_cancel_returns_false_and_sends_nothing(provider, router):
    """Kling has no cancel API: cancel is False without any request."""
    assert await provider.cancel("1") is False
    assert router.calls.call_count == 0


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1100, 1101, 1102])
async def test_billing_codes_under_429_are_quota_not_rate_limit(provider, router, code):
    """HTTP 429 with code 1100-1102 (account/arrears/pack depleted) is ProviderQuotaExceeded, not retryable."""
    router.post(CREATE).respond(429, json=envelope(None, code, "resource pack exhausted"), headers={"Retry-After": "5"})

    with pytest.raises(ProviderQuotaExceeded) as info:
        await provider.submit(make_job())

    assert not info.value.retryable
    assert info.value.status_code == 429
    assert "resource pack exhausted" in str(info.value)


@pytest.mark.parametrize("code", [1302, 1303])
async def test_real_rate_limits_are_retryable_with_retry_after(provider, router, code):
    """HTTP 429 with code 1302 (rate) or 1303 (concurrency) is ProviderRateLimited with Retry-After seconds."""
    router.post(CREATE).respond(
        429, json=envelope(None, code, "parallel task over resource pack limit"), headers={"Retry-After": "7"}
    )

    with pytest.raises(ProviderRateLimited) as info:
        await provider.submit(make_job())

    assert info.value.retryable
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("http_status", "code", "error"),
    [
        (401, 1000, ProviderAuthError),
        (401, 1002, ProviderAuthError),
        (401, 1004, ProviderAuthError),
        (403, 1103, ProviderAuthError),
        (429, 1304, ProviderAuthError),
        (400, 1200, ProviderInvalidRequest),
        (400, 1201, ProviderInvalidRequest),
        (404, 1203, ProviderInvalidRequest),
        (400, 1300, ProviderInvalidRequest),
        (400, 1301, ProviderInvalidRequest),
        (500, 5000, ProviderUnavailable),
        (503, 5001, ProviderUnavailable),
        (504, 5002, ProviderUnavailable),
        (200, 1201, ProviderInvalidRequest),  # the body code wins over a 2xx status
        (418, 9999, ProviderInvalidRequest),  # unknown code: falls back to the HTTP status
    ],
)
async def test_body_codes_map_onto_the_error_tree(provider, router, http_status, code, error):
    """Each Kling body code becomes its error class, carrying Kling's message and request id."""
    router.post(CREATE).respond(http_status, json=envelope(None, code, "Kling says no"))

    with pytest.raises(error) as info:
        await provider.submit(make_job())

    assert type(info.value) is error
    assert "Kling says no" in str(info.value)
    assert f"code {code}" in str(info.value)
    assert "req-1" in str(info.value)


async def test_non_json_gateway_error_is_unavailable(provider, router):
    """A 502 HTML page from a gateway is retryable ProviderUnavailable."""
    router.get(f"{CREATE}/1").respond(502, text="<html>Bad Gateway</html>")

    with pytest.raises(ProviderUnavailable):
        await provider.status("1")


async def test_2xx_without_code_is_bad_response(provider, router):
    """A 2xx answer that is not an envelope with code 0 is ProviderBadResponse."""
    router.get(f"{CREATE}/1").respond(200, json={"hello": "world"})

    with pytest.raises(ProviderBadResponse):
        await provider.status("1")


async def test_error_messages_never_contain_keys_or_jwt(provider, router):
    """Even if Kling echoes the access key, secret key or token, the exception message masks them."""
    route = router.post(CREATE).respond(401, json=envelope(None, 1002, "bad token"))
    with pytest.raises(ProviderAuthError):
        await provider.submit(make_job())
    token = bearer(route.calls.last.request)
    route.respond(401, json=envelope(None, 1002, f"bad token {token} for {ACCESS_KEY} / {SECRET_KEY}"))

    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())

    text = str(info.value)
    assert "bad token" in text
    for secret in (ACCESS_KEY, SECRET_KEY, bearer(route.calls.last.request)):
        assert secret not in text


async def test_timeout_becomes_unavailable_with_cause(provider, router):
    """A transport timeout is wrapped once as ProviderUnavailable, chained to the httpx exception."""
    router.get(f"{CREATE}/1").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(ProviderUnavailable) as info:
        await provider.status("1")

    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize("missing", [{"api_key": None}, {"secret_key": None}, {"api_key": None, "secret_key": None}])
async def test_missing_key_raises_not_configured_and_sends_nothing(http, router, missing):
    """Without both keys the constructor works; submit/status raise ProviderNotConfigured before any request."""
    provider = KlingProvider(make_config(**missing), http)

    with pytest.raises(ProviderNotConfigured):
        await provider.submit(make_job())
    with pytest.raises(ProviderNotConfigured):
        await provider.status("1")
    assert router.calls.call_count == 0


# --- the adapter's shape ------------------------------------------------------------------------------------------


async def test_satisfies_protocol_and_aclose_leaves_shared_client_open(provider, http):
    """KlingProvider is a VideoProvider with its name/defaults, and aclose does not close the app's client."""
    assert isinstance(provider, VideoProvider)
    assert (KlingProvider.name, KlingProvider.default_base_url) == ("kling", BASE)
    assert KlingProvider.default_model == "kling-v2-6"
    await provider.aclose()
    assert not http.is_closed


async def test_base_url_override_is_honoured(http):
    """Every URL hangs from config.base_url (e.g. the Beijing region)."""
    provider = KlingProvider(make_config(base_url="https://api-beijing.klingai.com"), http)
    with respx.mock() as mock:
        route = mock.post("https://api-beijing.klingai.com/v1/videos/image2video").mock(return_value=created())
        await provider.submit(make_job())
    assert route.called


# --- callbacks (PROVIDERS.md 16) -----------------------------------------------------------------------------------

CALLBACK = "https://studio.example.com/api/callbacks/kling"


def test_build_request_carries_the_callback_url_only_when_given():
    """``callback_url`` in the create body, exactly the URL given; absent without one."""
    assert _build_request(make_job(), make_config(), CALLBACK)["callback_url"] == CALLBACK
    assert "callback_url" not in _build_request(make_job(), make_config())


async def test_submit_sends_the_configured_callback_url(http, router, clock):
    """A config with a callback URL (PUBLIC_BASE_URL set) sends it in the create body, the rest unchanged."""
    route = router.post(CREATE).mock(return_value=created())
    await KlingProvider(make_config(callback_url=CALLBACK), http, clock=clock).submit(make_job())
    body = json.loads(route.calls.last.request.content)
    assert body == {**_build_request(make_job(), make_config()), "callback_url": CALLBACK}
