"""Ollama's native chat API (PROVIDERS.md 12): ``POST /api/chat`` streams NDJSON (one JSON object per line, the
last with ``done: true``); errors are ``{"error": "..."}``, also as a line mid-stream. No key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from providers.base import ChatMessage, ProviderConfig
from providers.errors import ProviderBadResponse, ProviderError, ProviderUnavailable
from providers.http import classify_http_error
from providers.llm._streaming import Sleep, stream_with_retries


def build_request(model: str, messages: list[ChatMessage], *, system: str | None, json_mode: bool) -> dict[str, Any]:
    wire = [{"role": "system", "content": system}] if system else []
    wire += [{"role": m.role, "content": m.content} for m in messages]
    body: dict[str, Any] = {"model": model, "messages": wire, "stream": True}
    if json_mode:
        body["format"] = "json"
    return body


def parse_line(line: str) -> str | None:
    """Text of one NDJSON line; None when it is the final ``done`` line; an ``error`` line raises."""
    if not line.strip():
        return ""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ProviderBadResponse("ollama: unreadable stream line", provider="ollama") from exc
    if "error" in data:
        raise ProviderUnavailable(f"ollama: {data['error']}", provider="ollama")
    content = (data.get("message") or {}).get("content") or ""
    if data.get("done"):
        return content or None
    return str(content)


class OllamaProvider:
    name = "ollama"
    default_base_url = "http://localhost:11434"
    default_model = "llama3.2"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self.http = http
        self.model = config.model or self.default_model
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self._sleep = sleep

    async def stream(
        self, messages: list[ChatMessage], *, system: str | None = None, json_mode: bool = False
    ) -> AsyncIterator[str]:
        body = build_request(self.model, messages, system=system, json_mode=json_mode)

        def open_stream() -> Any:
            return self.http.stream("POST", f"{self.base_url}/api/chat", json=body)

        async def deltas(response: httpx.Response) -> AsyncIterator[str]:
            async for line in response.aiter_lines():
                text = parse_line(line)
                if text is None:
                    return
                yield text

        async def error(response: httpx.Response) -> ProviderError:
            try:
                message = str(json.loads(response.content).get("error"))
            except (ValueError, AttributeError):
                message = f"HTTP {response.status_code}"
            return classify_http_error(response, f"ollama: {message}", provider=self.name)

        async for delta in stream_with_retries(
            provider=self.name, open=open_stream, deltas=deltas, error=error, sleep=self._sleep
        ):
            yield delta

    async def aclose(self) -> None:
        return None
