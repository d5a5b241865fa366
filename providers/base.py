"""The two provider interfaces, their shared types, and the registry from name to module.

Nothing here knows the app. The app builds a ``ProviderConfig`` from its settings, an ``httpx.AsyncClient``
with ``providers.http.make_client()``, and gets an adapter with ``create_video_provider`` /
``create_llm_provider``.
"""

from __future__ import annotations

import base64
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import httpx

log = logging.getLogger(__name__)

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
    # Where the provider may POST when a task changes (sent with the submit where the provider has a callback);
    # None: no callback, the app polls.
    callback_url: str | None = None
    # Called with a task id when an adapter that knows its tasks' progress first-hand (the local renderer) sees
    # one move or finish, so the app can look at it at once instead of at its next poll. Must not block or raise.
    on_change: Callable[[str], None] | None = field(default=None, repr=False, compare=False)


class ProgressNotifier:
    """How an adapter that watches its own tasks tells ``ProviderConfig.on_change``: ``notifier(task_id,
    progress)`` calls the listener on a task's first report and then each time its progress moved by ``step``
    points; ``notifier.final(task_id)`` calls it once more when the task ended (done, failed or cancelled) and
    forgets it. Without a listener it does nothing; a listener that raises is logged, never propagated."""

    def __init__(self, listener: Callable[[str], None] | None, *, step: int = 5) -> None:
        self.listener = listener
        self.step = step
        self._told: dict[str, int] = {}  # task id -> the progress last told

    def __call__(self, task_id: str, progress: int) -> None:
        told = self._told.get(task_id)
        if told is None or progress - told >= self.step:
            self._told[task_id] = progress
            self._tell(task_id)

    def final(self, task_id: str) -> None:
        self._told.pop(task_id, None)
        self._tell(task_id)

    def _tell(self, task_id: str) -> None:
        if self.listener is None:
            return
        try:
            self.listener(task_id)
        except Exception:  # the listener's trouble must not fail the task
            log.warning("the on_change listener failed for %s", task_id, exc_info=True)


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
