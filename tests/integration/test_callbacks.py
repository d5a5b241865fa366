"""Provider callbacks (PROTOCOL.md 9.3): a callback only pokes the poller, which asks the provider and stores what it
says. A signed fal callback brings ``video.status_update`` within a second while ``POLL_INTERVAL_S`` is 30; a
forged or replayed one is 401 and changes nothing; an unsigned one is a hint that cannot set any state itself."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import free_port
from app.webhooks import sign_standard
from tests.fakes.fal import FakeFal, Signer
from tests.fakes.server import FakeServer
from tests.integration.test_video import shot, until_status
from tests.support import LiveServer, WsClient

SLOW_POLL = 30.0  # no poll cycle happens within a test: whatever arrives was brought by a callback


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    fake = FakeFal()
    await fake.start()
    yield fake
    await fake.stop()


async def start(start_server: Any, **overrides: Any) -> LiveServer:
    port = free_port()
    server: LiveServer = await start_server(
        port=port, public_base_url=f"http://127.0.0.1:{port}", poll_interval_s=SLOW_POLL, **overrides
    )
    return server


async def generate(c: WsClient, wid: str) -> dict[str, Any]:
    reply = await c.request({"type": "video.generate", "workspace_id": wid})
    assert reply["type"] == "video.status_update", reply
    return reply["video"]


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_signed_fal_callback_brings_the_status_within_a_second(start_server, fal, monkeypatch) -> None:
    """Submit carries ?fal_webhook=<PUBLIC_BASE_URL>/api/callbacks/pika; once fal has finished, a forged (other key)
    and a replayed (stale timestamp) callback are 401 and make nobody ask fal; the genuine one makes the poller ask
    fal, download the video and send video.status_update ``completed`` within 1 s, with no poll cycle due for 30 s.
    fal's keys were fetched once (cached)."""
    monkeypatch.setenv("PIKA_API_KEY", "fal-key-" + "c" * 32)
    monkeypatch.setenv("PIKA_BASE_URL", fal.base_url)
    server = await start(start_server, video_provider="pika", fal_jwks_url=fal.jwks_url)
    c = await server.connect("cb")
    wid = await shot(server, c)
    video = await generate(c, wid)
    assert video["status"] == "queued"
    (rid,) = fal.requests
    assert fal.requests[rid].webhook == f"{server.base}/api/callbacks/pika"
    assert "fal_webhook" not in fal.requests[rid].body  # a query parameter, not model input
    fal.complete(rid)
    polls = fal.requests[rid].status_polls

    forged = await fal.send_webhook(rid, signer=Signer())  # a well-formed signature by a key fal never published
    replayed = await fal.send_webhook(rid, timestamp=int(time.time()) - 6 * 60)  # genuine, but 6 minutes old
    assert (forged.status_code, replayed.status_code) == (401, 401), (forged.text, replayed.text)
    assert forged.json()["error"]["code"] == "unauthorized"
    assert not [m for m in await c.nothing_more(1.0) if m.get("type") == "video.status_update"]
    assert fal.requests[rid].status_polls == polls  # nobody asked fal on their account
    async with server.http() as http:
        stored = (await http.get(f"/api/workspaces/{wid}")).json()["video"]
    assert stored["status"] == "queued" and stored["url"] is None

    sent = time.monotonic()
    genuine = await fal.send_webhook(rid)
    assert genuine.status_code == 200 and genuine.json() == {"received": True}
    seen = await until_status(c, wid, {"completed", "failed"}, timeout=5)
    elapsed = time.monotonic() - sent
    print(f"\nfal callback -> video.status_update completed: {elapsed * 1000:.0f} ms")
    assert seen[-1]["status"] == "completed" and seen[-1]["url"].startswith("/media/"), seen
    assert elapsed < 1.0
    assert fal.jwks_fetches == 1
    async with server.http() as http:
        text = (await http.get("/metrics")).text
    assert metric(text, "workspace_server_callbacks_received_total", provider="pika") == 1
    assert metric(text, "workspace_server_callbacks_refused_total", provider="pika", reason="bad_signature") == 1
    assert metric(text, "workspace_server_callbacks_refused_total", provider="pika", reason="stale") == 1


async def test_a_fal_callback_without_signature_headers_is_refused(start_server, fal, monkeypatch) -> None:
    """The fal body alone (no X-Fal-Webhook-* headers) is 401: an attacker cannot skip the signature."""
    monkeypatch.setenv("PIKA_BASE_URL", fal.base_url)
    server = await start(start_server, video_provider="pika", fal_jwks_url=fal.jwks_url)
    async with server.http() as http:
        r = await http.post("/api/callbacks/pika", content=b'{"request_id": "x", "status": "OK"}')
    assert r.status_code == 401


class FakeKling(FakeServer):
    """Kling's image2video create and query (PROVIDERS.md 2): the task stays ``submitted`` whatever anyone says."""

    def __init__(self) -> None:
        super().__init__(
            [
                Route("/v1/videos/image2video", self.create, methods=["POST"]),
                Route("/v1/videos/image2video/{task_id}", self.query, methods=["GET"]),
            ]
        )
        self.bodies: list[dict[str, Any]] = []
        self.queries = 0

    async def create(self, request: Request) -> Response:
        self.bodies.append(await request.json())
        return JSONResponse({"code": 0, "message": "SUCCEED", "data": {"task_id": "k-1", "task_status": "submitted"}})

    async def query(self, request: Request) -> Response:
        self.queries += 1
        data = {"task_id": request.path_params["task_id"], "task_status": "submitted"}
        return JSONResponse({"code": 0, "message": "SUCCEED", "data": data})


async def test_an_unsigned_callback_only_makes_the_poller_ask(start_server, monkeypatch) -> None:
    """A valid-looking Kling callback saying "succeed" with a video URL, for a task Kling says is still submitted:
    accepted as a hint (200), the poller asks Kling at once, and nothing changes (no status_update, still queued,
    no URL): stored state comes from the provider, never from the callback."""
    kling = FakeKling()
    await kling.start()
    try:
        monkeypatch.setenv("KLING_ACCESS_KEY", "ak-" + "a" * 32)
        monkeypatch.setenv("KLING_SECRET_KEY", "sk-" + "s" * 32)
        monkeypatch.setenv("KLING_BASE_URL", kling.base_url)
        server = await start(start_server, video_provider="kling")
        c = await server.connect("cb")
        wid = await shot(server, c)
        await generate(c, wid)
        assert kling.bodies[0]["callback_url"] == f"{server.base}/api/callbacks/kling"
        before = kling.queries
        claim = {
            "task_id": "k-1",
            "task_status": "succeed",
            "task_result": {"videos": [{"id": "v", "url": "https://evil.example/owned.mp4", "duration": "5"}]},
        }
        async with server.http() as http:
            r = await http.post("/api/callbacks/kling", json=claim)
            assert r.status_code == 200 and r.json() == {"received": True}
            deadline = time.monotonic() + 2
            while kling.queries == before and time.monotonic() < deadline:  # the poke is in the background
                await c.nothing_more(0.05)
            assert kling.queries == before + 1  # the callback made the poller ask Kling, once
            assert not [m for m in await c.nothing_more(0.5) if m.get("type") == "video.status_update"]
            stored = (await http.get(f"/api/workspaces/{wid}")).json()["video"]
        assert stored["status"] == "queued" and stored["url"] is None and stored["source_url"] is None
    finally:
        await kling.stop()


async def test_minimax_challenge_is_echoed(start_server) -> None:
    """MiniMax checks a callback URL by POSTing {"challenge"}; it must come back in the 200 body."""
    server = await start(start_server)
    async with server.http() as http:
        r = await http.post("/api/callbacks/minimax", json={"challenge": "c-123"})
        assert r.status_code == 200 and r.json() == {"challenge": "c-123"}
        assert (await http.post("/api/callbacks/runway", json={})).status_code == 404  # Runway has no callbacks


async def test_a_provider_with_a_webhook_secret_must_sign(start_server, monkeypatch) -> None:
    """<NAME>_WEBHOOK_SECRET set: an unsigned or wrongly signed callback is 401, a Standard Webhooks one is taken."""
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("LUMA_WEBHOOK_SECRET", secret)
    server = await start(start_server)
    body = b'{"id": "gen-1", "state": "completed"}'
    ts = str(int(time.time()))
    good = {
        "webhook-id": "msg_1",
        "webhook-timestamp": ts,
        "webhook-signature": sign_standard(secret, "msg_1", ts, body),
    }
    async with server.http() as http:
        assert (await http.post("/api/callbacks/luma", content=body)).status_code == 401
        bad = {**good, "webhook-signature": sign_standard(secret, "msg_1", ts, body + b" ")}
        assert (await http.post("/api/callbacks/luma", content=body, headers=bad)).status_code == 401
        r = await http.post("/api/callbacks/luma", content=body, headers=good)
        assert r.status_code == 200, r.text


async def test_callback_body_limits(start_server) -> None:
    """Garbage is refused without effect: not JSON is 400, over 1 MiB is 413."""
    server = await start(start_server)
    async with server.http() as http:
        assert (await http.post("/api/callbacks/kling", content=b"{nope")).status_code == 400
        big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
        assert (await http.post("/api/callbacks/kling", content=big)).status_code == 413
