"""Seedance (Ark), MiniMax and Luma adapters at the wire (respx), with PROVIDERS.md 4, 7a and 7b shapes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from providers import (
    ImageInput,
    ProviderAuthError,
    ProviderConfig,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    VideoJob,
)
from providers.video.luma import LumaProvider
from providers.video.minimax import MinimaxProvider
from providers.video.seedance import SeedanceProvider

KEY = "secret-key-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
ARK = "https://ark.cn-beijing.volces.com/api/v3"
MM = "https://api.minimax.io"
LUMA = "https://api.lumalabs.ai/dream-machine/v1"


def job(public_url: str | None = None, **kw) -> VideoJob:
    values = {
        "prompt": "a red kite",
        "camera_movement": "push_in",
        "shot_size": "close_up",
        "lighting": "golden_hour",
        "duration_s": 5,
        "aspect_ratio": "16:9",
        "seed": 7,
        "negative_prompt": "text",
    } | kw
    return VideoJob(image=ImageInput(PNG, "image/png", public_url), **values)


def make(cls, base: str, key: str | None = KEY):
    return cls(ProviderConfig(name=cls.name, base_url=base, api_key=key), httpx.AsyncClient())


@respx.mock
async def test_seedance_submit_poll_and_cancel() -> None:
    """Bearer auth; text with --ratio/--duration/--seed commands and a first_frame data URI; statuses map;
    succeeded gives content.video_url; DELETE cancels."""
    create = respx.post(f"{ARK}/contents/generations/tasks").mock(
        return_value=httpx.Response(200, json={"id": "cgt-20250331175019-68d9t"})
    )
    provider = make(SeedanceProvider, ARK)
    task = await provider.submit(job())
    assert task.task_id == "cgt-20250331175019-68d9t"
    request = create.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    text, image = body["content"]
    assert body["model"] == SeedanceProvider.default_model
    assert "a red kite" in text["text"] and "--ratio 16:9" in text["text"] and "--duration 5" in text["text"]
    assert "--seed 7" in text["text"] and "push in" in text["text"] and "Avoid: text" in text["text"]
    assert image == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + job().image.base64()},
        "role": "first_frame",
    }
    for raw, ours in [
        ("queued", "queued"),
        ("running", "generating"),
        ("cancelled", "cancelled"),
        ("something_new", "generating"),
    ]:
        respx.get(f"{ARK}/contents/generations/tasks/{task.task_id}").mock(
            return_value=httpx.Response(200, json={"id": task.task_id, "status": raw})
        )
        assert (await provider.status(task.task_id)).status == ours
    respx.get(f"{ARK}/contents/generations/tasks/{task.task_id}").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": task.task_id,
                "status": "succeeded",
                "content": {"video_url": "https://tos.example/v.mp4"},
                "error": None,
                "created_at": 1743414619,
            },
        )
    )
    done = await provider.status(task.task_id)
    assert (done.status, done.video_url, done.progress) == ("completed", "https://tos.example/v.mp4", 100)
    for raw, body_ in [
        ("failed", {"error": {"code": "OutputVideoSensitiveContentDetected", "message": "sensitive"}}),
        ("expired", {}),
    ]:
        respx.get(f"{ARK}/contents/generations/tasks/{task.task_id}").mock(
            return_value=httpx.Response(200, json={"id": task.task_id, "status": raw, **body_})
        )
        failed = await provider.status(task.task_id)
        assert failed.status == "failed" and failed.error
    cancel = respx.delete(f"{ARK}/contents/generations/tasks/{task.task_id}").mock(return_value=httpx.Response(200))
    assert await provider.cancel(task.task_id) and cancel.called


@respx.mock
async def test_seedance_public_url_and_errors() -> None:
    """A public URL is sent as is; Ark's error envelope maps: 401 auth, 429 rate limit with Retry-After, 403
    overdue account is quota (not retried); the key is never in a message."""
    route = respx.post(f"{ARK}/contents/generations/tasks").mock(return_value=httpx.Response(200, json={"id": "cgt-1"}))
    await make(SeedanceProvider, ARK).submit(job("https://cdn.example/p.png"))
    assert json.loads(route.calls.last.request.content)["content"][1]["image_url"]["url"] == "https://cdn.example/p.png"
    for status, code, headers, exc in [
        (401, "AuthenticationError", {}, ProviderAuthError),
        (429, "RateLimitExceeded.EndpointRPMExceeded", {"Retry-After": "3"}, ProviderRateLimited),
        (403, "AccountOverdueError", {}, ProviderQuotaExceeded),
        (400, "InvalidParameter", {}, ProviderInvalidRequest),
    ]:
        respx.post(f"{ARK}/contents/generations/tasks").mock(
            return_value=httpx.Response(
                status, json={"error": {"code": code, "message": f"{code} happened", "type": "x"}}, headers=headers
            )
        )
        with pytest.raises(exc) as info:
            await make(SeedanceProvider, ARK).submit(job())
        assert f"{code} happened" in str(info.value) and KEY not in str(info.value)
        if exc is ProviderRateLimited:
            assert info.value.retry_after == 3


@respx.mock
async def test_minimax_three_calls() -> None:
    """create (bracket camera command, capital-P resolution, data URI), query, then files/retrieve for the URL."""
    create = respx.post(f"{MM}/v1/video_generation").mock(
        return_value=httpx.Response(
            200, json={"task_id": "106916112212032", "base_resp": {"status_code": 0, "status_msg": "success"}}
        )
    )
    provider = make(MinimaxProvider, MM)
    task = await provider.submit(job())
    body = json.loads(create.calls.last.request.content)
    assert create.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert body["prompt"].startswith("[Push in] a red kite") and body["resolution"] == "1080P" and body["duration"] == 6
    assert body["first_frame_image"].startswith("data:image/png;base64,")
    for raw, ours in [
        ("Preparing", "queued"),
        ("Queueing", "queued"),
        ("Processing", "generating"),
        ("Fail", "failed"),
    ]:
        respx.get(f"{MM}/v1/query/video_generation", params={"task_id": task.task_id}).mock(
            return_value=httpx.Response(
                200, json={"task_id": task.task_id, "status": raw, "base_resp": {"status_code": 0}}
            )
        )
        assert (await provider.status(task.task_id)).status == ours
    respx.get(f"{MM}/v1/query/video_generation", params={"task_id": task.task_id}).mock(
        return_value=httpx.Response(
            200,
            json={
                "task_id": task.task_id,
                "status": "Success",
                "file_id": 205258526306433,
                "base_resp": {"status_code": 0},
            },
        )
    )
    files = respx.get(f"{MM}/v1/files/retrieve", params={"file_id": "205258526306433"}).mock(
        return_value=httpx.Response(
            200,
            json={
                "file": {
                    "file_id": 205258526306433,
                    "filename": "output.mp4",
                    "download_url": "https://cdn.minimax.example/o.mp4",
                },
                "base_resp": {"status_code": 0, "status_msg": "success"},
            },
        )
    )
    done = await provider.status(task.task_id)
    assert (done.status, done.video_url) == ("completed", "https://cdn.minimax.example/o.mp4") and files.called
    assert await provider.cancel(task.task_id) is False


@pytest.mark.parametrize(
    ("code", "exc"),
    [
        (1002, ProviderRateLimited),
        (1004, ProviderAuthError),
        (1008, ProviderQuotaExceeded),
        (1026, ProviderInvalidRequest),
        (2013, ProviderInvalidRequest),
    ],
)
@respx.mock
async def test_minimax_errors_under_http_200(code, exc) -> None:
    """base_resp.status_code != 0 under HTTP 200 is an error of the right kind, with MiniMax's message."""
    respx.post(f"{MM}/v1/video_generation").mock(
        return_value=httpx.Response(
            200, json={"task_id": "", "base_resp": {"status_code": code, "status_msg": f"problem {code}"}}
        )
    )
    with pytest.raises(exc, match=f"problem {code}"):
        await make(MinimaxProvider, MM).submit(job())


@respx.mock
async def test_luma_needs_a_public_url_and_maps_states() -> None:
    """Without PUBLIC_BASE_URL nothing is sent; with it the keyframe URL, ratio and "5s" duration go out; states
    queued/dreaming/completed/failed map; DELETE removes."""
    create = respx.post(f"{LUMA}/generations/video").mock(
        return_value=httpx.Response(201, json={"id": "9f2c", "state": "queued", "assets": {"video": None}})
    )
    provider = make(LumaProvider, LUMA)
    with pytest.raises(ProviderInvalidRequest, match="PUBLIC_BASE_URL"):
        await provider.submit(job())
    assert not create.called
    task = await provider.submit(job("https://ours.example/uploads/p.png"))
    body = json.loads(create.calls.last.request.content)
    assert body["keyframes"] == {"frame0": {"type": "image", "url": "https://ours.example/uploads/p.png"}}
    assert body["duration"] == "5s" and body["aspect_ratio"] == "16:9" and "push in" in body["prompt"]
    for state, ours in [("queued", "queued"), ("dreaming", "generating")]:
        respx.get(f"{LUMA}/generations/{task.task_id}").mock(
            return_value=httpx.Response(200, json={"id": task.task_id, "state": state, "assets": {"video": None}})
        )
        assert (await provider.status(task.task_id)).status == ours
    respx.get(f"{LUMA}/generations/{task.task_id}").mock(
        return_value=httpx.Response(
            200, json={"id": task.task_id, "state": "completed", "assets": {"video": "https://luma.example/v.mp4"}}
        )
    )
    assert (await provider.status(task.task_id)).video_url == "https://luma.example/v.mp4"
    respx.get(f"{LUMA}/generations/{task.task_id}").mock(
        return_value=httpx.Response(
            200, json={"id": task.task_id, "state": "failed", "failure_reason": "Failed to read user input frames"}
        )
    )
    failed = await provider.status(task.task_id)
    assert failed.status == "failed" and failed.error == "Failed to read user input frames"
    delete = respx.delete(f"{LUMA}/generations/{task.task_id}").mock(return_value=httpx.Response(204))
    assert await provider.cancel(task.task_id) and delete.called


@respx.mock
async def test_missing_keys_send_nothing() -> None:
    """No key: ProviderNotConfigured, and no request leaves."""
    routes = [
        respx.post(f"{ARK}/contents/generations/tasks"),
        respx.post(f"{MM}/v1/video_generation"),
        respx.post(f"{LUMA}/generations/video"),
    ]
    for cls, base in [(SeedanceProvider, ARK), (MinimaxProvider, MM), (LumaProvider, LUMA)]:
        with pytest.raises(ProviderNotConfigured):
            await make(cls, base, key=None).submit(job("https://x.example/p.png"))
    assert not any(r.called for r in routes)
