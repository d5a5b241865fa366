"""A fake OpenAI-compatible Chat Completions server (PROVIDERS.md section 8) on a real port: streams SSE
``data:`` chunks ending in ``data: [DONE]``, records every request, and can be told to fail or go slowly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.db import free_port


class FakeOpenAI:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reply_parts = ["Try a ", "slow push in ", "at golden hour."]
        self.error: tuple[int, dict[str, Any]] | None = None
        self.delay_s = 0.0
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])
        self.server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None))
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            await self._task

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
