"""A fake OpenAI-compatible Chat Completions server (PROVIDERS.md section 8) on a real port: streams SSE
``data:`` chunks ending in ``data: [DONE]``, records every request, and can be told to fail or go slowly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.server import FakeServer


class FakeOpenAI(FakeServer):
    def __init__(self) -> None:
        super().__init__([Route("/v1/chat/completions", self.chat, methods=["POST"])])
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reply_parts = ["Try a ", "slow push in ", "at golden hour."]
        self.error: tuple[int, dict[str, Any]] | None = None
        self.delay_s = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.error is not None:
            status, payload = self.error
            return JSONResponse(payload, status_code=status)
        parts = list(self.reply_parts)

        async def events() -> AsyncIterator[bytes]:
            head = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1731000000,
                "model": body["model"],
            }
            yield _sse(
                {
                    **head,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                }
            )
            for part in parts:
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                yield _sse({**head, "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]})
            yield _sse({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()
