"""A provider that answered with a failure is `provider_error` (502), one that never answered is `unavailable`
(503), PROTOCOL.md 3.3; and a generation's create request is not sent twice when it may have arrived."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import ServerFactory
from tests.fakes.openai import FakeOpenAI
from tests.fakes.runway import FakeRunway
from tests.integration.test_video import runway_env, shot


@pytest.fixture
async def openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def runway() -> AsyncIterator[FakeRunway]:
    server = FakeRunway()
    await server.start()
    yield server
    await server.stop()


async def test_llm_answering_500_is_provider_error(
    start_server: ServerFactory, openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An LLM that answers 500 to everything is a provider that failed, not one that is unreachable: 502
    provider_error over REST and provider_error over the WebSocket, and nothing is stored."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
    server = await start_server(llm_provider="openai")
    openai.error = (500, {"error": {"message": "The server had an error", "type": "server_error", "code": None}})
    c = await server.connect("llm500")
    ws = await c.create(title="x")
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"})
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "provider_error" and "server had an error" in r.json()["error"]["message"]
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json()["ai_collaboration"] == []
    reply = await c.request({"type": "ai.suggest", "workspace_id": ws["id"], "message": "hi"})
    assert reply["type"] == "error" and reply["code"] == "provider_error"


async def test_llm_unreachable_is_unavailable(start_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening at the LLM's address: that provider is unreachable, 503 unavailable."""
    from app.db import free_port

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    server = await start_server(llm_provider="openai")
    c = await server.connect("llmdown")
    ws = await c.create(title="x")
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text


async def test_video_submit_answered_500_is_provider_error_and_sent_once(
    start_server: ServerFactory, runway: FakeRunway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx to the create request may come after the provider accepted it (and billed it): it is not sent again,
    and the answer is 502 provider_error; the workspace's video stays idle."""
    runway_env(runway, monkeypatch)
    server = await start_server(video_provider="runway")
    runway.script.submit_error = (500, {"error": "internal"})
    c = await server.connect("vid500")
    wid = await shot(server, c)
    async with server.http() as http:
        r = await http.post("/api/generate/video", json={"workspace_id": wid})
        assert r.status_code == 502 and r.json()["error"]["code"] == "provider_error", r.text
        assert (await http.get(f"/api/workspaces/{wid}")).json()["video"]["status"] == "idle"
    posts = [path for method, path, _ in runway.requests if method == "POST"]
    assert posts == ["/v1/image_to_video"]
    reply = await c.request({"type": "video.generate", "workspace_id": wid})
    assert reply["type"] == "error" and reply["code"] == "provider_error"
