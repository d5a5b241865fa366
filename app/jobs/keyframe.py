"""The ``keyframe`` kind (PROTOCOL.md 8.3): paint a shot's picture and attach it exactly as an upload with
``workspace_id`` does: stored under ``uploads/`` after the content check of every upload, owned by the project,
``image_path``/``image_url`` set through the update pipeline (``workspace.updated`` to every connection, the
starter's included, and an entry in the shot's history)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth import remember_owner
from app.errors import AppError
from app.jobs.registry import JobContext, JobServices, validate_params
from protocol import codes
from providers.image import ImageRequest

# The picture painted for each aspect ratio of section 2 (720p-class, both sides multiples of 16).
SIZES: Final[dict[str, tuple[int, int]]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (1024, 1024),
    "4:3": (960, 720),
    "3:4": (720, 960),
    "21:9": (1680, 720),
}


class KeyframeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    prompt: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    aspect_ratio: Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None


def _text(form: dict[str, Any], key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) and value.strip() else None


class KeyframeKind:
    name = "keyframe"
    takes_workspace = True

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        checked = validate_params(KeyframeParams, params)
        assert isinstance(checked, KeyframeParams)
        provider = checked.provider or services.settings.image_provider
        services.providers.image(provider)  # an unknown one: invalid_message, before anything is stored
        services.providers.require_key(provider, "image")  # no key: unavailable
        return {**checked.model_dump(exclude_none=True), "provider": provider}

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        params = KeyframeParams.model_validate(ctx.params)
        services, workspace_id = ctx.services, ctx.workspace_id
        assert workspace_id is not None and services.media is not None
        shot = await services.workspaces.get(ctx.project, workspace_id)  # deleted meanwhile: not_found
        form = shot.form_data
        prompt = params.prompt or _text(form, "prompt") or shot.title.strip()
        if not prompt:
            raise AppError(codes.INVALID_MESSAGE, "the shot has no prompt or title to paint from: give params.prompt")
        aspect = params.aspect_ratio or _text(form, "aspect_ratio") or "16:9"
        width, height = SIZES.get(aspect, SIZES["16:9"])
        seed = params.seed if params.seed is not None else form.get("seed")
        request = ImageRequest(
            prompt=prompt,
            width=width,
            height=height,
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            shot_size=_text(form, "shot_size"),
            lighting=_text(form, "lighting"),
            camera_movement=_text(form, "camera_movement"),
            negative_prompt=_text(form, "negative_prompt"),
        )
        await ctx.progress(10, "painting the keyframe")
        picture = await services.providers.image(params.provider).generate(request)
        await ctx.progress(80, "storing the keyframe")
        stored = await asyncio.to_thread(services.media.save_upload, picture.data)  # checked by content
        await remember_owner(services.workspaces.collection, stored.image_path, ctx.project)
        await ctx.commit()  # from here on the job finishes: a cancel is too late
        await services.workspaces.update(
            ctx.project, workspace_id, {"image_path": stored.image_path, "image_url": stored.image_url}
        )
        return {
            "image_path": stored.image_path,
            "image_url": stored.image_url,
            "width": stored.width,
            "height": stored.height,
        }
