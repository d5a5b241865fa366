"""PikaProvider against respx-mocked fal queue endpoints (facts: PROVIDERS.md section 3)."""

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
from providers.video.pika import (
    PikaProvider,
    QueueRequest,
    _app_id,
    _build_request,
    _decode_task_id,
    _encode_task_id,
    _parse_status,
    _submit_url,
)

BASE = "https://queue.fal.run"
KEY = "0f1e2d3c-key-id:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
SUBMIT = f"{BASE}/fal-ai/pika/v2.2/image-to-video"
REQUEST_ID = "80e732af-660e-45cd-bd63-580e4f2a94cc"
RESPONSE_URL = f"{BASE}/fal-ai/pika/requests/{REQUEST_ID}"
STATUS_URL = f"{RESPONSE_URL}/status"
CANCEL_URL = f"{RESPONSE_URL}/cancel"
VIDEO_URL = "https://v3.fal.media/files/rabbit/output.mp4"


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "pika", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def make_job(**overrides: Any) -> VideoJob:
    values: dict[str, Any] = {
        "image": ImageInput(data=PNG, content_type="image/png"),
        "prompt": "The man and the horse walk toward the camera",
        "negative_prompt": "blurry",
        "camera_movement": "orbit_left",
        "shot_size": "wide",
        "lighting": "overcast",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "seed": 123,
    }
    values.update(overrides)
    return VideoJob(**values)


def submitted(**urls: str) -> httpx.Response:
    body = {"request_id": REQUEST_ID, "response_url": RESPONSE_URL, "status_url": STATUS_URL, "cancel_url": CANCEL_URL}
    return httpx.Response(200, json=body | urls)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> PikaProvider:
    return PikaProvider(make_config(), http)


@pytest.fixture
async def task_id(provider: PikaProvider, router: respx.MockRouter) -> str:
    router.post(SUBMIT).mock(return_value=submitted())
    return (await provider.submit(make_job())).task_id


# --- the outgoing request -----------------------------------------------------------------------------------------


async def test_submit_sends_exact_url_key_header_and_body(provider, router):
    """submit POSTs the model input (no wrapper) to queue.fal.run/fal-ai/pika/v2.2/image-to-video with ``Key``."""
    route = router.post(SUBMIT).mock(return_value=submitted())

    task = await provider.submit(make_job())

    assert task.status == "queued"
    assert task.task_id.startswith(f"{REQUEST_ID}.")
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == SUBMIT
    assert request.headers["authorization"] == f"Key {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "image_url": PNG_URI,
        "prompt": "The man and the horse walk toward the camera. "
        "Camera: orbit left around the subject. Shot: wide. Lighting: overcast.",
        "negative_prompt": "blurry",
        "resolution": "720p",
        "duration": 5,
        "seed": 123,
    }


async def test_submit_sends_public_url_when_set(provider, router):
    """With a public URL for the picture, image_url is that URL instead of a data URI."""
    route = router.post(SUBMIT).mock(return_value=submitted())
    image = ImageInput(data=PNG, content_type="image/png", public_url="https://media.example.com/p/1.png")

    await provider.submit(make_job(image=image))

    assert json.loads(route.calls.last.request.content)["image_url"] == "https://media.example.com/p/1.png"


@pytest.mark.parametrize(("seconds", "duration"), [(1, 5), (7.5, 5), (8, 10), (30, 10)])
def test_duration_is_clamped_to_5_or_10(seconds, duration):
    """duration_s becomes the integer 5 or 10 that Pika accepts."""
    assert _build_request(make_job(duration_s=seconds), make_config())["duration"] == duration


def test_build_request_omits_unset_optionals_and_aspect_ratio():
    """No seed / negative prompt → not sent; image-to-video has no aspect ratio field."""
    body = _build_request(make_job(seed=None, negative_prompt=None, aspect_ratio="9:16"), make_config())
    assert set(body) == {"image_url", "prompt", "resolution", "duration"}


def test_prompt_stays_within_the_limit_with_directions_kept():
    """An over-long prompt is cut so the shot directions still fit."""
    prompt = _build_request(make_job(prompt="z" * 5000), make_config())["prompt"]
    assert len(prompt) <= 1000
    assert prompt.endswith("Lighting: overcast.")


async def test_submit_with_model_override_polls_on_owner_app(http, router):
    """A configured endpoint id is the submit path; rebuilt URLs use only ``{owner}/{app}``."""
    provider = PikaProvider(make_config(model="fal-ai/pika/v2.1/image-to-video"), http)
    route = router.post(f"{BASE}/fal-ai/pika/v2.1/image-to-video").respond(200, json={"request_id": "r-2"})

    task = await provider.submit(make_job())

    assert route.called
    assert _decode_task_id(task.task_id).url("status", BASE) == f"{BASE}/fal-ai/pika/requests/r-2/status"


def test_app_id_drops_the_sub_path():
    """fal's status/result URLs live on ``{owner}/{app}``, not the full endpoint id."""
    assert _app_id("fal-ai/pika/v2.2/image-to-video") == "fal-ai/pika"


def test_task_id_round_trips_the_queue_urls():
    """The opaque task id carries request id, app and the three URLs submit returned."""
    request = QueueRequest(REQUEST_ID, "fal-ai/pika", STATUS_URL, RESPONSE_URL, CANCEL_URL)
    assert _decode_task_id(_encode_task_id(request)) == request


# --- polling and status mapping -----------------------------------------------------------------------------------


async def test_status_survives_a_restart_using_the_returned_status_url(task_id, http, router):
    """A fresh provider (as after a restart) polls the status_url submit returned, with the Key header."""
    route = router.get(STATUS_URL).respond(202, json={"status": "IN_QUEUE", "queue_position": 3})

    status = await PikaProvider(make_config(), http).status(task_id)

    assert (status.status, status.progress, status.raw_status) == ("queued", None, "IN_QUEUE")
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Key {KEY}"


async def test_in_progress_is_generating(provider, task_id, router):
    """IN_PROGRESS maps to generating (fal reports no progress)."""
    router.get(STATUS_URL).respond(200, json={"status": "IN_PROGRESS", "logs": None, "response_url": RESPONSE_URL})

    status = await provider.status(task_id)

    assert (status.status, status.progress) == ("generating", None)


async def test_completed_fetches_the_result_and_returns_the_video_url(provider, task_id, router):
    """COMPLETED + a 2xx result GET (response_url) is completed with ``video.url``."""
    router.get(STATUS_URL).respond(200, json={"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 4}})
    result = router.get(RESPONSE_URL).respond(200, json={"video": {"url": VIDEO_URL, "content_type": "video/mp4"}})

    status = await provider.status(task_id)

    assert (status.status, status.video_url, status.error) == ("completed", VIDEO_URL, None)
    assert result.calls.last.request.headers["authorization"] == f"Key {KEY}"


async def test_completed_with_error_is_failed_without_fetching_the_result(provider, task_id, router):
    """COMPLETED carrying ``error`` is a failure; the result is not fetched."""
    router.get(STATUS_URL).respond(
        200, json={"status": "COMPLETED", "logs": None, "error": "Model crashed", "error_type": "runner_error"}
    )
    result = router.get(RESPONSE_URL).respond(200, json={})

    status = await provider.status(task_id)

    assert (status.status, status.error) == ("failed", "Model crashed (runner_error)")
    assert not result.called


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(
                422,
                json={"detail": [{"loc": ["body", "image_url"], "msg": "Image too small", "type": "value_error"}]},
            ),
            "image_url: Image too small",
        ),
        (
            httpx.Response(
                400,
                json={"detail": "Content policy violation", "error_type": "content_policy_violation"},
            ),
            "Content policy violation (content_policy_violation)",
        ),
        (
            httpx.Response(500, json={"detail": "Internal error"}, headers={"x-fal-request-id": REQUEST_ID}),
            "Internal error",
        ),
    ],
)
async def test_completed_with_non_2xx_result_is_failed_with_fals_reason(provider, task_id, router, response, error):
    """COMPLETED whose result GET answers non-2xx is failed, carrying fal's ``detail`` as the reason."""
    router.get(STATUS_URL).respond(200, json={"status": "COMPLETED", "logs": None})
    router.get(RESPONSE_URL).mock(return_value=response)

    status = await provider.status(task_id)

    assert (status.status, status.error, status.video_url) == ("failed", error, None)


async def test_completed_result_without_video_is_failed(provider, task_id, router):
    """A 2xx result with no ``video.url`` is a failure, not a completed video."""
    router.get(STATUS_URL).respond(200, json={"status": "COMPLETED", "logs": None})
    router.get(RESPONSE_URL).respond(200, json={"images": []})

    assert (await provider.status(task_id)).status == "failed"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(503, text="Service Unavailable"), ProviderUnavailable),
        (httpx.Response(429, json={"detail": "Too many requests"}, headers={"Retry-After": "2"}), ProviderRateLimited),
        (httpx.Response(401, json={"detail": "Unauthorized"}), ProviderAuthError),
    ],
)
async def test_transient_or_auth_result_fetch_errors_raise_instead_of_failing_the_task(
    provider, task_id, router, response, error
):
    """A bare gateway 5xx, a 429 or a 401 on the result fetch says nothing about the run: it raises."""
    router.get(STATUS_URL).respond(200, json={"status": "COMPLETED", "logs": None})
    router.get(RESPONSE_URL).mock(return_value=response)

    with pytest.raises(error):
        await provider.status(task_id)


def test_unknown_status_is_generating():
    """An unknown queue status counts as still generating, not as a failure."""
    assert _parse_status({"status": "IN_SOME_NEW_STATE"}).status == "generating"


def test_status_without_status_is_a_bad_response():
    """A status body without ``status`` is not guessed at."""
    with pytest.raises(ProviderBadResponse):
        _parse_status({"queue_position": 1})


async def test_stored_urls_on_another_host_are_rebuilt_on_the_base_url(http, router):
    """The key only goes to the configured base URL: foreign URLs from submit are replaced by rebuilt ones."""
    provider = PikaProvider(make_config(base_url="https://fal-proxy.example"), http)
    router.post("https://fal-proxy.example/fal-ai/pika/v2.2/image-to-video").mock(
        return_value=submitted(status_url="https://elsewhere.example/steal/status")
    )
    route = router.get(f"https://fal-proxy.example/fal-ai/pika/requests/{REQUEST_ID}/status").respond(
        200, json={"status": "IN_QUEUE", "queue_position": 0}
    )

    task = await provider.submit(make_job())
    await provider.status(task.task_id)

    assert route.called


async def test_malformed_task_id_is_invalid_request_and_sends_nothing(provider, router):
    """A task id we did not issue is refused before any request."""
    with pytest.raises(ProviderInvalidRequest):
        await provider.status("not-a-fal-task-id")
    assert router.calls.call_count == 0


# --- cancel -------------------------------------------------------------------------------------------------------


async def test_cancel_puts_cancel_url_and_then_reports_cancelled(provider, task_id, router):
    """cancel PUTs cancel_url (202 CANCELLATION_REQUESTED) → True; later status is cancelled without a request."""
    route = router.put(CANCEL_URL).respond(202, json={"status": "CANCELLATION_REQUESTED"})
    status_route = router.get(STATUS_URL).respond(200, json={"status": "IN_PROGRESS", "logs": None})

    assert await provider.cancel(task_id) is True
    assert route.calls.last.request.headers["authorization"] == f"Key {KEY}"
    assert (await provider.status(task_id)).status == "cancelled"
    assert not status_route.called


@pytest.mark.parametrize(
    "response",
    [httpx.Response(400, json={"status": "ALREADY_COMPLETED"}), httpx.Response(404, json={"status": "NOT_FOUND"})],
)
async def test_cancel_too_late_returns_false(provider, task_id, router, response):
    """ALREADY_COMPLETED (400) or NOT_FOUND (404) means nothing was cancelled: False, not an error."""
    router.put(CANCEL_URL).mock(return_value=response)

    assert await provider.cancel(task_id) is False


async def test_cancel_server_error_raises(provider, task_id, router):
    """A 5xx on cancel is retryable ProviderUnavailable."""
    router.put(CANCEL_URL).respond(500, json={"detail": "boom"})

    with pytest.raises(ProviderUnavailable):
        await provider.cancel(task_id)


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (httpx.Response(400, json={"detail": "Invalid input"}), ProviderInvalidRequest, "Invalid input"),
        (
            httpx.Response(422, json={"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]}),
            ProviderInvalidRequest,
            "prompt: field required",
        ),
        (httpx.Response(401, json={"detail": "Invalid API key"}), ProviderAuthError, "Invalid API key"),
        (httpx.Response(403, json={"detail": "Forbidden"}), ProviderAuthError, "Forbidden"),
        (httpx.Response(429, json={"detail": "Concurrency limit"}), ProviderRateLimited, "Concurrency limit"),
        (httpx.Response(500, json={"detail": "Internal"}), ProviderUnavailable, "Internal"),
        (httpx.Response(503, text="unavailable"), ProviderUnavailable, "HTTP 503"),
    ],
)
async def test_submit_errors_map_onto_the_error_tree(provider, router, response, error, text):
    """fal's submit errors (400/422/401/403/429/5xx) become their error class with fal's ``detail``."""
    router.post(SUBMIT).mock(return_value=response)

    with pytest.raises(error) as info:
        await provider.submit(make_job())

    assert type(info.value) is error
    assert text in str(info.value)
    assert info.value.provider == "pika"


async def test_429_carries_retry_after(provider, router):
    """A 429 is retryable ProviderRateLimited with the Retry-After seconds."""
    router.post(SUBMIT).respond(429, json={"detail": "slow down"}, headers={"Retry-After": "4"})

    with pytest.raises(ProviderRateLimited) as info:
        await provider.submit(make_job())

    assert info.value.retry_after == 4.0


async def test_status_endpoint_error_raises(provider, task_id, router):
    """A non-2xx on the status URL itself is translated (here 404 → ProviderInvalidRequest)."""
    router.get(STATUS_URL).respond(404, json={"detail": "Request not found"})

    with pytest.raises(ProviderInvalidRequest, match="Request not found"):
        await provider.status(task_id)


async def test_submit_answer_without_request_id_is_bad_response(provider, router):
    """A 2xx submit answer without request_id is ProviderBadResponse."""
    router.post(SUBMIT).respond(200, json={"status": "IN_QUEUE"})

    with pytest.raises(ProviderBadResponse):
        await provider.submit(make_job())


async def test_error_messages_never_contain_the_key(provider, router):
    """Even if fal echoes the key, the exception message masks it."""
    router.post(SUBMIT).respond(401, json={"detail": f"Key {KEY} is not valid"})

    with pytest.raises(ProviderAuthError) as info:
        await provider.submit(make_job())

    assert KEY not in str(info.value)


async def test_timeout_becomes_unavailable_with_cause(provider, router):
    """A transport failure is wrapped once as ProviderUnavailable, chained to the httpx exception."""
    router.post(SUBMIT).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderUnavailable) as info:
        await provider.submit(make_job())

    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_missing_key_raises_not_configured_and_sends_nothing(http, router):
    """Without a key the constructor works; submit/status/cancel raise ProviderNotConfigured before any request."""
    provider = PikaProvider(make_config(api_key=None), http)
    task_id = _encode_task_id(QueueRequest(REQUEST_ID, "fal-ai/pika", STATUS_URL, RESPONSE_URL, CANCEL_URL))

    with pytest.raises(ProviderNotConfigured):
        await provider.submit(make_job())
    with pytest.raises(ProviderNotConfigured):
        await provider.status(task_id)
    with pytest.raises(ProviderNotConfigured):
        await provider.cancel(task_id)
    assert router.calls.call_count == 0


# --- the adapter's shape ------------------------------------------------------------------------------------------


async def test_satisfies_protocol_and_aclose_leaves_shared_client_open(provider, http):
    """PikaProvider is a VideoProvider with its name/defaults, and aclose does not close the app's client."""
    assert isinstance(provider, VideoProvider)
    assert (PikaProvider.name, PikaProvider.default_base_url) == ("pika", BASE)
    assert PikaProvider.default_model == "fal-ai/pika/v2.2/image-to-video"
    await provider.aclose()
    assert not http.is_closed


# --- callbacks (PROVIDERS.md 16) -----------------------------------------------------------------------------------

CALLBACK = "https://studio.example.com/api/callbacks/pika"


def test_submit_url_carries_fal_webhook_only_when_given():
    """fal takes the webhook as ``?fal_webhook=<url>`` on the submit URL (URL-encoded), not in the model input."""
    assert _submit_url(BASE, "fal-ai/pika/v2.2/image-to-video") == SUBMIT
    url = httpx.URL(_submit_url(BASE, "fal-ai/pika/v2.2/image-to-video", CALLBACK))
    assert url.copy_with(query=None) == httpx.URL(SUBMIT) and url.params["fal_webhook"] == CALLBACK


async def test_submit_sends_the_configured_webhook(http, router):
    """With a callback URL configured the POST goes to SUBMIT?fal_webhook=<url>; the body is the same input."""
    route = router.post(SUBMIT).mock(return_value=submitted())
    await PikaProvider(make_config(callback_url=CALLBACK), http).submit(make_job())
    request = route.calls.last.request
    assert request.url.params["fal_webhook"] == CALLBACK
    assert json.loads(request.content) == _build_request(make_job(), make_config())
