"""The OpenAI Chat Completions wire format (PROVIDERS.md 8), shared by OpenAI, Qwen (DashScope compatible mode)
and Doubao (Volcengine Ark): request building, SSE chunk parsing (``data: ...`` until ``data: [DONE]``), and the
``{"error": {...}}`` envelope, including ``insufficient_quota`` under 429 (never retried)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from providers.base import ChatMessage, ProviderConfig
from providers.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderUnavailable,
)
from providers.http import classify_http_error
from providers.llm._streaming import Sleep, stream_with_retries

QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "Arrearage", "AccountOverdueError"}


# A chat answer stays short; a JSON answer may be a whole storyboard (24 shots of ~150 tokens each): cut off, its
# JSON would not parse.
TEXT_MAX_TOKENS = 1024
JSON_MAX_TOKENS = 4096


def build_request(
    model: str, messages: list[ChatMessage], *, system: str | None, json_mode: bool, max_tokens: int | None = None
) -> dict[str, Any]:
    max_tokens = max_tokens or (JSON_MAX_TOKENS if json_mode else TEXT_MAX_TOKENS)
    wire = [{"role": "system", "content": system}] if system else []
    wire += [{"role": m.role, "content": m.content} for m in messages]
    body: dict[str, Any] = {"model": model, "messages": wire, "stream": True, "max_completion_tokens": max_tokens}
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    return body


def parse_chunk(data: str, *, provider: str) -> str:
    """Text of one ``data:`` chunk ('' for role-only, finish and usage chunks); an ``error`` object raises."""
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise ProviderBadResponse(f"{provider}: unreadable stream chunk", provider=provider) from exc
    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
        message = str(chunk["error"].get("message") or "error in the stream")
        raise ProviderUnavailable(f"{provider}: {message}", provider=provider)
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""


def parse_error(status: int, body: bytes, headers: httpx.Headers, *, provider: str) -> ProviderError:
    message, code, kind = f"HTTP {status}", "", ""
    try:
        data = json.loads(body)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or message)
            code = str(err.get("code") or "")
            kind = str(err.get("type") or "")
        elif isinstance(err, str):
            message = err
    except ValueError:
        pass
    text = f"{provider}: {message}"
    if code in QUOTA_CODES or kind in QUOTA_CODES:
        return ProviderQuotaExceeded(text, provider=provider, status_code=status)
    return classify_http_error(httpx.Response(status, headers=headers), text, provider=provider)


class OpenAICompatibleProvider:
    """Base of the OpenAI-compatible adapters; subclasses set ``name``, ``default_base_url``, ``default_model``
    and may add fields with ``extra_body``."""

    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-4o-mini"
    needs_key = True

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self.http = http
        self.model = config.model or self.default_model
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self._sleep = sleep

    def extra_body(self) -> dict[str, Any]:
        return {}

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}

    async def stream(
        self, messages: list[ChatMessage], *, system: str | None = None, json_mode: bool = False
    ) -> AsyncIterator[str]:
        if self.needs_key and not self.config.api_key:
            raise ProviderNotConfigured(f"{self.name}: no API key configured", provider=self.name)
        body = {**build_request(self.model, messages, system=system, json_mode=json_mode), **self.extra_body()}
        url = f"{self.base_url}/chat/completions"

        def open_stream() -> Any:
            return _sse_response(self.http, url, body, self.headers())

        async def deltas(response: httpx.Response) -> AsyncIterator[str]:
            async for data in _sse_data(response):
                if data.strip() == "[DONE]":
                    return
                yield parse_chunk(data, provider=self.name)

        async def error(response: httpx.Response) -> ProviderError:
            return parse_error(response.status_code, response.content, response.headers, provider=self.name)

        async for delta in stream_with_retries(
            provider=self.name, open=open_stream, deltas=deltas, error=error, sleep=self._sleep
        ):
            yield delta

    async def aclose(self) -> None:
        return None


class _SSEContext:
    """``aconnect_sse`` as an async context manager that yields the response itself."""

    def __init__(self, http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        self._cm = aconnect_sse(http, "POST", url, json=body, headers={**headers, "Accept": "text/event-stream"})
        self._source: Any = None

    async def __aenter__(self) -> httpx.Response:
        self._source = await self._cm.__aenter__()
        response: httpx.Response = self._source.response
        response.extensions["sse_source"] = self._source
        return response

    async def __aexit__(self, *exc: Any) -> None:
        await self._cm.__aexit__(*exc)


def _sse_response(http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> _SSEContext:
    return _SSEContext(http, url, body, headers)


async def _sse_data(response: httpx.Response) -> AsyncIterator[str]:
    source = response.extensions["sse_source"]
    async for event in source.aiter_sse():
        yield event.data
