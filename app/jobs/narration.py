"""The ``narration`` kind (PROTOCOL.md 8.3): speak a shot's ``form_data.narration`` (or ``params.text``), store
the audio under ``media/`` (owned by the shot's project, as its videos are) and set the server-owned
``narration_audio`` = ``{url, duration_s, provider, voice, text}``, announced as ``workspace.updated`` to every
connection. Server-owned: it makes no history entry."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from app.errors import AppError
from app.jobs.registry import JobContext, JobServices, validate_params
from protocol import codes
from providers.speech import SpeechRequest

EXTENSIONS: Final[dict[str, str]] = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
}
TEXT_MAX: Final = 4000


class NarrationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    provider: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    voice: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    text: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)] | None = None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class NarrationKind:
    name = "narration"
    takes_workspace = True

    def prepare(self, params: dict[str, Any], services: JobServices) -> dict[str, Any]:
        checked = validate_params(NarrationParams, params)
        assert isinstance(checked, NarrationParams)
        provider = checked.provider or services.settings.tts_provider
        services.providers.speech(provider)  # an unknown one: invalid_message
        services.providers.require_key(provider, "speech")  # no key: unavailable
        return {**checked.model_dump(exclude_none=True), "provider": provider}

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        params = NarrationParams.model_validate(ctx.params)
        services, workspace_id = ctx.services, ctx.workspace_id
        assert workspace_id is not None and services.media is not None
        shot = await services.workspaces.get(ctx.project, workspace_id)
        said = shot.form_data.get("narration")
        text = (params.text or (said if isinstance(said, str) else "") or "").strip()
        if not text:
            raise AppError(
                codes.INVALID_MESSAGE, "nothing to say: the shot has no form_data.narration and no params.text"
            )
        provider = services.providers.speech(params.provider)
        await ctx.progress(10, "speaking the narration")
        audio = await provider.synthesize(SpeechRequest(text=text[:TEXT_MAX], voice=params.voice))
        await ctx.progress(80, "storing the narration")
        name = f"{workspace_id}-{secrets.token_hex(4)}.{EXTENSIONS.get(audio.content_type, 'bin')}"
        await services.media.save("media", name, _once(audio.data), audio.content_type)  # its shot's project's
        narration = {
            "url": f"/media/{name}",
            "duration_s": round(audio.duration_s, 3) if audio.duration_s is not None else None,
            "provider": provider.name,
            "voice": params.voice,
            "text": text,
        }
        await ctx.commit()
        await services.workspaces.update(ctx.project, workspace_id, {"narration_audio": narration})
        return narration
