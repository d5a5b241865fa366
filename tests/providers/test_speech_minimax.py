"""MinimaxSpeechProvider against a respx-mocked ``POST /v1/t2a_v2`` (facts: PROVIDERS.md sections 18 and 7b)."""

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
from providers.speech._audio import pcm_to_wav
from providers.speech.minimax import MinimaxSpeechProvider, _build_request, _parse_audio

BASE = "https://api.minimax.io"
URL = f"{BASE}/v1/t2a_v2"
KEY = "mm-eyJhbGciOiJSUzI1NiJ9.speech-secret"
OK = {"status_code": 0, "status_msg": "success"}
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(413)  # an ID3 tag, then an MPEG frame


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "minimax", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def t2a_body(audio: bytes = MP3, **extra_info: Any) -> dict[str, Any]:
    return {
        "data": {"audio": audio.hex(), "status": 2, "ced": ""},
        "extra_info": {
            "audio_length": 2350,
            "audio_sample_rate": 32000,
            "audio_size": len(audio),
            "bitrate": 128000,
            "audio_format": "mp3",
            "audio_channel": 1,
            "usage_characters": 12,
            **extra_info,
        },
        "trace_id": "01b8bf9bb7433cc75c18eee6cfa8fe21",
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
def provider(http: httpx.AsyncClient) -> MinimaxSpeechProvider:
    return MinimaxSpeechProvider(make_config(), http)


# --- pure mapping -------------------------------------------------------------------------------------------------


def test_build_request_has_the_documented_fields():
    """model, text, stream false, voice_setting and audio_setting as section 18 lists them; no language_boost
    without a language."""
    body = _build_request(SpeechRequest(text="Hello."), "Hello.", model="speech-2.8-hd", voice="Wise_Woman")
    assert body == {
        "model": "speech-2.8-hd",
        "text": "Hello.",
        "stream": False,
        "voice_setting": {"voice_id": "Wise_Woman", "speed": 1.0, "vol": 1.0, "pitch": 0},
        "audio_setting": {"sample_rate": 32000, "bitrate": 128000, "format": "mp3", "channel": 1},
    }


@pytest.mark.parametrize(
    ("language", "boost"), [("de-DE", "German"), ("zh", "Chinese"), ("pt_BR", "Portuguese"), ("tlh", "auto")]
)
def test_build_request_maps_the_language_to_language_boost(language, boost):
    """A BCP-47 language becomes MiniMax's language name; one we do not map is "auto"."""
    body = _build_request(SpeechRequest(text="x", language=language), "x", model="m", voice="v")
    assert body["language_boost"] == boost


@pytest.mark.parametrize(("speed", "sent"), [(1.3, 1.3), (0.2, 0.5), (3.0, 2.0)])
def test_build_request_clamps_speed_to_minimax_range(speed, sent):
    """voice_setting.speed stays within MiniMax's 0.5-2."""
    body = _build_request(SpeechRequest(text="x", speed=speed), "x", model="m", voice="v")
    assert body["voice_setting"]["speed"] == sent


def test_parse_audio_decodes_hex_and_takes_audio_length_in_ms():
    """data.audio hex becomes the bytes, typed from their magic; extra_info.audio_length ms becomes seconds."""
    result = _parse_audio(t2a_body())
    assert (result.data, result.content_type, result.duration_s) == (MP3, "audio/mpeg", 2.35)


def test_parse_audio_measures_a_wav_when_no_length_is_given():
    """Without audio_length, a WAV answer's duration is read from its header."""
    wav = pcm_to_wav(bytes(32000 * 2), sample_rate=32000)
    body = t2a_body(wav)
    del body["extra_info"]["audio_length"]
    result = _parse_audio(body)
    assert (result.content_type, result.duration_s) == ("audio/wav", 1.0)


@pytest.mark.parametrize(
    "data",
    [
        {"base_resp": OK},
        {"data": {"audio": "", "status": 2}, "base_resp": OK},
        {"data": {"audio": "zz-not-hex", "status": 2}, "base_resp": OK},
        {"data": {"audio": b"<html>".hex(), "status": 2}, "base_resp": OK},
    ],
)
def test_parse_audio_without_usable_audio_is_a_bad_response(data):
    """No audio, non-hex audio or bytes that are no audio container are ProviderBadResponse."""
    with pytest.raises(ProviderBadResponse):
        _parse_audio(data)


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol(http):
    """The class is a SpeechProvider named minimax on the international host."""
    provider = MinimaxSpeechProvider(make_config(api_key=None), http)
    assert isinstance(provider, SpeechProvider)
    assert (provider.name, MinimaxSpeechProvider.default_base_url) == ("minimax", BASE)


async def test_synthesize_posts_bearer_json_and_returns_the_decoded_audio(provider, router):
    """POST /v1/t2a_v2 with the Bearer key and the built body; the hex audio comes back as MP3 bytes."""
    route = router.post(URL).respond(200, json=t2a_body())

    result = await provider.synthesize(SpeechRequest(text=" Good evening. ", language="en-GB", voice="Calm_Woman"))

    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        **_build_request(SpeechRequest(text="x"), "Good evening.", model="speech-2.8-hd", voice="Calm_Woman"),
        "language_boost": "English",
    }
    assert (result.data, result.content_type, result.duration_s) == (MP3, "audio/mpeg", 2.35)


async def test_the_mainland_host_and_config_model_are_used(http, router):
    """config.base_url (api.minimaxi.com) and config.model are honoured; the default voice is sent."""
    route = router.post("https://api.minimaxi.com/v1/t2a_v2").respond(200, json=t2a_body())
    config = make_config(base_url="https://api.minimaxi.com/", model="speech-2.8-turbo")
    await MinimaxSpeechProvider(config, http).synthesize(SpeechRequest(text="Hi"))
    body = json.loads(route.calls.last.request.content)
    assert (body["model"], body["voice_setting"]["voice_id"]) == ("speech-2.8-turbo", "English_expressive_narrator")


@pytest.mark.parametrize(
    ("code", "exc"),
    [
        (1002, ProviderRateLimited),
        (1004, ProviderAuthError),
        (1008, ProviderQuotaExceeded),
        (2013, ProviderInvalidRequest),
        (1000, ProviderUnavailable),
    ],
)
async def test_base_resp_codes_under_http_200_map_onto_the_tree(provider, router, code, exc):
    """HTTP 200 with base_resp.status_code != 0 raises the mapped error with MiniMax's message, never the key."""
    router.post(URL).respond(200, json={"data": None, "base_resp": {"status_code": code, "status_msg": f"bad {code}"}})
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert f"bad {code} (code {code})" in str(info.value) and KEY not in str(info.value)
    assert info.value.provider == "minimax"


async def test_http_429_with_retry_after_is_rate_limited(provider, router):
    """An HTTP 429 carries Retry-After seconds as retry_after."""
    router.post(URL).respond(429, text="Too Many Requests", headers={"Retry-After": "3"})
    with pytest.raises(ProviderRateLimited) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (401, None, ProviderAuthError),
        (403, None, ProviderAuthError),
        (400, None, ProviderInvalidRequest),
        (500, None, ProviderUnavailable),
        (502, {"base_resp": {"status_code": 1001, "status_msg": "timeout"}}, ProviderUnavailable),
        (401, {"base_resp": {"status_code": 1004, "status_msg": "login fail"}}, ProviderAuthError),
    ],
)
async def test_http_errors_map_by_body_code_or_status(provider, router, status, body, exc):
    """Non-2xx answers map by their base_resp code when there is one, else by the HTTP status."""
    if body is None:
        router.post(URL).respond(status, text="<html>error</html>")
    else:
        router.post(URL).respond(status, json=body)
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert info.value.status_code == status


async def test_a_200_that_is_not_json_is_a_bad_response(provider, router):
    """A 200 with an HTML page is ProviderBadResponse."""
    router.post(URL).respond(200, text="<html>maintenance</html>")
    with pytest.raises(ProviderBadResponse):
        await provider.synthesize(SpeechRequest(text="Hello."))


async def test_the_key_is_masked_when_minimax_echoes_it(provider, router):
    """A status_msg that repeats the key does not carry it into our exception."""
    router.post(URL).respond(200, json={"base_resp": {"status_code": 1004, "status_msg": f"invalid key {KEY}"}})
    with pytest.raises(ProviderAuthError) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_transport_failure_is_unreachable(provider, router):
    """A connection failure is ProviderUnreachable, chained, marked as never sent."""
    router.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderUnreachable) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert isinstance(info.value.__cause__, httpx.ConnectError) and info.value.sent is False


async def test_missing_key_empty_or_overlong_text_sends_nothing(http, router):
    """No key: ProviderNotConfigured; blank or 10,000-character text: ProviderInvalidRequest; no request leaves."""
    with pytest.raises(ProviderNotConfigured):
        await MinimaxSpeechProvider(make_config(api_key=None), http).synthesize(SpeechRequest(text="Hello."))
    provider = MinimaxSpeechProvider(make_config(), http)
    with pytest.raises(ProviderInvalidRequest):
        await provider.synthesize(SpeechRequest(text="   "))
    with pytest.raises(ProviderInvalidRequest, match="at most 9999"):
        await provider.synthesize(SpeechRequest(text="a" * 10_000))
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed
