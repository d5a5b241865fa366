"""Provider instances for the app: built from settings on first use, each with its own httpx client, all
closed by the lifespan. The only place that turns settings into ``ProviderConfig``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from app.errors import AppError
from app.settings import Settings, provider_env
from protocol import codes
from providers import (
    LLM_PROVIDERS,
    VIDEO_PROVIDERS,
    LLMProvider,
    ProviderConfig,
    VideoProvider,
    create_llm_provider,
    create_video_provider,
)
from providers.http import make_client


class ProviderPool:
    def __init__(self, settings: Settings, environ: Mapping[str, str], *, metrics: Any = None) -> None:
        self.settings = settings
        self.environ = dict(environ)
        self.metrics = metrics
        self._video: dict[str, VideoProvider] = {}
        self._llm: dict[str, LLMProvider] = {}
        self._clients: list[httpx.AsyncClient] = []

    def config(self, name: str) -> ProviderConfig:
        env = provider_env(name, self.environ)
        return ProviderConfig(
            name=name,
            base_url=env["base_url"] or "",
            api_key=env["api_key"],
            secret_key=env["secret_key"],
            model=env["model"],
            public_base_url=self.settings.public_base_url,
            work_dir=Path(self.settings.data_dir) / "render",
        )

    def _client(self, name: str) -> httpx.AsyncClient:
        client = make_client()
        if self.metrics is not None:
            client.event_hooks["request"].append(self._on_request)
            client.event_hooks["response"].append(self._on_response(name))
        self._clients.append(client)
        return client

    @staticmethod
    async def _on_request(request: httpx.Request) -> None:
        request.extensions["started"] = time.perf_counter()

    def _on_response(self, name: str) -> Any:
        async def hook(response: httpx.Response) -> None:
            started = response.request.extensions.get("started")
            if started is not None:
                self.metrics.provider_latency.labels(provider=name, op=response.request.method).observe(
                    time.perf_counter() - started
                )
            if response.status_code >= 400:
                self.metrics.provider_errors.labels(provider=name, kind=str(response.status_code)).inc()

        return hook

    def video(self, name: str | None = None) -> VideoProvider:
        name = name or self.settings.video_provider
        if name not in VIDEO_PROVIDERS:
            raise AppError(
                codes.INVALID_MESSAGE,
                f"provider: unknown video provider {name!r}; known: " + ", ".join(sorted(VIDEO_PROVIDERS)),
            )
        if name not in self._video:
            self._video[name] = create_video_provider(self.config(name), self._client(name))
        return self._video[name]

    def llm(self, name: str | None = None) -> LLMProvider:
        name = name or self.settings.llm_provider
        if name not in LLM_PROVIDERS:
            raise AppError(
                codes.UNAVAILABLE, f"unknown LLM provider {name!r}; known: " + ", ".join(sorted(LLM_PROVIDERS))
            )
        if name not in self._llm:
            self._llm[name] = create_llm_provider(self.config(name), self._client(name))
        return self._llm[name]

    async def aclose(self) -> None:
        providers: list[VideoProvider | LLMProvider] = [*self._video.values(), *self._llm.values()]
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must go on for the others
                continue
        for client in self._clients:
            await client.aclose()
