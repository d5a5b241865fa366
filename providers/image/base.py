"""The keyframe (text-to-image) interface, its two value types and the registry from name to adapter.

Like ``providers.base`` for video and LLMs: the app builds a ``ProviderConfig`` and a client, and gets an adapter
with ``create_image_provider``. Adapters whose provider answers with a URL download the picture through ``fetch``
(``providers.image._download.Fetch``), which the app may replace with its own guarded fetcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from providers.base import ProviderConfig, import_from_string
from providers.image._download import Fetch


@dataclass(frozen=True)
class ImageRequest:
    """One keyframe to paint: the prompt and the shot form (``shot_size``, ``lighting`` and ``camera_movement``
    are the form's free strings, e.g. ``close_up``, ``golden_hour``, ``push_in``)."""

    prompt: str
    width: int = 1280
    height: int = 720
    seed: int | None = None
    shot_size: str | None = None
    lighting: str | None = None
    camera_movement: str | None = None
    negative_prompt: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class ImageResult:
    """The encoded picture. ``content_type``, ``width`` and ``height`` are read from the bytes themselves, never
    taken from what the provider claims; ``seed`` is the one the provider reported (or was sent), when any."""

    data: bytes = field(repr=False)
    content_type: str  # image/png | image/jpeg | image/webp
    width: int
    height: int
    seed: int | None = None


@runtime_checkable
class ImageProvider(Protocol):
    name: str

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Paint one picture; asynchronous providers are polled inside, within the adapter's bounded wait."""
        ...

    async def aclose(self) -> None: ...


# name -> "module:Class". Imported lazily; tests check every entry loads and satisfies the Protocol.
IMAGE_PROVIDERS: dict[str, str] = {
    "local": "providers.image.local:LocalImageProvider",
    "openai": "providers.image.openai:OpenAIImageProvider",
    "fal": "providers.image.fal:FalImageProvider",
    "seedream": "providers.image.seedream:SeedreamImageProvider",
    "runway": "providers.image.runway:RunwayImageProvider",
}


def image_provider_class(name: str) -> Any:
    try:
        return import_from_string(IMAGE_PROVIDERS[name])
    except KeyError:
        raise KeyError(f"unknown image provider {name!r}; known: {', '.join(sorted(IMAGE_PROVIDERS))}") from None


def create_image_provider(
    config: ProviderConfig, http: httpx.AsyncClient, *, fetch: Fetch | None = None
) -> ImageProvider:
    """The adapter named by ``config.name``. ``fetch`` replaces the adapter's own download of the provider's
    picture URL (the app passes its SSRF-guarded fetcher); without it the adapter does a size-capped GET."""
    provider: ImageProvider = image_provider_class(config.name)(config, http, fetch=fetch)
    return provider
