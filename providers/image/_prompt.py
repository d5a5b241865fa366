"""The shot form as words for a text-to-image prompt, in the same wording as the video adapters
(``Shot: close-up. Lighting: golden hour. Camera: slow push in.``): the keyframe is the shot's first frame, so
the picture is framed and lit as the video will be. The user's text is shortened first, the directions kept."""

from __future__ import annotations

from providers._shot import CAMERA_PHRASES, compose_prompt, humanize
from providers.errors import ProviderInvalidRequest
from providers.image.base import ImageRequest


def directions(request: ImageRequest, *, avoid: bool = False) -> str:
    """Shot size, lighting and camera as sentences; with ``avoid``, the negative prompt as ``Avoid: ...``
    (only for models that follow instructions: diffusion models tend to draw what a prompt says to avoid)."""
    parts = []
    if request.shot_size:
        parts.append(f"Shot: {humanize(request.shot_size)}.")
    if request.lighting:
        parts.append(f"Lighting: {humanize(request.lighting)}.")
    if request.camera_movement:
        phrase = CAMERA_PHRASES.get(request.camera_movement, humanize(request.camera_movement))
        parts.append(f"Camera: {phrase}.")
    if avoid and request.negative_prompt and request.negative_prompt.strip():
        parts.append(f"Avoid: {' '.join(request.negative_prompt.split())}.")
    return " ".join(parts)


def image_prompt(request: ImageRequest, limit: int, *, provider: str, avoid: bool = False, utf16: bool = False) -> str:
    """The prompt as sent: the user's text plus the directions, within ``limit`` (UTF-16 units when ``utf16``).
    Nothing at all to say is refused here, before a request every provider would refuse."""
    text = compose_prompt(request.prompt, directions(request, avoid=avoid), limit, utf16=utf16)
    if not text.strip():
        raise ProviderInvalidRequest(f"{provider}: a keyframe needs a prompt", provider=provider)
    return text
