"""DoubaoSpeechProvider against a respx-mocked v3 unidirectional endpoint (PROVIDERS.md 18): JSON lines with
base64 audio chunks, ended by code 20000000."""

from __future__ import annotations

import base64
import json
import uuid
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
from providers.speech.doubao import DoubaoSpeechProvider, _build_request, _parse_stream

BASE = "https://openspeech.bytedance.com"
URL = f"{BASE}/api/v3/tts/unidirectional"
ACCESS_KEY = "dbx-access-token-Zq8mP3vR7sT1"
APP_ID = "1234567890"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(300)
DONE = {"code": 20000000, "message": "ok", "data": None, "usage": {"text_words": 5}}


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "doubao", "base_url": BASE, "api_key": ACCESS_KEY, "secret_key": APP_ID}
    values.update(overrides)
    return ProviderConfig(**values)


def stream(*items: dict[str, Any], audio: bytes = MP3, pieces: int = 3) -> bytes:
    """The audio as ``pieces`` base64 chunk lines, then ``items`` (the final line by default)."""
    size = -(-len(audio) // pieces)
    lines = [
        {"code": 0, "message": "", "data": base64.b64encode(audio[i : i + size]).decode()}
        for i in range(0, len(audio), size)
    ]
    lines.append({"code": 0, "message": "", "data": None, "sentence": {"text": "你好"}})
    lines.extend(items or [DONE])
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def ok(content: bytes) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": "application/json", "X-Tt-Logid": "2026X"})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> DoubaoSpeechProvider:
    return DoubaoSpeechProvider(make_config(), http)


# --- pure mapping -------------------------------------------------------------------------------------------------


def test_build_request_is_req_params_with_text_speaker_and_audio_params():
    """At speed 1 and without a language: user, and req_params with text, speaker and mp3 audio_params."""
    body = _build_request(SpeechRequest(text="你好"), "你好", speaker="zh_female_vv_uranus_bigtts")
    assert body == {
        "user": {"uid": "workspace-server"},
        "req_params": {
            "text": "你好",
            "speaker": "zh_female_vv_uranus_bigtts",
            "audio_params": {"format": "mp3", "sample_rate": 24000},
        },
    }


@pytest.mark.parametrize(("speed", "rate"), [(2.0, 100), (1.5, 50), (0.5, -50), (0.1, -50), (3.0, 100)])
def test_build_request_maps_speed_onto_speech_rate(speed, rate):
    """speed becomes speech_rate in -50..100 (100 = 2x, -50 = 0.5x)."""
    body = _build_request(SpeechRequest(text="x", speed=speed), "x", speaker="s")
    assert body["req_params"]["audio_params"]["speech_rate"] == rate


@pytest.mark.parametrize(("language", "explicit"), [("zh-CN", "zh-cn"), ("en-US", "en"), ("pt-BR", "pt-br")])
def test_build_request_sends_explicit_language_as_an_additions_json_string(language, explicit):
    """A language the API names goes in req_params.additions, itself a JSON string."""
    body = _build_request(SpeechRequest(text="x", language=language), "x", speaker="s")
    assert json.loads(body["req_params"]["additions"]) == {"explicit_language": explicit}


def test_build_request_leaves_other_languages_to_detection():
    """A language the API does not name sends no additions."""
    assert "additions" not in _build_request(SpeechRequest(text="x", language="ko"), "x", speaker="s")["req_params"]


def test_parse_stream_joins_the_chunks_and_reads_concatenated_objects():
    """Chunks on their own lines and several objects on one line are all read, up to code 20000000."""
    one_line = stream().replace(b"\n", b"")
    for content in (stream(), one_line):
        result = _parse_stream(ok(content), ACCESS_KEY)
        assert (result.data, result.content_type, result.duration_s) == (MP3, "audio/mpeg", None)


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol(http):
    """The class is a SpeechProvider named doubao on openspeech.bytedance.com."""
    provider = DoubaoSpeechProvider(make_config(api_key=None), http)
    assert isinstance(provider, SpeechProvider)
    assert (provider.name, DoubaoSpeechProvider.default_base_url) == ("doubao", BASE)


async def test_synthesize_sends_the_three_headers_and_joins_the_stream(provider, router):
    """POST /api/v3/tts/unidirectional with X-Api-App-Id, X-Api-Access-Key, X-Api-Resource-Id (and a request id),
    the JSON body; the base64 chunks joined are the MP3."""
    route = router.post(URL).mock(return_value=ok(stream()))

    text = " 你好\uff0c世界。 "  # a Chinese comma
    result = await provider.synthesize(SpeechRequest(text=text, language="zh"))

    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["x-api-app-id"] == APP_ID
    assert request.headers["x-api-access-key"] == ACCESS_KEY
    assert request.headers["x-api-resource-id"] == "seed-tts-2.0"
    assert uuid.UUID(request.headers["x-api-request-id"])
    assert "authorization" not in request.headers and "x-api-key" not in request.headers
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body["req_params"]["text"] == text.strip()
    assert body["req_params"]["speaker"] == "zh_female_vv_uranus_bigtts"
    assert json.loads(body["req_params"]["additions"]) == {"explicit_language": "zh-cn"}
    assert (result.data, result.content_type) == (MP3, "audio/mpeg")


async def test_the_resource_picks_its_default_speaker_and_a_voice_overrides_it(http, router):
    """config.model is the resource id; seed-tts-1.0 gets a *_moon_bigtts speaker; request.voice wins."""
    route = router.post(URL).mock(side_effect=lambda request: ok(stream()))
    provider = DoubaoSpeechProvider(make_config(model="seed-tts-1.0"), http)
    await provider.synthesize(SpeechRequest(text="hi"))
    await provider.synthesize(SpeechRequest(text="hi", voice="en_male_glen_moon_bigtts"))
    sent = [
        (c.request.headers["x-api-resource-id"], json.loads(c.request.content)["req_params"]["speaker"])
        for c in route.calls
    ]
    assert sent == [
        ("seed-tts-1.0", "zh_female_shuangkuaisisi_moon_bigtts"),
        ("seed-tts-1.0", "en_male_glen_moon_bigtts"),
    ]


async def test_a_clone_resource_without_a_voice_is_refused_unsent(http, router):
    """A resource with no default speaker (a voice clone) needs request.voice; nothing is sent without it."""
    with pytest.raises(ProviderInvalidRequest, match="name a voice"):
        await DoubaoSpeechProvider(make_config(model="seed-icl-2.0"), http).synthesize(SpeechRequest(text="hi"))
    assert not router.calls


async def test_without_an_app_id_the_key_goes_alone_as_x_api_key(http, router):
    """No APP ID (secret_key): the newer console's single X-Api-Key header, no App-Id/Access-Key."""
    route = router.post(URL).mock(return_value=ok(stream()))
    await DoubaoSpeechProvider(make_config(secret_key=None), http).synthesize(SpeechRequest(text="hi"))
    headers = route.calls.last.request.headers
    assert headers["x-api-key"] == ACCESS_KEY and "x-api-app-id" not in headers and "x-api-access-key" not in headers


@pytest.mark.parametrize(
    ("code", "message", "exc"),
    [
        (45000000, "quota exceeded for types: concurrency", ProviderRateLimited),
        (45000292, "quota exceeded for types: qps", ProviderRateLimited),
        (45000000, "quota exceeded for types: tts_lifetime", ProviderQuotaExceeded),
        (45000000, "speaker permission denied: get resource id: access denied", ProviderAuthError),
        (45000000, "payload unmarshal: invalid character", ProviderInvalidRequest),
        (45000001, "[Invalid argument] speaker not found", ProviderInvalidRequest),
        (45002001, "No readable text!", ProviderInvalidRequest),
        (55000000, "synthesis processing timeout", ProviderUnavailable),
    ],
)
async def test_an_error_line_in_the_stream_maps_onto_the_tree(provider, router, code, message, exc):
    """A line with a code other than 0 / 20000000 raises its error, with Doubao's message and code."""
    router.post(URL).mock(return_value=ok(stream({"code": code, "message": message, "data": None})))
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="hi"))
    assert f"{message} (code {code})" in str(info.value) and info.value.provider == "doubao"


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (
            401,
            {"code": 45000000, "message": "authenticate request: load grant: requested grant not found"},
            ProviderAuthError,
        ),
        (401, None, ProviderAuthError),
        (403, None, ProviderAuthError),
        (400, {"code": 45000001, "message": "[Invalid argument] EmptyRequest"}, ProviderInvalidRequest),
        (400, None, ProviderInvalidRequest),
        (429, {"code": 45000292, "message": "quota exceeded for types: concurrency"}, ProviderRateLimited),
        (500, {"code": 55000000, "message": "internal error"}, ProviderUnavailable),
        (502, None, ProviderUnavailable),
    ],
)
async def test_http_errors_map_by_body_code_or_status(provider, router, status, body, exc):
    """Non-2xx answers map by Doubao's code when the body has one, else by the HTTP status."""
    if body is None:
        router.post(URL).respond(status, text="<html>gateway</html>")
    else:
        router.post(URL).respond(status, json=body)
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="hi"))
    assert info.value.status_code == status


async def test_http_429_with_retry_after_is_rate_limited(provider, router):
    """A 429 with Retry-After carries it as retry_after."""
    router.post(URL).respond(
        429, json={"code": 45000292, "message": "quota exceeded for types: qps"}, headers={"Retry-After": "4"}
    )
    with pytest.raises(ProviderRateLimited) as info:
        await provider.synthesize(SpeechRequest(text="hi"))
    assert info.value.retry_after == 4.0


@pytest.mark.parametrize(
    "content",
    [
        stream()[: -len(json.dumps(DONE)) - 1],  # cut before the final line
        b"<html>oops</html>",
        b'{"code": 0, "data": "***not base64***"}\n' + json.dumps(DONE).encode(),
        b"[1, 2]\n",
        json.dumps(DONE).encode(),  # ended, but no audio at all
        stream(audio=b"just some text, not audio"),
    ],
)
async def test_a_malformed_stream_is_a_bad_response(provider, router, content):
    """No final line, a line that is not JSON or not an object, a chunk that is not base64, or no audio:
    ProviderBadResponse."""
    router.post(URL).mock(return_value=ok(content))
    with pytest.raises(ProviderBadResponse):
        await provider.synthesize(SpeechRequest(text="hi"))


async def test_the_key_is_masked_when_doubao_echoes_it(provider, router):
    """A message that repeats the access key does not carry it into our exception."""
    router.post(URL).respond(401, json={"code": 45000000, "message": f"access denied for token {ACCESS_KEY}"})
    with pytest.raises(ProviderAuthError) as info:
        await provider.synthesize(SpeechRequest(text="hi"))
    assert ACCESS_KEY not in str(info.value) and "***" in str(info.value)


async def test_transport_failure_is_unreachable(provider, router):
    """A timeout is ProviderUnreachable, chained."""
    router.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnreachable) as info:
        await provider.synthesize(SpeechRequest(text="hi"))
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


async def test_missing_key_or_empty_text_sends_nothing(http, router):
    """No access key: ProviderNotConfigured; blank text: ProviderInvalidRequest; no request leaves."""
    with pytest.raises(ProviderNotConfigured):
        await DoubaoSpeechProvider(make_config(api_key=None), http).synthesize(SpeechRequest(text="hi"))
    with pytest.raises(ProviderInvalidRequest):
        await DoubaoSpeechProvider(make_config(), http).synthesize(SpeechRequest(text="\t"))
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed
