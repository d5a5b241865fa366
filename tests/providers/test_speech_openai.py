"""OpenAISpeechProvider against a respx-mocked ``POST /v1/audio/speech`` (facts: PROVIDERS.md sections 18 and 8)."""

from __future__ import annotations

import json
import struct
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
from providers.speech._text import split_sentences
from providers.speech.openai import INPUT_LIMIT, OpenAISpeechProvider, _build_request

BASE = "https://api.openai.com/v1"
URL = f"{BASE}/audio/speech"
KEY = "sk-proj-test-secret-key-0123456789"
PCM = struct.pack("<8h", 0, 1000, -1000, 2000, -2000, 3000, -3000, 0)  # 8 samples, 16 bytes


def make_config(**overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {"name": "openai", "base_url": BASE, "api_key": KEY}
    values.update(overrides)
    return ProviderConfig(**values)


def pcm_response(samples: bytes = PCM) -> httpx.Response:
    return httpx.Response(200, content=samples, headers={"content-type": "audio/pcm"})


def error_body(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> OpenAISpeechProvider:
    return OpenAISpeechProvider(make_config(), http)


# --- pure mapping -------------------------------------------------------------------------------------------------


def test_build_request_asks_for_headerless_pcm_and_omits_speed_1():
    """The body has model, input, voice and response_format pcm; speed 1 is not sent."""
    body = _build_request(SpeechRequest(text="Hi."), "Hi.", model="gpt-4o-mini-tts", voice="alloy")
    assert body == {"model": "gpt-4o-mini-tts", "input": "Hi.", "voice": "alloy", "response_format": "pcm"}


@pytest.mark.parametrize(("speed", "sent"), [(1.5, 1.5), (0.1, 0.25), (9.0, 4.0)])
def test_build_request_clamps_speed_to_openai_range(speed, sent):
    """A speed other than 1 is sent, within OpenAI's 0.25-4."""
    assert _build_request(SpeechRequest(text="x", speed=speed), "x", model="m", voice="v")["speed"] == sent


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_build_request_refuses_a_speed_that_is_no_positive_number(speed):
    """Zero, negative or non-finite speeds are refused before anything is sent."""
    with pytest.raises(ProviderInvalidRequest):
        _build_request(SpeechRequest(text="x", speed=speed), "x", model="m", voice="v")


def test_split_sentences_packs_whole_sentences_under_the_limit():
    """Sentences are packed greedily into chunks of at most the limit, none cut while a sentence fits."""
    text = "One two three. Four five six! Seven eight nine? Ten."
    assert split_sentences(text, 30) == ["One two three. Four five six!", "Seven eight nine? Ten."]
    assert split_sentences(text, 1000) == [text]


def test_split_sentences_cuts_an_overlong_sentence_at_a_space():
    """A sentence longer than the limit is cut at its last space before the limit, never inside a word."""
    chunks = split_sentences("alpha beta gamma delta epsilon", 12)
    assert chunks == ["alpha beta", "gamma delta", "epsilon"]
    assert split_sentences("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_sentences_splits_after_cjk_full_stops_without_spaces():
    """Chinese sentences end at their full stop or exclamation mark, with no space after them."""
    assert split_sentences("今天很好。明天也好\uff01", 6) == ["今天很好。", "明天也好\uff01"]


# --- the wire -----------------------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol_and_constructs_without_a_key(http):
    """The class is a SpeechProvider with its name and defaults; a missing key does not fail construction."""
    provider = OpenAISpeechProvider(make_config(api_key=None), http)
    assert isinstance(provider, SpeechProvider)
    assert (provider.name, OpenAISpeechProvider.default_base_url) == ("openai", BASE)


async def test_synthesize_posts_bearer_json_and_wraps_the_pcm_in_a_wav(provider, router):
    """One POST /v1/audio/speech with the Bearer key and JSON body; the PCM answer becomes a 24 kHz mono WAV."""
    route = router.post(URL).mock(return_value=pcm_response())

    result = await provider.synthesize(SpeechRequest(text="  Hello there.  ", voice="coral", speed=1.25))

    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini-tts",
        "input": "Hello there.",
        "voice": "coral",
        "response_format": "pcm",
        "speed": 1.25,
    }
    assert result.content_type == "audio/wav"
    assert result.data[:4] == b"RIFF" and result.data[8:12] == b"WAVE" and result.data[44:] == PCM
    assert struct.unpack_from("<HHIIHH", result.data, 20) == (1, 1, 24000, 48000, 2, 16)
    assert result.duration_s == pytest.approx(8 / 24000)


async def test_model_comes_from_request_then_config_then_default_and_voice_defaults_to_alloy(http, router):
    """request.model wins over config.model, which wins over gpt-4o-mini-tts; the voice defaults to alloy."""
    route = router.post(URL).mock(side_effect=lambda request: pcm_response())
    await OpenAISpeechProvider(make_config(model="tts-1-hd"), http).synthesize(SpeechRequest(text="a"))
    await OpenAISpeechProvider(make_config(model="tts-1-hd"), http).synthesize(SpeechRequest(text="a", model="tts-1"))
    await OpenAISpeechProvider(make_config(), http).synthesize(SpeechRequest(text="a"))
    sent = [json.loads(call.request.content) for call in route.calls]
    assert [(b["model"], b["voice"]) for b in sent] == [
        ("tts-1-hd", "alloy"),
        ("tts-1", "alloy"),
        ("gpt-4o-mini-tts", "alloy"),
    ]


async def test_a_text_over_4096_characters_is_sent_in_sentence_chunks_and_joined(provider, router):
    """A 9,000-character text becomes several requests of at most 4096 characters each, cut at sentence ends,
    in order; the answers' samples are joined into one WAV whose duration counts them all."""
    sentence = "This is one sentence of a long narration. "
    text = (sentence * 215).strip()  # 9,029 characters
    route = router.post(URL).mock(side_effect=lambda request: pcm_response())

    result = await provider.synthesize(SpeechRequest(text=text))

    inputs = [json.loads(call.request.content)["input"] for call in route.calls]
    assert len(inputs) == 3 and all(len(chunk) <= INPUT_LIMIT for chunk in inputs)
    assert all(chunk.endswith("narration.") for chunk in inputs)
    assert " ".join(inputs) == text
    assert result.data[44:] == PCM * 3 and result.duration_s == pytest.approx(24 / 24000)


async def test_a_failing_chunk_fails_the_whole_narration(provider, router):
    """When the second chunk's request fails, its error is raised and no partial audio is returned."""
    route = router.post(URL).mock(
        side_effect=[pcm_response(), httpx.Response(500, json=error_body("boom", "server_error"))]
    )
    with pytest.raises(ProviderUnavailable):
        await provider.synthesize(SpeechRequest(text=("Word word word. " * 400).strip()))
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (401, error_body("Incorrect API key provided", code="invalid_api_key"), ProviderAuthError),
        (403, error_body("Project does not have access", "invalid_request_error"), ProviderAuthError),
        (400, error_body("Invalid value for 'voice'"), ProviderInvalidRequest),
        (404, error_body("The model does not exist", code="model_not_found"), ProviderInvalidRequest),
        (
            429,
            error_body("You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
            ProviderQuotaExceeded,
        ),
        (500, error_body("The server had an error", "server_error"), ProviderUnavailable),
        (503, error_body("Overloaded", "server_error"), ProviderUnavailable),
    ],
)
async def test_http_errors_map_onto_the_tree(provider, router, status, body, exc):
    """Each OpenAI error status and envelope maps to its error, with OpenAI's message and the HTTP status."""
    router.post(URL).respond(status, json=body)
    with pytest.raises(exc) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert body["error"]["message"] in str(info.value) and info.value.status_code == status
    assert info.value.provider == "openai"


async def test_rate_limit_carries_retry_after(provider, router):
    """A 429 rate_limit_exceeded with Retry-After is retryable ProviderRateLimited with retry_after seconds."""
    router.post(URL).respond(
        429, json=error_body("Rate limit reached", "requests", "rate_limit_exceeded"), headers={"Retry-After": "7"}
    )
    with pytest.raises(ProviderRateLimited) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert info.value.retry_after == 7.0 and info.value.retryable


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"object": "list"}),
        httpx.Response(200, text="<html>gateway</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b"", headers={"content-type": "audio/pcm"}),
        httpx.Response(200, content=b"\x01\x02\x03", headers={"content-type": "audio/pcm"}),
    ],
)
async def test_an_answer_that_is_no_pcm_is_a_bad_response(provider, router, response):
    """A 200 with JSON, HTML, no bytes or an odd number of bytes is ProviderBadResponse, not audio."""
    router.post(URL).mock(return_value=response)
    with pytest.raises(ProviderBadResponse):
        await provider.synthesize(SpeechRequest(text="Hello."))


async def test_the_key_is_masked_when_openai_echoes_it(provider, router):
    """An error message that repeats the key does not carry it into our exception."""
    router.post(URL).respond(401, json=error_body(f"Incorrect API key provided: {KEY}", code="invalid_api_key"))
    with pytest.raises(ProviderAuthError) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_transport_failure_is_unreachable_and_chained(provider, router):
    """A read timeout becomes ProviderUnreachable raised from the httpx error, naming no key."""
    router.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnreachable) as info:
        await provider.synthesize(SpeechRequest(text="Hello."))
    assert isinstance(info.value.__cause__, httpx.ReadTimeout) and KEY not in str(info.value)


async def test_missing_key_or_empty_text_sends_nothing(http, router):
    """No key is ProviderNotConfigured, blank text is ProviderInvalidRequest; neither sends a request."""
    with pytest.raises(ProviderNotConfigured):
        await OpenAISpeechProvider(make_config(api_key=None), http).synthesize(SpeechRequest(text="Hello."))
    with pytest.raises(ProviderInvalidRequest):
        await OpenAISpeechProvider(make_config(), http).synthesize(SpeechRequest(text=" \n "))
    assert not router.calls


async def test_aclose_leaves_the_shared_client_open(provider, http):
    """aclose is a no-op: the app owns the client."""
    await provider.aclose()
    assert not http.is_closed
