"""The video registry: every name loads lazily and satisfies the VideoProvider Protocol."""

from __future__ import annotations

import httpx
import pytest

from providers import VIDEO_PROVIDERS, ProviderConfig, VideoProvider, create_video_provider, video_provider_class


@pytest.mark.parametrize("name", sorted(VIDEO_PROVIDERS))
def test_every_video_provider_loads(name: str, tmp_path) -> None:
    """Each registry entry imports, has its name and default base URL, and satisfies the Protocol."""
    cls = video_provider_class(name)
    provider = create_video_provider(
        ProviderConfig(name=name, base_url=cls.default_base_url, work_dir=tmp_path), httpx.AsyncClient()
    )
    assert isinstance(provider, VideoProvider) and provider.name == name


def test_unknown_name_is_a_clear_error() -> None:
    """An unknown provider name says which ones exist."""
    with pytest.raises(KeyError, match="known: kling, local"):
        video_provider_class("sora")
