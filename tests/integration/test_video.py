"""Video generation end to end: real server, real database, and a fake Runway API on its own port that walks a
task through its states the way the real one does."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from tests.fakes.runway import VIDEO_BYTES, FakeRunway
from tests.support import LiveServer, WsClient


def png() -> bytes:
    img = Image.new("RGB", (64, 36), (200, 40, 40))
    for x in range(0, 64, 8):
        img.paste((20, 20, 200), (x, 0, x + 4, 36))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunway]:
    server = FakeRunway()
    await server.start()
    yield server
    await server.stop()


def runway_env(fake: FakeRunway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_API_KEY", "key_" + "ab" * 64)
    monkeypatch.setenv("RUNWAY_BASE_URL", fake.base_url)


async def shot(server: LiveServer, c: WsClient, *, image: bool = True, prompt: str | None = "a red kite") -> str:
    ws = await c.create(title="shot", form_data={"prompt": prompt} if prompt else {})
    if image:
        async with server.http() as http:
            r = await http.post(
                "/api/upload/image", files={"image": ("x.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
            )
            assert r.status_code == 201, r.text
    return ws["id"]


async def until_status(c: WsClient, wid: str, statuses: set[str], timeout: float = 20) -> list[dict]:
    """Collect this workspace's video.status_update messages until one has a status in ``statuses``."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        m = await c.expect(
            lambda m: m.get("type") == "video.status_update" and m["workspace_id"] == wid,
            timeout=max(0.1, deadline - time.monotonic()),
        )
        seen.append(m["video"])
        if m["video"]["status"] in statuses:
            return seen


async def test_generation_happy_path_reaches_every_tab(start_server, fake, monkeypatch) -> None:
    """generate -> queued (reply_to) -> progress -> completed with our /media URL serving the downloaded file,
    seen by the requester and the other tab alike; the provider got Runway's headers and camelCase body."""
    runway_env(fake, monkeypatch)
    server = await start_server(video_provider="runway")
    a, b = await server.connect("v"), await server.connect("v")
    wid = await shot(server, a)
    reply = await a.request({"type": "video.generate", "workspace_id": wid})
    assert reply["type"] == "video.status_update" and reply["video"]["status"] in ("queued", "generating")
    assert reply["video"]["provider"] == "runway" and reply["video"]["task_id"] in fake.tasks
    seen_a = await until_status(a, wid, {"completed", "failed"})
    seen_b = await until_status(b, wid, {"completed", "failed"})
    final = seen_a[-1]
    assert final["status"] == "completed" and seen_b[-1] == final, seen_a
    assert final["progress"] == 100 and final["url"].startswith("/media/") and final["error"] is None
    assert final["source_url"].startswith(fake.base_url + "/files/")
    assert any(v["status"] == "generating" and 0 < v["progress"] < 100 for v in seen_a), seen_a
    progresses = [v["progress"] for v in seen_a]
    assert progresses == sorted(progresses)
    body = next(iter(fake.tasks.values())).body
    assert body["promptImage"].startswith("data:image/png;base64,") and "promptText" in body and "ratio" in body
    async with server.http() as http:
        got = await http.get(final["url"])
        assert got.status_code == 200 and got.content == VIDEO_BYTES
        stored = (await http.get(f"/api/workspaces/{wid}")).json()["video"]
        assert stored == final


async def test_provider_failure_is_stored_with_its_reason(start_server, fake, monkeypatch) -> None:
    """A task the provider fails ends failed with code provider_error and the provider's reason."""
    runway_env(fake, monkeypatch)
    fake.script.states = [
        {"status": "RUNNING", "progress": 0.1},
        {"status": "FAILED", "failure": "Input image flagged", "failureCode": "SAFETY.INPUT.IMAGE"},
    ]
    server = await start_server(video_provider="runway")
    c = await server.connect("vf")
    wid = await shot(server, c)
    await c.request({"type": "video.generate", "workspace_id": wid})
    final = (await until_status(c, wid, {"completed", "failed"}))[-1]
    assert final["status"] == "failed"
    assert final["error"] == {"code": "provider_error", "message": "Input image flagged"} or (
        final["error"]["code"] == "provider_error" and "Input image flagged" in final["error"]["message"]
    )


async def test_transient_errors_back_off_without_failing(start_server, fake, monkeypatch) -> None:
    """500s and a 429 with Retry-After in the middle of a task delay it but do not fail it."""
    runway_env(fake, monkeypatch)
    fake.script.errors_at = {2: (500, {}), 3: (429, {"Retry-After": "1"}), 4: (503, {})}
    server = await start_server(video_provider="runway", poll_interval_s=0.1)
    c = await server.connect("vt")
    wid = await shot(server, c)
    await c.request({"type": "video.generate", "workspace_id": wid})
    final = (await until_status(c, wid, {"completed", "failed"}, timeout=40))[-1]
    assert final["status"] == "completed"
    polls = [t for m, p, t in fake.requests if m == "GET" and p.startswith("/v1/tasks/")]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert max(gaps) >= 0.9, gaps  # Retry-After: 1 was honoured


async def test_timeout_fails_the_task_and_cancels_it(start_server, fake, monkeypatch) -> None:
    """A task never finishing is failed with code timeout after VIDEO_TIMEOUT_S, and cancelled at Runway."""
    runway_env(fake, monkeypatch)
    fake.script.states = [{"status": "RUNNING", "progress": 0.1}]
    server = await start_server(video_provider="runway", video_timeout_s=1.0, poll_interval_s=0.1)
    c = await server.connect("vto")
    wid = await shot(server, c)
    await c.request({"type": "video.generate", "workspace_id": wid})
    final = (await until_status(c, wid, {"completed", "failed"}))[-1]
    assert final["status"] == "failed" and final["error"]["code"] == "timeout"
    for _ in range(100):
        if any(m == "DELETE" for m, _, _ in fake.requests):
            break
        await asyncio.sleep(0.05)
    assert any(m == "DELETE" for m, _, _ in fake.requests)


async def test_cancel_and_conflicts(start_server, fake, monkeypatch) -> None:
    """A second generate while one runs is conflict; cancel stops it at the provider; cancelling again is conflict."""
    runway_env(fake, monkeypatch)
    fake.script.states = [{"status": "RUNNING", "progress": 0.1}]
    server = await start_server(video_provider="runway")
    a, b = await server.connect("vc"), await server.connect("vc")
    wid = await shot(server, a)
    await a.request({"type": "video.generate", "workspace_id": wid})
    again = await a.request({"type": "video.generate", "workspace_id": wid})
    assert again["type"] == "error" and again["code"] == "conflict"
    cancelled = await a.request({"type": "video.cancel", "workspace_id": wid})
    assert cancelled["type"] == "video.status_update" and cancelled["video"]["status"] == "cancelled"
    assert (await until_status(b, wid, {"cancelled"}))[-1]["status"] == "cancelled"
    assert any(m == "DELETE" for m, _, _ in fake.requests)
    twice = await a.request({"type": "video.cancel", "workspace_id": wid})
    assert twice["code"] == "conflict"
    async with server.http() as http:
        r = await http.post("/api/generate/video/cancel", json={"workspace_id": wid})
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_refusals_change_nothing(start_server, fake, monkeypatch) -> None:
    """No picture or prompt: invalid_message (WS) / 422 (REST); unknown workspace 404; no key 503; provider
    refusal 502 provider_error; none of them changes the workspace."""
    runway_env(fake, monkeypatch)
    server = await start_server(video_provider="runway")
    c = await server.connect("vr")
    no_image = await shot(server, c, image=False)
    no_prompt = await shot(server, c, prompt=None)
    ok = await shot(server, c)
    for wid in (no_image, no_prompt):
        reply = await c.request({"type": "video.generate", "workspace_id": wid})
        assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
    async with server.http() as http:
        for wid in (no_image, no_prompt):
            r = await http.post("/api/generate/video", json={"workspace_id": wid})
            assert r.status_code == 422 and r.json()["error"]["message"]
        assert (await http.post("/api/generate/video", json={"workspace_id": "0" * 24})).status_code == 404
        fake.script.submit_error = (400, {"error": "promptImage: unsupported image"})
        before = (await http.get(f"/api/workspaces/{ok}")).json()
        r = await http.post("/api/generate/video", json={"workspace_id": ok})
        assert r.status_code == 502 and r.json()["error"]["code"] == "provider_error"
        assert "unsupported image" in r.json()["error"]["message"]
        assert (await http.get(f"/api/workspaces/{ok}")).json() == before
        monkeypatch.delenv("RUNWAY_API_KEY")
        keyless = await start_server(video_provider="runway")
        async with keyless.http() as http2:
            c2 = await keyless.connect("vr2")
            wid = await shot(keyless, c2)
            r = await http2.post("/api/generate/video", json={"workspace_id": wid})
            assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
            assert "ab" * 64 not in r.text


async def test_restart_in_the_middle_resumes(start_server, fake, monkeypatch, tmp_path) -> None:
    """A generation in progress when the server stops is finished by the next server on the same database."""
    runway_env(fake, monkeypatch)
    fake.script.states = [{"status": "RUNNING", "progress": 0.2}] * 3 + [{"status": "SUCCEEDED"}]
    first = await start_server(video_provider="runway", data_dir=tmp_path / "d", poll_interval_s=0.3)
    c = await first.connect("vres")
    wid = await shot(first, c)
    await c.request({"type": "video.generate", "workspace_id": wid})
    await first.stop()
    second = await start_server(
        video_provider="runway", data_dir=tmp_path / "d", poll_interval_s=0.3, mongodb_db=first.settings.mongodb_db
    )
    c2 = await second.connect("vres")
    final = (await until_status(c2, wid, {"completed", "failed"}, timeout=30))[-1]
    assert final["status"] == "completed"


async def test_one_poller_per_database_and_takeover(start_server, fake, monkeypatch, tmp_path) -> None:
    """Two servers on one database: only one polls; when it stops, the other takes over within a few intervals."""
    runway_env(fake, monkeypatch)
    first = await start_server(video_provider="runway", poll_interval_s=0.2)
    second = await start_server(video_provider="runway", poll_interval_s=0.2, mongodb_db=first.settings.mongodb_db)
    deadline = time.monotonic() + 5
    while {first.runtime.poller.state, second.runtime.poller.state} != {"running", "standby"}:
        assert time.monotonic() < deadline, (first.runtime.poller.state, second.runtime.poller.state)
        await asyncio.sleep(0.05)
    leader, follower = (first, second) if first.runtime.poller.state == "running" else (second, first)
    async with follower.http() as http:
        assert (await http.get("/health")).json()["poller"] == "standby"
    await leader.stop()
    deadline = time.monotonic() + 3 * 0.6 + 3
    while follower.runtime.poller.state != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_delete_cancels_a_running_generation(start_server, fake, monkeypatch) -> None:
    """Deleting a workspace whose video is generating cancels the task at the provider."""
    runway_env(fake, monkeypatch)
    fake.script.states = [{"status": "RUNNING", "progress": 0.1}]
    server = await start_server(video_provider="runway")
    c = await server.connect("vd")
    wid = await shot(server, c)
    await c.request({"type": "video.generate", "workspace_id": wid})
    assert (await c.request({"type": "workspace.delete", "workspace_id": wid}))["existed"] is True
    for _ in range(100):
        if any(m == "DELETE" for m, _, _ in fake.requests):
            break
        await asyncio.sleep(0.05)
    assert any(m == "DELETE" for m, _, _ in fake.requests)
