"""The keyframe registry: every name loads lazily, builds from (config, client), satisfies the ImageProvider
Protocol, and takes the app's fetcher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from providers.base import ProviderConfig
from providers.image import IMAGE_PROVIDERS, ImageProvider, ImageRequest, create_image_provider, image_provider_class


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def test_the_registry_names_the_five_providers():
    assert sorted(IMAGE_PROVIDERS) == ["fal", "local", "openai", "runway", "seedream"]


@pytest.mark.parametrize("name", sorted(IMAGE_PROVIDERS))
async def test_every_image_provider_loads_and_satisfies_the_protocol(name, http):
    """Each entry imports, has its name and default base URL, builds without a key, and is an ImageProvider."""
    cls = image_provider_class(name)
    assert cls.name == name
    assert isinstance(cls.default_base_url, str)
    provider = create_image_provider(ProviderConfig(name=name, base_url=cls.default_base_url), http)
    assert isinstance(provider, ImageProvider)
    assert provider.name == name
    await provider.aclose()
    assert not http.is_closed


@pytest.mark.parametrize("name", sorted(IMAGE_PROVIDERS))
async def test_every_provider_takes_the_apps_fetcher(name, http):
    """``create_image_provider(..., fetch=...)`` is accepted by every adapter (the local one needs none)."""

    async def fetch(url: str) -> bytes:
        raise AssertionError("not called while building")

    provider = create_image_provider(ProviderConfig(name=name, base_url=""), http, fetch=fetch)
    assert isinstance(provider, ImageProvider)


async def test_the_local_provider_works_through_the_registry(http):
    provider = create_image_provider(ProviderConfig(name="local", base_url=""), http)
    result = await provider.generate(ImageRequest(prompt="A lighthouse by the sea", width=320, height=180, seed=1))
    assert (result.width, result.height) == (320, 180)


def test_unknown_name_is_a_clear_error():
    with pytest.raises(KeyError, match="known: fal, local, openai, runway, seedream"):
        image_provider_class("midjourney")


def test_the_request_and_result_types_are_frozen_and_keep_bytes_out_of_repr():
    from dataclasses import FrozenInstanceError

    from providers.image import ImageResult

    request = ImageRequest(prompt="x")
    assert (request.width, request.height) == (1280, 720)
    with pytest.raises(FrozenInstanceError):
        request.prompt = "y"  # type: ignore[misc]
    assert "secret-bytes" not in repr(ImageResult(data=b"secret-bytes", content_type="image/png", width=1, height=1))
