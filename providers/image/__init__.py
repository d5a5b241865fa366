"""Keyframe (text-to-image) adapters: one picture per shot, from its prompt and shot form. Knows nothing of the
app; ``create_image_provider`` builds one by name from ``IMAGE_PROVIDERS``."""

from providers.image._download import MAX_PICTURE_BYTES, Fetch, bounded_fetch
from providers.image.base import (
    IMAGE_PROVIDERS,
    ImageProvider,
    ImageRequest,
    ImageResult,
    create_image_provider,
    image_provider_class,
)

__all__ = [
    "IMAGE_PROVIDERS",
    "MAX_PICTURE_BYTES",
    "Fetch",
    "ImageProvider",
    "ImageRequest",
    "ImageResult",
    "bounded_fetch",
    "create_image_provider",
    "image_provider_class",
]
