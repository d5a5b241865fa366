"""Provider instances for the app: built from settings on first use, each with its own httpx client, all
closed by the lifespan. The only place that turns settings into ``ProviderConfig``.

With ``PUBLIC_BASE_URL`` set, each provider is given ``<PUBLIC_BASE_URL>/api/callbacks/<name>`` as its callback URL
(those without callbacks ignore it), and every provider gets the pool's ``on_change`` forwarder: the app sets
``pool.on_change`` (the poller's ``poke``) once it exists, and adapters that see their tasks move (the local
renderer) call it with a task id. ``<NAME>_WEBHOOK_SECRET`` is a provider's Standard Webhooks signing secret."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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
from providers.image import IMAGE_PROVIDERS, Fetch, ImageProvider, create_image_provider
from providers.speech import SPEECH_PROVIDERS, SpeechProvider, create_speech_provider

KEYLESS = frozenset({"local", "offline", "ollama"})  # providers that work without an API key


class ProviderPool:
    def __init__(self, settings: Settings, environ: Mapping[str, str], *, metrics: Any = None) -> None:
        self.settings = settings
        self.environ = dict(environ)
        self.metrics = metrics
        self._video: dict[str, VideoProvider] = {}
        self._llm: dict[str, LLMProvider] = {}
        self._image: dict[str, ImageProvider] = {}
        self._speech: dict[str, SpeechProvider] = {}
        # set by the app: the guarded download (app.media_fetch) image providers answering with a URL go through
        self.fetch_for: Callable[[str], Fetch] | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.on_change: Callable[[str], None] | None = None  # set by the app: the poller's poke

    def _changed(self, task_id: str) -> None:
        if self.on_change is not None:
            self.on_change(task_id)

    def callback_url(self, name: str) -> str | None:
        public = self.settings.public_base_url
        return f"{public.rstrip('/')}/api/callbacks/{name}" if public else None

    def webhook_secret(self, name: str) -> str | None:
        """``<NAME>_WEBHOOK_SECRET``: the Standard Webhooks secret this provider signs its callbacks with."""
        return self.environ.get(f"{name.upper()}_WEBHOOK_SECRET") or None

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
            callback_url=self.callback_url(name),
            on_change=self._changed,
        )

    def client(self, name: str) -> httpx.AsyncClient:
        """The one httpx client of provider ``name`` (its adapter's, and e.g. for fetching its webhook keys)."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = make_client()
            if self.metrics is not None:
                client.event_hooks["request"].append(self._on_request)
                client.event_hooks["response"].append(self._on_response(name))
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
            self._video[name] = create_video_provider(self.config(name), self.client(name))
        return self._video[name]

    def llm(self, name: str | None = None) -> LLMProvider:
        name = name or self.settings.llm_provider
        if name not in LLM_PROVIDERS:
            raise AppError(
                codes.UNAVAILABLE, f"unknown LLM provider {name!r}; known: " + ", ".join(sorted(LLM_PROVIDERS))
            )
        if name not in self._llm:
            self._llm[name] = create_llm_provider(self.config(name), self.client(name))
        return self._llm[name]

    def require_key(self, name: str, what: str) -> None:
        """``unavailable`` (503) when provider ``name`` needs an API key and has none (PROTOCOL.md 8.2)."""
        if name not in KEYLESS and not self.config(name).api_key:
            raise AppError(codes.UNAVAILABLE, f"the {what} provider {name!r} is not configured (no API key)")

    def image(self, name: str | None = None) -> ImageProvider:
        name = name or self.settings.image_provider
        if name not in IMAGE_PROVIDERS:
            known = ", ".join(sorted(IMAGE_PROVIDERS))
            raise AppError(codes.INVALID_MESSAGE, f"params.provider: unknown image provider {name!r}; known: {known}")
        if name not in self._image:
            fetch = self.fetch_for(name) if self.fetch_for is not None else None
            self._image[name] = create_image_provider(self.config(name), self.client(name), fetch=fetch)
        return self._image[name]

    def speech(self, name: str | None = None) -> SpeechProvider:
        name = name or self.settings.tts_provider
        if name not in SPEECH_PROVIDERS:
            known = ", ".join(sorted(SPEECH_PROVIDERS))
            raise AppError(codes.INVALID_MESSAGE, f"params.provider: unknown speech provider {name!r}; known: {known}")
        if name not in self._speech:
            self._speech[name] = create_speech_provider(self.config(name), self.client(name))
        return self._speech[name]

    async def aclose(self) -> None:
        providers: list[VideoProvider | LLMProvider | ImageProvider | SpeechProvider] = [
            *self._video.values(),
            *self._llm.values(),
            *self._image.values(),
            *self._speech.values(),
        ]
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must go on for the others
                continue
        for client in self._clients.values():
            await client.aclose()
