"""Anthropic Messages API (PROVIDERS.md 9), streamed: named SSE events, text from ``content_block_delta``, the
stream ends at ``message_stop`` (no ``[DONE]``); errors may arrive as ``event: error`` after HTTP 200; 529
(overloaded) is retryable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from providers.base import ChatMessage, ProviderConfig
from providers.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.http import classify_http_error
from providers.llm._openai_compat import _sse_response
from providers.llm._streaming import Sleep, stream_with_retries

API_VERSION = "2023-06-01"
JSON_INSTRUCTION = " Reply with a single JSON object and nothing else."
RETRYABLE_TYPES = {"overloaded_error", "api_error", "timeout_error"}


# A chat answer stays short; a JSON answer may be a whole storyboard (24 shots of ~150 tokens each): cut off, its
# JSON would not parse.
TEXT_MAX_TOKENS = 1024
JSON_MAX_TOKENS = 4096


def build_request(
    model: str, messages: list[ChatMessage], *, system: str | None, json_mode: bool, max_tokens: int | None = None
) -> dict[str, Any]:
    max_tokens = max_tokens or (JSON_MAX_TOKENS if json_mode else TEXT_MAX_TOKENS)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
    }
    system_text = (system or "") + (JSON_INSTRUCTION if json_mode else "")
    if system_text:
        body["system"] = system_text.strip()
    return body


def error_from_body(status: int | None, data: Any, headers: httpx.Headers | None = None) -> ProviderError:
    err = data.get("error") if isinstance(data, dict) else None
    kind = str(err.get("type") or "") if isinstance(err, dict) else ""
    message = f"claude: {err.get('message') if isinstance(err, dict) else 'HTTP ' + str(status)}"
    if kind == "billing_error":
        return ProviderQuotaExceeded(message, provider="claude", status_code=status)
    if kind == "rate_limit_error":
        retry = classify_http_error(httpx.Response(429, headers=headers or {}), message, provider="claude")
        return retry if isinstance(retry, ProviderRateLimited) else ProviderRateLimited(message, provider="claude")
    if kind in RETRYABLE_TYPES or status == 529:
        return ProviderUnavailable(message, provider="claude", status_code=status)
    if status is None:
        return ProviderInvalidRequest(message, provider="claude")
    return classify_http_error(httpx.Response(status, headers=headers or {}), message, provider="claude")


def parse_event(event: str, data: str) -> str | None:
    """Text of one event; None at ``message_stop``; ``error`` events raise."""
    if event == "message_stop":
        return None
    if event not in ("content_block_delta", "error"):
        return ""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise ProviderBadResponse("claude: unreadable stream event", provider="claude") from exc
    if event == "error":
        raise error_from_body(None, payload)
    delta = payload.get("delta") or {}
    return delta.get("text", "") if delta.get("type") == "text_delta" else ""


class ClaudeProvider:
    name = "claude"
    default_base_url = "https://api.anthropic.com"
    default_model = "claude-sonnet-4-5"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self.http = http
        self.model = config.model or self.default_model
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self._sleep = sleep

    async def stream(
        self, messages: list[ChatMessage], *, system: str | None = None, json_mode: bool = False
    ) -> AsyncIterator[str]:
        if not self.config.api_key:
            raise ProviderNotConfigured("claude: no API key configured", provider=self.name)
        body = build_request(self.model, messages, system=system, json_mode=json_mode)
        headers = {"x-api-key": self.config.api_key, "anthropic-version": API_VERSION}
        url = f"{self.base_url}/v1/messages"

        def open_stream() -> Any:
            return _sse_response(self.http, url, body, headers)

        async def deltas(response: httpx.Response) -> AsyncIterator[str]:
            async for sse in response.extensions["sse_source"].aiter_sse():
                text = parse_event(sse.event, sse.data)
                if text is None:
                    return
                yield text

        async def error(response: httpx.Response) -> ProviderError:
            try:
                data = json.loads(response.content)
            except ValueError:
                data = None
            return error_from_body(response.status_code, data, response.headers)

        async for delta in stream_with_retries(
            provider=self.name, open=open_stream, deltas=deltas, error=error, sleep=self._sleep
        ):
            yield delta

    async def aclose(self) -> None:
        return None
