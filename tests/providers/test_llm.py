"""LLM adapters at the wire (respx), with the streaming shapes of PROVIDERS.md 8-12."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from providers import (
    LLM_PROVIDERS,
    ChatMessage,
    LLMProvider,
    ProviderAuthError,
    ProviderConfig,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
    llm_provider_class,
)
from providers.llm._openai_compat import build_request as openai_compat_build
from providers.llm.claude import ClaudeProvider
from providers.llm.claude import build_request as claude_build
from providers.llm.doubao import DoubaoProvider
from providers.llm.ollama import OllamaProvider
from providers.llm.openai import OpenAIProvider
from providers.llm.qwen import QwenProvider

KEY = "sk-secret-key-value"
MSGS = [ChatMessage("user", "hi"), ChatMessage("assistant", "hello"), ChatMessage("user", "help")]
slept: list[float] = []


async def no_sleep(seconds: float) -> None:
    slept.append(seconds)


def sse(*chunks: str) -> bytes:
    return "".join(f"data: {c}\n\n" for c in chunks).encode()


def chunk(text: str) -> str:
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
        }
    )


OPENAI_STREAM = sse(
    json.dumps({"id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
    chunk("Hel"),
    chunk("lo"),
    json.dumps({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    json.dumps({"id": "c", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
    "[DONE]",
)


async def collect(provider: LLMProvider, **kwargs) -> str:
    return "".join([d async for d in provider.stream(MSGS, system="be brief", **kwargs)])


def make(cls, base: str, key: str | None = KEY):
    slept.clear()
    return cls(ProviderConfig(name=cls.name, base_url=base, api_key=key), httpx.AsyncClient(), sleep=no_sleep)


def test_registry_entries_load_and_satisfy_the_protocol() -> None:
    """Every registered LLM provider imports and satisfies LLMProvider."""
    for name in LLM_PROVIDERS:
        cls = llm_provider_class(name)
        instance = cls(ProviderConfig(name=name, base_url=cls.default_base_url), httpx.AsyncClient())
        assert isinstance(instance, LLMProvider) and instance.name == name and instance.model


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (OpenAIProvider, "https://api.openai.com/v1"),
        (QwenProvider, "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        (DoubaoProvider, "https://ark.cn-beijing.volces.com/api/v3"),
    ],
)
@respx.mock
async def test_openai_compatible_request_and_stream(cls, base) -> None:
    """POST {base}/chat/completions with Bearer auth, system first, stream true; deltas joined until [DONE]."""
    route = respx.post(f"{base}/chat/completions").mock(
        return_value=httpx.Response(200, content=OPENAI_STREAM, headers={"content-type": "text/event-stream"})
    )
    assert await collect(make(cls, base), json_mode=True) == "Hello"
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body["stream"] is True and body["model"] == cls.default_model
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert [m["content"] for m in body["messages"][1:]] == ["hi", "hello", "help"]
    assert body["response_format"] == {"type": "json_object"}
    assert ("enable_thinking" in body) == (cls is QwenProvider)


@respx.mock
async def test_openai_errors_map_onto_the_tree_without_the_key() -> None:
    """401 -> auth, 400 -> invalid request, insufficient_quota under 429 -> quota (one call, no retry)."""
    base = "https://api.openai.com/v1"
    provider = make(OpenAIProvider, base)
    for status, body, exc in [
        (
            401,
            {"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
            ProviderAuthError,
        ),
        (
            400,
            {"error": {"message": "bad model", "type": "invalid_request_error", "code": None}},
            ProviderInvalidRequest,
        ),
        (
            429,
            {
                "error": {
                    "message": "You exceeded your quota",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
            ProviderQuotaExceeded,
        ),
    ]:
        respx.reset()
        route = respx.post(f"{base}/chat/completions").mock(return_value=httpx.Response(status, json=body))
        with pytest.raises(exc) as info:
            await collect(provider)
        assert route.call_count == 1 and KEY not in str(info.value)
        assert body["error"]["message"] in str(info.value)


@respx.mock
async def test_rate_limit_and_5xx_are_retried_before_the_first_token() -> None:
    """429 with retry-after-ms (preferred over retry-after) and a 500 are retried; then the stream succeeds."""
    base = "https://api.openai.com/v1"
    route = respx.post(f"{base}/chat/completions").mock(
        side_effect=[
            httpx.Response(
                429,
                json={"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
                headers={"retry-after-ms": "1500", "retry-after": "9"},
            ),
            httpx.Response(500, json={"error": {"message": "oops"}}),
            httpx.Response(200, content=OPENAI_STREAM, headers={"content-type": "text/event-stream"}),
        ]
    )
    assert await collect(make(OpenAIProvider, base)) == "Hello"
    assert route.call_count == 3 and slept[0] == 1.5


@respx.mock
async def test_retries_give_up_after_three_attempts() -> None:
    """A 429 that keeps coming is raised as ProviderRateLimited with its retry_after after 3 attempts."""
    base = "https://api.openai.com/v1"
    route = respx.post(f"{base}/chat/completions").mock(
        return_value=httpx.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after": "2"})
    )
    with pytest.raises(ProviderRateLimited) as info:
        await collect(make(OpenAIProvider, base))
    assert route.call_count == 3 and info.value.retry_after == 2


@respx.mock
async def test_no_retry_after_tokens_were_sent() -> None:
    """An error chunk after the first token ends the stream; nothing is retried."""
    base = "https://api.openai.com/v1"
    broken = sse(chunk("Hel"), json.dumps({"error": {"message": "server had an error"}}))
    route = respx.post(f"{base}/chat/completions").mock(
        return_value=httpx.Response(200, content=broken, headers={"content-type": "text/event-stream"})
    )
    got = []
    with pytest.raises(ProviderUnavailable):
        async for delta in make(OpenAIProvider, base).stream(MSGS):
            got.append(delta)
    assert got == ["Hel"] and route.call_count == 1


@respx.mock
async def test_missing_key_sends_nothing() -> None:
    """Without a key the adapter raises ProviderNotConfigured before any request."""
    route = respx.post("https://api.openai.com/v1/chat/completions")
    for cls in (OpenAIProvider, QwenProvider, DoubaoProvider, ClaudeProvider):
        with pytest.raises(ProviderNotConfigured):
            await collect(make(cls, cls.default_base_url, key=None))
    assert route.call_count == 0


def claude_events(*events: tuple[str, dict]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


CLAUDE_OK = claude_events(
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "claude-sonnet-4-5",
            },
        },
    ),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    ),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
    ("message_stop", {"type": "message_stop"}),
)


@respx.mock
async def test_claude_request_and_stream() -> None:
    """x-api-key + anthropic-version headers, system top-level, max_tokens; text from content_block_delta."""
    route = respx.post("https://api.anthropic.com/v1/messages").mock(
        return_value=httpx.Response(200, content=CLAUDE_OK, headers={"content-type": "text/event-stream"})
    )
    assert await collect(make(ClaudeProvider, "https://api.anthropic.com")) == "Hello"
    request = route.calls.last.request
    assert request.headers["x-api-key"] == KEY and request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.content)
    assert body["system"] == "be brief" and body["max_tokens"] > 0 and body["stream"] is True
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


@respx.mock
async def test_claude_error_event_after_200_and_529_retry() -> None:
    """An `event: error` after HTTP 200 before any text is retried (overloaded); a 529 is retried too."""
    overloaded = claude_events(
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    )
    route = respx.post("https://api.anthropic.com/v1/messages").mock(
        side_effect=[
            httpx.Response(200, content=overloaded, headers={"content-type": "text/event-stream"}),
            httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            httpx.Response(200, content=CLAUDE_OK, headers={"content-type": "text/event-stream"}),
        ]
    )
    assert await collect(make(ClaudeProvider, "https://api.anthropic.com")) == "Hello"
    assert route.call_count == 3


@respx.mock
async def test_claude_invalid_request_is_not_retried() -> None:
    """400 invalid_request_error raises ProviderInvalidRequest with Anthropic's message, once."""
    route = respx.post("https://api.anthropic.com/v1/messages").mock(
        return_value=httpx.Response(
            400, json={"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: required"}}
        )
    )
    with pytest.raises(ProviderInvalidRequest, match="max_tokens: required"):
        await collect(make(ClaudeProvider, "https://api.anthropic.com"))
    assert route.call_count == 1


@respx.mock
async def test_ollama_ndjson_stream() -> None:
    """POST /api/chat with stream true and format json; NDJSON lines until done: true."""
    lines = [
        {"model": "llama3.2", "message": {"role": "assistant", "content": "Hel"}, "done": False},
        {"model": "llama3.2", "message": {"role": "assistant", "content": "lo"}, "done": False},
        {
            "model": "llama3.2",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 5043500667,
        },
    ]
    route = respx.post("http://localhost:11434/api/chat").mock(
        return_value=httpx.Response(
            200,
            content="\n".join(json.dumps(x) for x in lines).encode(),
            headers={"content-type": "application/x-ndjson"},
        )
    )
    provider = make(OllamaProvider, "http://localhost:11434", key=None)
    assert await collect(provider, json_mode=True) == "Hello"
    body = json.loads(route.calls.last.request.content)
    assert body["stream"] is True and body["format"] == "json" and body["messages"][0]["role"] == "system"
    assert "authorization" not in route.calls.last.request.headers


@respx.mock
async def test_ollama_model_not_found() -> None:
    """Ollama's 404 {"error": ...} becomes ProviderInvalidRequest with its message."""
    respx.post("http://localhost:11434/api/chat").mock(
        return_value=httpx.Response(404, json={"error": 'model "foo" not found, try pulling it first'})
    )
    with pytest.raises(ProviderInvalidRequest, match="not found"):
        await collect(make(OllamaProvider, "http://localhost:11434", key=None))


@pytest.mark.parametrize(
    ("build", "field"),
    [(openai_compat_build, "max_completion_tokens"), (claude_build, "max_tokens")],
)
def test_json_answers_get_room_for_a_whole_storyboard(build, field) -> None:
    """A JSON answer (a storyboard of up to 24 shots) is allowed 4096 tokens; a chat answer stays at 1024. Cut off
    at 1024, a long storyboard's JSON did not parse and the job failed."""
    messages = [ChatMessage("user", "a story")]
    assert build("m", messages, system=None, json_mode=True)[field] == 4096
    assert build("m", messages, system=None, json_mode=False)[field] == 1024
    assert build("m", messages, system=None, json_mode=False, max_tokens=50)[field] == 50
