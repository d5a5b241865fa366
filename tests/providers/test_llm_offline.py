"""The offline assistant: useful, deterministic, says it is offline, never touches the network."""

from __future__ import annotations

import json

import respx

from providers import ChatMessage, ProviderConfig
from providers.llm.offline import OfflineProvider

SYSTEM = (
    'Be helpful.\nCurrent shot form (JSON): {"title": "Harbour", "form_data": {"prompt": "boats at dawn", '
    '"camera_movement": "static"}}'
)


async def ask(message: str, **kwargs) -> list[str]:
    provider = OfflineProvider(ProviderConfig(name="offline", base_url=""))
    return [d async for d in provider.stream([ChatMessage("user", message)], system=SYSTEM, **kwargs)]


@respx.mock(assert_all_called=False)
async def test_answers_from_the_form_and_streams_in_pieces() -> None:
    """The answer names the shot, reacts to 'dramatic', mentions the current movement, streams in several deltas."""
    deltas = await ask("make it more dramatic")
    text = "".join(deltas)
    assert len(deltas) > 3 and "Offline assistant" in text and "Harbour" in text
    assert "push_in" in text and "static" in text and "boats at dawn" in text


async def test_deterministic_and_keyword_driven() -> None:
    """Same question, same answer; a night question gets a night look."""
    assert await ask("night scene please") == await ask("night scene please")
    assert "blue hour" in "".join(await ask("night scene please"))


async def test_json_mode_gives_known_form_fields() -> None:
    """json_mode yields one JSON object of known form fields."""
    (only,) = await ask("calm", json_mode=True)
    patch = json.loads(only)
    assert set(patch) <= {"camera_movement", "shot_size", "lighting", "prompt"}
    assert patch["camera_movement"] == "static" and patch["prompt"].startswith("boats at dawn")
