"""The ``storyboard`` kind (PROTOCOL.md 8.3): a story becomes shots, appended to the timeline all at once.

With the ``offline`` LLM the storyboard is made here, deterministically, from the story's own sentences (one shot
per sentence, or ``shots`` groups of them); camera, size and lighting come from keyword tables. With any other LLM
the model is asked for JSON, and every shot it returns is checked against section 2 (``app.jobs.shots``): repaired
or dropped, never stored invalid. Nothing is written until the whole storyboard is ready; then one write.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from app.errors import AppError
from app.jobs.registry import JobContext, JobServices, validate_params
from app.jobs.shots import MAX_SHOTS, clean_shots, offline_shot
from protocol import codes
from providers import ChatMessage

SYSTEM: Final = (
    "You are a film director breaking a story into shots for an AI video timeline. Answer with one JSON object "
    'only, no prose: {"shots": [{"title": str (at most 60 characters), "prompt": str (what the picture shows, '
    'for an image-to-video model), "camera_movement": one of static, push_in, pull_out, pan_left, pan_right, '
    "tilt_up, tilt_down, orbit_left, orbit_right, crane_up, crane_down, handheld, "
    '"shot_size": e.g. extreme_wide, wide, medium, close_up, extreme_close_up, "lighting": e.g. golden_hour, '
    'soft_daylight, night, low_key, "duration_s": number 3-8, "narration": the line a voice says over the shot}]}. '
    "Keep the story's order."
)
_SENTENCE: Final = re.compile(r"(?<=[.!?…])\s+")


class StoryboardParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    story: Annotated[str, Field(min_length=1, max_length=20_000)]
    shots: Annotated[int, Field(ge=1, le=MAX_SHOTS)] | None = None
    style: Annotated[str, Field(max_length=200)] = ""
    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None


def sentences(story: str) -> list[str]:
    text = " ".join(story.split())
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def groups(items: list[str], count: int | None) -> list[list[str]]:
    """``items`` in order, in ``count`` groups as even as can be (default: one each), at most ``MAX_SHOTS``."""
    n = min(len(items), count or len(items), MAX_SHOTS)
    return [items[i * len(items) // n : (i + 1) * len(items) // n] for i in range(n)] if n else []


def offline_storyboard(story: str, shots: int | None, style: str) -> list[dict[str, Any]]:
    """The deterministic storyboard of the ``offline`` provider."""
    return [offline_shot(" ".join(group), n, style) for n, group in enumerate(groups(sentences(story), shots))]


def parse_storyboard(text: str) -> list[Any]:
    """The ``shots`` list of a model's JSON answer (a bare list is accepted too); ``provider_error`` otherwise."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    end = max(text.rfind("}"), text.rfind("]"))
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    shots = data.get("shots") if isinstance(data, dict) else data
    if not isinstance(shots, list):
        raise AppError(codes.PROVIDER_ERROR, "the model did not answer with a storyboard in JSON")
    return shots


class StoryboardKind:
    name = "storyboard"
    takes_workspace = False

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        checked = validate_params(StoryboardParams, params)
        assert isinstance(checked, StoryboardParams)
        if not checked.story.strip():
            raise AppError(codes.INVALID_MESSAGE, "params.story: must hold some text")
        provider = checked.provider or services.settings.llm_provider
        services.providers.llm(provider)  # an unknown provider: unavailable, before anything is stored
        services.providers.require_key(provider, "LLM")  # no key: unavailable (one rule for every kind)
        return {**checked.model_dump(), "provider": provider}

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        params = StoryboardParams.model_validate(ctx.params)
        provider_name = params.provider or ctx.services.settings.llm_provider
        await ctx.progress(5, "reading the story")
        if provider_name == "offline":
            shots = offline_storyboard(params.story, params.shots, params.style)
        else:
            shots = await self._ask(ctx, params, provider_name)
        if not shots:
            raise AppError(codes.PROVIDER_ERROR, "the storyboard holds no usable shot")
        await ctx.progress(90, f"creating {len(shots)} shots")
        await ctx.commit()  # from here on the job finishes: a cancel is too late
        created = await ctx.services.workspaces.create_many(ctx.project, shots, key=f"job~{ctx.job_id}")
        return {"workspace_ids": [w.id for w in created]}

    async def _ask(self, ctx: JobContext, params: StoryboardParams, provider_name: str) -> list[dict[str, Any]]:
        provider = ctx.services.providers.llm(provider_name)
        ask = f"Story:\n{params.story}"
        if params.shots:
            ask += f"\n\nMake exactly {params.shots} shots."
        if params.style:
            ask += f"\n\nVisual style for every prompt: {params.style}"
        await ctx.progress(10, "writing the storyboard")
        parts: list[str] = []
        size = 0
        async for delta in provider.stream([ChatMessage(role="user", content=ask)], system=SYSTEM, json_mode=True):
            parts.append(delta)
            size += len(delta)
            await ctx.progress(min(80, 10 + size // 40), "writing the storyboard")
        shots = clean_shots(parse_storyboard("".join(parts)), params.style)
        return shots[: params.shots] if params.shots else shots
