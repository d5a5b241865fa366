"""AI collaboration end to end: the offline assistant with no keys, and a fake OpenAI-compatible server on its
own port for streaming, history, failures and concurrency."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai import FakeOpenAI
from tests.support import LiveServer


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def openai_server(start_server, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    return await start_server(llm_provider="openai")


async def test_offline_suggestion_over_rest_is_stored_and_announced(server: LiveServer) -> None:
    """With no keys the offline assistant answers from the shot form; both entries are stored and announced."""
    c, other = await server.connect("ai"), await server.connect("ai")
    ws = await c.create(title="Night chase", form_data={"prompt": "a car in the rain", "camera_movement": "static"})
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "make it more dramatic"})
        assert r.status_code == 200, r.text
        suggestion = r.json()["suggestion"]
        assert r.json()["workspace_id"] == ws["id"]
        assert suggestion["role"] == "assistant" and suggestion["provider"] == "offline" and suggestion["content"]
        assert "offline" in suggestion["content"].lower() and suggestion["created_at"].endswith("Z")
        stored = (await http.get(f"/api/workspaces/{ws['id']}")).json()
    assert [e["role"] for e in stored["ai_collaboration"]] == ["user", "assistant"]
    assert stored["ai_collaboration"][0]["content"] == "make it more dramatic"
    assert stored["ai_collaboration"][1] == suggestion
    for client in (c, other):  # REST has no sender: every tab hears of it
        event = await client.expect_type("workspace.updated")
        assert event["changes"]["ai_collaboration"] == stored["ai_collaboration"]
        assert event["version"] == stored["version"]


async def test_streamed_suggestion_over_websocket(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    """ai.delta messages carry reply_to, ai.suggestion's content is exactly their concatenation, and the request
    to the provider holds the shot form and the earlier conversation."""
    c, other = await openai_server.connect("ais"), await openai_server.connect("ais")
    ws = await c.create(title="Kite", form_data={"prompt": "a red kite", "lighting": "noon"})
    await c.send({"type": "ai.suggest", "id": "s1", "workspace_id": ws["id"], "message": "first question"})
    await c.expect(lambda m: m.get("reply_to") == "s1" and m["type"] == "ai.suggestion")  # stored before we go on
    await c.send({"type": "ai.suggest", "id": "s2", "workspace_id": ws["id"], "message": "second question"})
    deltas = []
    while True:
        m = await c.expect(lambda m: m.get("reply_to") == "s2")
        if m["type"] == "ai.delta":
            deltas.append(m["delta"])
            continue
        assert m["type"] == "ai.suggestion", m
        break
    assert deltas == fake.reply_parts and m["suggestion"]["content"] == "".join(deltas)
    assert m["suggestion"]["provider"] == "openai" and m["suggestion"]["model"]
    request = fake.requests[-1]
    assert request["stream"] is True
    system = " ".join(x["content"] for x in request["messages"] if x["role"] in ("system", "developer"))
    assert "a red kite" in system and "noon" in system
    contents = [x["content"] for x in request["messages"] if x["role"] != "system"]
    assert contents[-3:] == ["first question", "".join(fake.reply_parts), "second question"]
    assert fake.headers[-1]["authorization"] == "Bearer sk-test-secret-123"
    events = [e for e in await other.nothing_more(0.5) if e["type"] == "workspace.updated"]
    assert len(events) == 2 and all(len(e["changes"]["ai_collaboration"]) == 2 for e in events)
    assert [x for x in await c.nothing_more(0.2) if x["type"] == "workspace.updated"] == []


async def test_provider_failure_stores_nothing(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    """A provider error answers provider_error (502 over REST) with its reason, never the key, and stores nothing."""
    c = await openai_server.connect("aif")
    ws = await c.create(title="x")
    fake.error = (
        400,
        {
            "error": {
                "message": "model not allowed",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            }
        },
    )
    reply = await c.request({"type": "ai.suggest", "workspace_id": ws["id"], "message": "hi"})
    assert reply["type"] == "error" and reply["code"] == "provider_error" and "model not allowed" in reply["message"]
    async with openai_server.http() as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"})
        assert r.status_code == 502 and "sk-test-secret-123" not in r.text
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json()["ai_collaboration"] == []
        assert (await http.post("/api/ai/suggest", json={"workspace_id": "0" * 24, "message": "x"})).status_code == 404


async def test_missing_key_is_unavailable(start_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider chosen without its key answers 503 unavailable; the server still started."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = await start_server(llm_provider="openai")
    c = await server.connect("aik")
    ws = await c.create()
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    reply = await c.request({"type": "ai.suggest", "workspace_id": ws["id"], "message": "hi"})
    assert reply["code"] == "unavailable"


async def test_concurrent_streams_do_not_block_the_connection(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    """Two suggestions stream at once on one connection, and a ping in between is answered before they end."""
    fake.delay_s = 0.3
    c = await openai_server.connect("aic")
    ws = await c.create()
    await c.send({"type": "ai.suggest", "id": "x1", "workspace_id": ws["id"], "message": "one"})
    await c.send({"type": "ai.suggest", "id": "x2", "workspace_id": ws["id"], "message": "two"})
    pong = await c.request({"type": "ping"}, timeout=0.5)
    assert pong["type"] == "pong"
    done = {}
    while len(done) < 2:
        m = await c.expect(lambda m: m.get("type") == "ai.suggestion", timeout=10)
        done[m["reply_to"]] = m
    assert set(done) == {"x1", "x2"}
    async with openai_server.http() as http:
        stored = (await http.get(f"/api/workspaces/{ws['id']}")).json()["ai_collaboration"]
    assert len(stored) == 4


async def test_structured_suggestion_is_validated_not_applied(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    """apply: true returns form_data_patch with only valid fields, and the form itself is not changed."""
    fake.reply_parts = ['{"camera_movement": "push_in", "duration_s": 99, ', '"lighting": "blue hour", "$bad": 1}']
    c = await openai_server.connect("aij")
    ws = await c.create(form_data={"prompt": "p"})
    reply = await c.request({"type": "ai.suggest", "workspace_id": ws["id"], "message": "suggest", "apply": True})
    while reply["type"] == "ai.delta":
        reply = await c.expect(lambda m: m.get("type") == "ai.suggestion")
    assert reply["suggestion"]["form_data_patch"] == {"camera_movement": "push_in", "lighting": "blue hour"}
    assert fake.requests[-1].get("response_format") == {"type": "json_object"}
    listed = (await c.request({"type": "workspace.list"}))["workspaces"][0]
    assert listed["form_data"] == {"prompt": "p"}
