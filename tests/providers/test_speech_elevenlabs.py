"""ElevenLabsSpeechProvider against a respx-mocked ``POST /v1/text-to-speech/{voice_id}`` (PROVIDERS.md 18)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from providers.base import ProviderConfig
from providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderUnreachable,
)
from providers.speech import SpeechProvider, SpeechRequest
from providers.speech.elevenlabs import ElevenLabsSpeechProvider, _build_request

BASE = "https://api.elevenlabs.io"
VOICE = "JBFqnCBsd6RMkjVDRZzb"
URL = f"{BASE}/v1/text-to-speech/{VOICE}"
KEY = "sk_3f1e0c5d9b7a4e2f8c6d1b0a9e8f7c6d5b4a3e2f1d0c9b8a"
MP3 = b"\xff\xf3\x84\xc4" + bytes(200)  # an MPEG-2 layer III frame, no ID3 tag


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "elevenlabs", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def detail(status: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> ElevenLabsSpeechProvider:
    return ElevenLabsSpeechProvider(make_config(), http)


# --- pure mapping -------------------------------------------------------------------------------------------------


def test_build_request_is_text_and_model_id_only_at_speed_1():
    """At speed 1 and without a language, the body is text and model_id."""
    body = _build_request(SpeechRequest(text="Hi."), "Hi.", model="eleven_multilingual_v2")
    assert body == {"text": "Hi.", "model_id": "eleven_multilingual_v2"}


@pytest.mark.parametrize(("speed", "sent"), [(1.1, 1.1), (0.5, 0.7), (2.0, 1.2)])
def test_build_request_sends_a_clamped_speed_in_voice_settings(speed, sent):
    """A speed other than 1 goes in voice_settings.speed, within ElevenLabs' 0.7-1.2."""
    body = _build_request(SpeechRequest(text="x", speed=speed), "x", model="eleven_v3")
    assert body["voice_settings"] == {"speed": sent}


@pytest.mark.parametrize(
    ("model", "sent"), [("eleven_flash_v2_5", "de"), ("eleven_turbo_v2_5", "de"), ("eleven_multilingual_v2", None)]
)
def test_build_request_sends_language_code_only_to_models_that_take_it(model, sent):
    """language_code (ISO 639-1) only for the 2.5 models; others would answer an error."""
    body = _build_request(SpeechRequest(text="x", language="de-AT"), "x", model=model)
    assert body.get("language_code") == sent


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol(http):
    """The class is a SpeechProvider named elevenlabs."""
    provider = ElevenLabsSpeechProvider(make_config(api_key=None), http)
    assert isinstance(provider, SpeechProvider)
    assert (provider.name, ElevenLabsSpeechProvider.default_base_url) == ("elevenlabs", BASE)


async def test_synthesize_posts_to_the_voice_with_xi_api_key_and_output_format(provider, router):
    """POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128 with xi-api-key and the JSON body; the
    answer's bytes come back as audio/mpeg (no duration: MP3 is not measured)."""
    route = router.post(URL).respond(200, content=MP3, headers={"content-type": "audio/mpeg"})

    result = await provider.synthesize(SpeechRequest(text=" Once upon a time. ", speed=0.9))

    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", f"{URL}?output_format=mp3_44100_128")
    assert request.headers["xi-api-key"] == KEY and "authorization" not in request.headers
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "text": "Once upon a time.",
        "model_id": "eleven_multilingual_v2",
        "voice_settings": {"speed": 0.9},
    }
    assert (result.data, result.content_type, result.duration_s) == (MP3, "audio/mpeg", None)


async def test_voice_and_model_come_from_the_request(http, router):
    """request.voice is the path segment (URL-quoted) and request.model the model_id, over config.model."""
    route = router.post(f"{BASE}/v1/text-to-speech/my%2Fvoice").respond(200, content=MP3)
    provider = ElevenLabsSpeechProvider(make_config(model="eleven_flash_v2_5"), http)
    await provider.synthesize(SpeechRequest(text="Hi", voice="my/voice", model="eleven_v3"))
    assert json.loads(route.calls.last.request.content)["model_id"] == "eleven_v3"


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (401, detail("invalid_api_key", "Invalid API key"), ProviderAuthError),
        (401, detail("quota_exceeded", "This request exceeds your quota of 10000."), ProviderQuotaExceeded),
        (402, detail("payment_required", "Upgrade your plan"), ProviderQuotaExceeded),
        (403, detail("missing_permissions", "The API key lacks text_to_speech"), ProviderAuthError),
        (400, detail("voice_not_found", "A voice with that id was not found."), ProviderInvalidRequest),
        (
            422,
            {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}]},
            ProviderInvalidRequest,
        ),
        (429, detail("too_many_concurrent_requests", "Too many concurrent requests"), ProviderRateLimited),
        (500, detail("internal_error", "Something went wrong"), ProviderUnavailable),
        (503, {"detail": "Service unavailable"}, ProviderUnavailable),
    ],
)
async def test_http_errors_map_onto_the_tree(provider, router, status, body, exc):
    """ElevenLabs' detail object, list or string maps to our error with its message; quota by detail.status."""
    router.post(URL).respond(status, json=body)
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert info.value.status_code == status and info.value.provider == "elevenlabs"
    found = body["detail"]
    expected = found if isinstance(found, str) else found["message"] if isinstance(found, dict) else "field required"
    assert expected in str(info.value)


async def test_rate_limit_carries_retry_after(provider, router):
    """A 429 with Retry-After is ProviderRateLimited with retry_after seconds."""
    router.post(URL).respond(429, json=detail("system_busy", "busy"), headers={"Retry-After": "2"})
    with pytest.raises(ProviderRateLimited) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"audio_base64": "AAAA"}),
        httpx.Response(200, text="<html></html>"),
        httpx.Response(200),
    ],
)
async def test_a_200_that_is_no_audio_is_a_bad_response(provider, router, response):
    """JSON, HTML or an empty body under 200 is ProviderBadResponse."""
    router.post(URL).mock(return_value=response)
    with pytest.raises(ProviderBadResponse):
        await provider.synthesize(SpeechRequest(text="Hello."))


async def test_the_key_is_masked_when_elevenlabs_echoes_it(provider, router):
    """A message that repeats the key does not carry it into our exception."""
    router.post(URL).respond(401, json=detail("invalid_api_key", f"Invalid API key: {KEY}"))
    with pytest.raises(ProviderAuthError) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_transport_failure_is_unreachable(provider, router):
    """A read timeout is ProviderUnreachable, chained, and may have been sent."""
    router.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnreachable) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert isinstance(info.value.__cause__, httpx.ReadTimeout) and info.value.sent is True


async def test_missing_key_empty_or_overlong_text_sends_nothing(http, router):
    """No key: ProviderNotConfigured; blank text, or over eleven_v3's 5,000 characters: ProviderInvalidRequest."""
    with pytest.raises(ProviderNotConfigured):
        await ElevenLabsSpeechProvider(make_config(api_key=None), http).synthesize(SpeechRequest(text="Hello."))
    provider = ElevenLabsSpeechProvider(make_config(), http)
    with pytest.raises(ProviderInvalidRequest):
        await provider.synthesize(SpeechRequest(text=""))
    with pytest.raises(ProviderInvalidRequest, match="at most 5000"):
        await provider.synthesize(SpeechRequest(text="a" * 5001, model="eleven_v3"))
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed
