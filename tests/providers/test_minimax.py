"""MinimaxProvider against respx-mocked MiniMax endpoints (facts: PROVIDERS.md section 7b)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from providers.base import CAMERA_MOVEMENTS, ImageInput, ProviderConfig, VideoJob, VideoProvider
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.video.minimax import MinimaxProvider, _build_request, _file_id, _parse_file, _parse_status

BASE = "https://api.minimax.io"
CREATE = f"{BASE}/v1/video_generation"
QUERY = f"{BASE}/v1/query/video_generation"
FILES = f"{BASE}/v1/files/retrieve"
KEY = "mm-eyJhbGciOiJSUzI1NiJ9.secret-key"
TASK_ID = "106916112212032"
FILE_ID = 205258526306433
OK = {"status_code": 0, "status_msg": "success"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PUBLIC_URL = "https://media.example.com/p/1.png"


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "minimax", "base_url": BASE, "api_key": KEY}
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


def query_body(status: str, **extra: Any) -> dict[str, Any]:
    return {"task_id": TASK_ID, "status": status, "base_resp": OK, **extra}


def files_body(url: str = "https://cdn.minimax.example/output.mp4") -> dict[str, Any]:
    return {
        "file": {
            "file_id": FILE_ID,
            "bytes": 5896337,
            "created_at": 1700469398,
            "filename": "output.mp4",
            "purpose": "video_generation",
            "download_url": url,
        },
        "base_resp": OK,
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
def provider(http: httpx.AsyncClient) -> MinimaxProvider:
    return MinimaxProvider(make_config(), http)


# --- _build_request -----------------------------------------------------------------------------------------------


def test_build_request_uses_bracket_camera_command_and_capital_p_resolution():
    """The camera move is a [Push in] bracket command at the head of the prompt, the rest of the form is text,
    and a 5 s Hailuo job is duration 6 at "1080P"; no seed or aspect ratio is sent (MiniMax has neither)."""
    assert _build_request(make_job(), make_config()) == {
        "model": "MiniMax-Hailuo-02",
        "prompt": "[Push in] A cat walks along a garden wall. Shot: close-up. Lighting: golden hour. "
        "Avoid: blurry text.",
        "first_frame_image": PNG_URI,
        "duration": 6,
        "resolution": "1080P",
        "prompt_optimizer": True,
    }


@pytest.mark.parametrize("movement", CAMERA_MOVEMENTS)
def test_build_request_every_form_camera_move_has_a_bracket_command(movement):
    """Each of the form's camera moves becomes a bracket command, not a prose sentence."""
    prompt = _build_request(make_job(camera_movement=movement), make_config())["prompt"]
    assert prompt.startswith("[") and "Camera:" not in prompt


def test_build_request_unknown_camera_move_is_described_in_words():
    """A camera move MiniMax has no command for is written into the prompt instead."""
    prompt = _build_request(make_job(camera_movement="dolly_zoom"), make_config())["prompt"]
    assert prompt.startswith("A cat") and "Camera: dolly zoom." in prompt


@pytest.mark.parametrize(("seconds", "duration", "resolution"), [(3, 6, "1080P"), (7.9, 6, "1080P"), (8, 10, "768P")])
def test_build_request_duration_is_6_or_10_with_a_resolution_valid_for_it(seconds, duration, resolution):
    """Durations become 6 or 10; 10 s goes with 768P (the only resolution MiniMax allows for it)."""
    body = _build_request(make_job(duration_s=seconds), make_config())
    assert (body["duration"], body["resolution"]) == (duration, resolution)


def test_build_request_older_i2v_models_get_no_duration_or_resolution():
    """I2V-01 models are left at their own defaults."""
    body = _build_request(make_job(model="I2V-01-Director"), make_config())
    assert body["model"] == "I2V-01-Director" and "duration" not in body and "resolution" not in body


def test_build_request_sends_a_public_url_as_is():
    """With a public URL, first_frame_image is that URL, not a data URI."""
    image = ImageInput(data=PNG, content_type="image/png", public_url=PUBLIC_URL)
    assert _build_request(make_job(image=image), make_config())["first_frame_image"] == PUBLIC_URL


def test_build_request_model_comes_from_job_then_config_then_default():
    """job.model wins over config.model, which wins over the default."""
    assert _build_request(make_job(), make_config(model="MiniMax-Hailuo-2.3"))["model"] == "MiniMax-Hailuo-2.3"
    body = _build_request(make_job(model="MiniMax-Hailuo-2.3-Fast"), make_config(model="MiniMax-Hailuo-2.3"))
    assert body["model"] == "MiniMax-Hailuo-2.3-Fast"


def test_build_request_long_prompt_stays_within_2000_characters():
    """A very long prompt is cut so the whole prompt, bracket included, fits MiniMax's limit."""
    prompt = _build_request(make_job(prompt="x" * 5000), make_config())["prompt"]
    assert len(prompt) <= 2000 and prompt.startswith("[Push in] ") and prompt.endswith("Avoid: blurry text.")


# --- pure parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Preparing", "queued"),
        ("Queueing", "queued"),
        ("Processing", "generating"),
        ("Success", "completed"),
        ("Fail", "failed"),
        ("Rendering", "generating"),
    ],
)
def test_parse_status_maps_every_minimax_status(raw, state):
    """Each capitalised MiniMax status maps per PROVIDERS.md; unknown ones count as generating; no progress."""
    status = _parse_status(query_body(raw))
    assert (status.status, status.raw_status, status.progress) == (state, raw, None)


def test_parse_status_fail_carries_minimax_reason():
    """A Fail query with a base_resp code reports MiniMax's message as the task's error."""
    status = _parse_status(query_body("Fail", base_resp={"status_code": 1027, "status_msg": "output sensitive"}))
    assert (status.status, status.error) == ("failed", "output sensitive (code 1027)")
    assert _parse_status(query_body("Fail")).error == "MiniMax reported the task failed"


def test_parse_status_without_status_is_a_bad_response():
    """A query answer with no status is a ProviderBadResponse."""
    with pytest.raises(ProviderBadResponse):
        _parse_status({"task_id": TASK_ID, "base_resp": OK})


def test_file_id_accepts_numbers_and_strings():
    """file_id may be a JSON number; it is used as a string."""
    assert _file_id({"file_id": FILE_ID}) == str(FILE_ID)
    assert _file_id({"file_id": "abc"}) == "abc"
    with pytest.raises(ProviderBadResponse):
        _file_id({"file_id": ""})


def test_parse_file_needs_a_download_url():
    """files/retrieve without file.download_url is a ProviderBadResponse."""
    assert _parse_file(files_body("https://x.example/o.mp4")) == "https://x.example/o.mp4"
    with pytest.raises(ProviderBadResponse):
        _parse_file({"file": {"file_id": FILE_ID}, "base_resp": OK})


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol_and_constructs_without_a_key(http):
    """The class is a VideoProvider with its name and defaults; a missing key does not fail construction."""
    provider = MinimaxProvider(make_config(api_key=None), http)
    assert isinstance(provider, VideoProvider)
    assert (provider.name, MinimaxProvider.default_base_url) == ("minimax", BASE)


async def test_submit_posts_with_bearer_auth_and_returns_the_task_id(provider, router):
    """submit POSTs /v1/video_generation with the Bearer key and the built body; the task id is kept as a string."""
    route = router.post(CREATE).respond(200, json={"task_id": TASK_ID, "base_resp": OK})

    task = await provider.submit(make_job())

    assert (task.task_id, task.status) == (TASK_ID, "queued")
    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", CREATE)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == _build_request(make_job(), make_config())


async def test_submit_uses_the_configured_base_url(http, router):
    """Every URL hangs from config.base_url (e.g. the mainland host api.minimaxi.com)."""
    route = router.post("https://api.minimaxi.com/v1/video_generation").respond(
        200, json={"task_id": TASK_ID, "base_resp": OK}
    )
    await MinimaxProvider(make_config(base_url="https://api.minimaxi.com/"), http).submit(make_job())
    assert route.called


async def test_status_makes_query_then_files_retrieve_for_the_url(provider, router):
    """On Success, status queries the task, then files/retrieve with the (numeric) file_id, both with the key."""
    query = router.get(QUERY, params={"task_id": TASK_ID}).respond(
        200, json=query_body("Success", file_id=FILE_ID, video_width=1366, video_height=768)
    )
    files = router.get(FILES, params={"file_id": str(FILE_ID)}).respond(200, json=files_body())

    status = await provider.status(TASK_ID)

    assert (status.status, status.video_url, status.raw_status) == (
        "completed",
        "https://cdn.minimax.example/output.mp4",
        "Success",
    )
    assert str(query.calls.last.request.url) == f"{QUERY}?task_id={TASK_ID}"
    assert str(files.calls.last.request.url) == f"{FILES}?file_id={FILE_ID}"
    for route in (query, files):
        request = route.calls.last.request
        assert (request.method, request.headers["authorization"]) == ("GET", f"Bearer {KEY}")


@pytest.mark.parametrize(("raw", "state"), [("Preparing", "queued"), ("Processing", "generating"), ("Fail", "failed")])
async def test_status_before_success_makes_only_the_query(provider, router, raw, state):
    """Until Success, status makes one call and does not touch files/retrieve."""
    router.get(QUERY).respond(200, json=query_body(raw))
    files = router.get(FILES)
    assert (await provider.status(TASK_ID)).status == state
    assert not files.called


async def test_success_without_file_id_is_a_bad_response(provider, router):
    """A Success query without file_id is a ProviderBadResponse, and no files call is made."""
    router.get(QUERY).respond(200, json=query_body("Success"))
    files = router.get(FILES)
    with pytest.raises(ProviderBadResponse):
        await provider.status(TASK_ID)
    assert not files.called


@pytest.mark.parametrize(
    ("code", "exc"),
    [
        (1000, ProviderUnavailable),
        (1001, ProviderUnavailable),
        (1002, ProviderRateLimited),
        (1004, ProviderAuthError),
        (1008, ProviderQuotaExceeded),
        (1026, ProviderInvalidRequest),
        (2013, ProviderInvalidRequest),
        (9999, ProviderInvalidRequest),
    ],
)
async def test_errors_under_http_200_map_by_base_resp_code(provider, router, code, exc):
    """HTTP 200 with base_resp.status_code != 0 raises the mapped error with MiniMax's status_msg, never the key."""
    router.post(CREATE).respond(
        200, json={"task_id": "", "base_resp": {"status_code": code, "status_msg": f"bad {code}"}}
    )

    with pytest.raises(exc) as info:
        await provider.submit(make_job())

    assert f"bad {code} (code {code})" in str(info.value) and KEY not in str(info.value)
    assert info.value.provider == "minimax"


async def test_rate_limit_under_http_200_on_query_is_retryable(provider, router):
    """A 1002 rate limit in the query answer is ProviderRateLimited (retryable), not a task failure."""
    router.get(QUERY).respond(200, json={"base_resp": {"status_code": 1002, "status_msg": "rate limit exceeded"}})
    with pytest.raises(ProviderRateLimited) as info:
        await provider.status(TASK_ID)
    assert info.value.retryable


async def test_error_under_http_200_on_files_retrieve_is_raised(provider, router):
    """files/retrieve's base_resp error is raised too (here an invalid-parameter 2013)."""
    router.get(QUERY).respond(200, json=query_body("Success", file_id=FILE_ID))
    router.get(FILES).respond(200, json={"base_resp": {"status_code": 2013, "status_msg": "invalid file_id"}})
    with pytest.raises(ProviderInvalidRequest, match="invalid file_id"):
        await provider.status(TASK_ID)


async def test_http_429_with_retry_after_sets_retry_after(provider, router):
    """An HTTP 429 carries Retry-After seconds as ProviderRateLimited.retry_after."""
    router.post(CREATE).respond(429, text="Too Many Requests", headers={"Retry-After": "12"})
    with pytest.raises(ProviderRateLimited) as info:
        await provider.submit(make_job())
    assert info.value.retry_after == 12.0


@pytest.mark.parametrize(
    ("http_status", "body", "exc"),
    [
        (401, {"base_resp": {"status_code": 1004, "status_msg": "login fail"}}, ProviderAuthError),
        (401, None, ProviderAuthError),
        (400, None, ProviderInvalidRequest),
        (500, None, ProviderUnavailable),
        (503, {"base_resp": {"status_code": 1001, "status_msg": "timeout"}}, ProviderUnavailable),
    ],
)
async def test_http_errors_map_by_body_code_or_status(provider, router, http_status, body, exc):
    """Non-2xx answers map by their base_resp code when present, else by the HTTP status."""
    if body is None:
        router.get(QUERY).respond(http_status, text="<html>error</html>")
    else:
        router.get(QUERY).respond(http_status, json=body)
    with pytest.raises(exc) as info:
        await provider.status(TASK_ID)
    assert info.value.status_code == http_status


async def test_transport_failure_is_unavailable_and_chained(provider, router):
    """A timeout becomes ProviderUnavailable raised from the httpx error."""
    router.get(QUERY).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnavailable) as info:
        await provider.status(TASK_ID)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


async def test_the_key_is_scrubbed_even_when_minimax_echoes_it(provider, router):
    """If MiniMax's status_msg repeats the key, our error message does not."""
    router.post(CREATE).respond(200, json={"base_resp": {"status_code": 1004, "status_msg": f"bad key {KEY}"}})
    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    """Without a key, submit and status raise ProviderNotConfigured and no request leaves."""
    provider = MinimaxProvider(make_config(api_key=None), http)
    with pytest.raises(ProviderNotConfigured):
        await provider.submit(make_job())
    with pytest.raises(ProviderNotConfigured):
        await provider.status(TASK_ID)
    assert not router.calls


async def test_cancel_is_false_and_sends_nothing(provider, router):
    """MiniMax has no cancel API: cancel returns False without a request."""
    assert await provider.cancel(TASK_ID) is False
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed


# --- callbacks (PROVIDERS.md 16) -----------------------------------------------------------------------------------

CALLBACK = "https://studio.example.com/api/callbacks/minimax"


def test_build_request_carries_the_callback_url_only_when_given():
    """``callback_url`` in the create body, exactly the URL given; absent without one."""
    assert _build_request(make_job(), make_config(), CALLBACK)["callback_url"] == CALLBACK
    assert "callback_url" not in _build_request(make_job(), make_config())


async def test_submit_sends_the_configured_callback_url(http, router):
    """A config with a callback URL (PUBLIC_BASE_URL set) sends it in the create body, the rest unchanged."""
    route = router.post(CREATE).respond(200, json={"task_id": TASK_ID, "base_resp": OK})
    await MinimaxProvider(make_config(callback_url=CALLBACK), http).submit(make_job())
    body = json.loads(route.calls.last.request.content)
    assert body == {**_build_request(make_job(), make_config()), "callback_url": CALLBACK}
