"""The two provider interfaces, their shared types, and the registry from name to module.

Nothing here knows the app. The app builds a ``ProviderConfig`` from its settings, an ``httpx.AsyncClient``
with ``providers.http.make_client()``, and gets an adapter with ``create_video_provider`` /
``create_llm_provider``.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import httpx

VideoState = Literal["queued", "generating", "completed", "failed", "cancelled"]

CAMERA_MOVEMENTS = (
    "static",
    "push_in",
    "pull_out",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "orbit_left",
    "orbit_right",
    "crane_up",
    "crane_down",
    "handheld",
)


@dataclass(frozen=True)
class ProviderConfig:
    """Typed settings handed to one adapter. ``api_key``/``secret_key`` are never logged (``repr=False``)."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)  # Kling's second half of the key pair
    model: str | None = None
    public_base_url: str | None = None  # absolute URL of our server as providers can reach it
    work_dir: Path | None = None  # local renderer's scratch space


@dataclass(frozen=True)
class ImageInput:
    """The shot's picture: bytes for inline sending, and a public URL when ``PUBLIC_BASE_URL`` is set."""

    data: bytes = field(repr=False)
    content_type: str  # image/png, image/jpeg or image/webp
    public_url: str | None = None
    path: Path | None = None  # local file, for the offline renderer

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64,{self.base64()}"


@dataclass(frozen=True)
class VideoJob:
    """Picture + shot form, as the app hands it to ``VideoProvider.submit``."""

    image: ImageInput
    prompt: str
    negative_prompt: str | None = None
    camera_movement: str | None = None
    shot_size: str | None = None
    lighting: str | None = None
    duration_s: float = 5
    aspect_ratio: str = "16:9"
    seed: int | None = None
    model: str | None = None


@dataclass(frozen=True)
class ProviderTask:
    """What a submit returns. ``task_id`` is opaque to the app and stored as is.

    Some providers (fal) return URLs to poll; adapters may encode what they need into ``task_id``
    (it must survive a restart, so nothing may live only in memory)."""

    task_id: str
    status: VideoState = "queued"


@dataclass(frozen=True)
class TaskStatus:
    status: VideoState
    progress: int | None = None  # 0-100 when the provider reports it
    video_url: str | None = None  # the provider's URL (or a file:// URL for the local renderer)
    error: str | None = None  # the provider's reason when failed
    raw_status: str | None = None  # the vendor's own status string, for logs


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str


@runtime_checkable
class VideoProvider(Protocol):
    name: str

    async def submit(self, job: VideoJob) -> ProviderTask: ...

    async def status(self, task_id: str) -> TaskStatus: ...

    async def cancel(self, task_id: str) -> bool:
        """Cancel at the provider. False when this provider cannot cancel (nothing was sent)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class LLMProvider(Protocol):
    name: str
    model: str

    def stream(
        self, messages: list[ChatMessage], *, system: str | None = None, json_mode: bool = False
    ) -> AsyncIterator[str]:
        """Yield text deltas. ``json_mode`` asks the model for one JSON object."""
        ...

    async def aclose(self) -> None: ...


# name -> "module:Class". Imported lazily; tests check every entry loads and satisfies its Protocol.
VIDEO_PROVIDERS: dict[str, str] = {
    "local": "providers.video.local:LocalProvider",
    "runway": "providers.video.runway:RunwayProvider",
    "kling": "providers.video.kling:KlingProvider",
    "pika": "providers.video.pika:PikaProvider",
    "seedance": "providers.video.seedance:SeedanceProvider",
    "minimax": "providers.video.minimax:MinimaxProvider",
    "luma": "providers.video.luma:LumaProvider",
}

LLM_PROVIDERS: dict[str, str] = {
    "offline": "providers.llm.offline:OfflineProvider",
    "openai": "providers.llm.openai:OpenAIProvider",
    "claude": "providers.llm.claude:ClaudeProvider",
    "qwen": "providers.llm.qwen:QwenProvider",
    "doubao": "providers.llm.doubao:DoubaoProvider",
    "ollama": "providers.llm.ollama:OllamaProvider",
}


def import_from_string(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def video_provider_class(name: str) -> Any:
    try:
        return import_from_string(VIDEO_PROVIDERS[name])
    except KeyError:
        raise KeyError(f"unknown video provider {name!r}; known: {', '.join(sorted(VIDEO_PROVIDERS))}") from None


def llm_provider_class(name: str) -> Any:
    try:
        return import_from_string(LLM_PROVIDERS[name])
    except KeyError:
        raise KeyError(f"unknown LLM provider {name!r}; known: {', '.join(sorted(LLM_PROVIDERS))}") from None


def create_video_provider(config: ProviderConfig, http: httpx.AsyncClient) -> VideoProvider:
    provider: VideoProvider = video_provider_class(config.name)(config, http)
    return provider


def create_llm_provider(config: ProviderConfig, http: httpx.AsyncClient) -> LLMProvider:
    provider: LLMProvider = llm_provider_class(config.name)(config, http)
    return provider
