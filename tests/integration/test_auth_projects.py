"""Per-project tokens (PROTOCOL.md 9.1) at the one boundary, WebSocket and REST alike: who may connect to which
project, what a viewer may not do, what an editor and an admin may, and the public-key algorithms."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.utils import base64url_encode
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import LiveServer

SECRET = "test-jwt-secret-with-enough-bytes-for-hs256"
ADMIN_KEY = "all-projects-admin-key"
WID = "0" * 24


def token(
    role: str = "editor", projects: list[str] | None = None, *, exp_in: float = 60, key: str = SECRET, **claims: Any
) -> str:
    body = {"sub": f"{role}-user", "role": role, "projects": ["a"] if projects is None else projects}
    body["exp"] = int(time.time() + exp_in)
    return jwt.encode({**body, **claims}, key, algorithm="HS256")


def hs256_by_hand(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token made without PyJWT (which refuses to use a PEM as an HMAC key)."""
    header = base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = base64url_encode(json.dumps(claims).encode())
    signature = base64url_encode(hmac.new(key, header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def close_code(server: LiveServer, project: str | None, value: str | None) -> int:
    """The code the server closes a fresh socket with (it accepts first, PROTOCOL.md 7)."""
    async with connect(server.ws_url(project, value)) as ws:
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(3):
                await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None
    return info.value.rcvd.code


@pytest.fixture
async def auth_server(start_server) -> LiveServer:
    return await start_server(auth_jwt_secret=SECRET, auth_token=ADMIN_KEY)


async def test_websocket_refused_without_a_token_for_its_project(auth_server: LiveServer) -> None:
    """No token, a wrong one, an expired one (beyond the 5 s leeway), a forged one, one without exp or role, and
    a valid token of another project: each socket is closed with 1008; the token's own project opens."""
    forged = token(key="not-the-secret-but-long-enough-for-hs256")
    no_exp = jwt.encode({"sub": "x", "role": "editor", "projects": ["a"]}, SECRET, algorithm="HS256")
    no_role = token(role="owner")
    for value in (None, "wrong", token(exp_in=-10), forged, no_exp, no_role, token(projects=["b"])):
        assert await close_code(auth_server, "a", value) == 1008, value
    assert await close_code(auth_server, None, token()) == 1008  # no ?project= means "default", not named
    ok = await auth_server.connect("a", token=token())
    assert ok.ready["project"] == "a"
    star = await auth_server.connect("zzz", token=token(projects=["*"]))
    assert star.ready["project"] == "zzz"


async def test_rest_needs_a_valid_token_except_health_and_preflights(auth_server: LiveServer) -> None:
    """401 without a token, with a wrong or expired one; /health and OPTIONS stay open."""
    async with auth_server.http() as http:
        for headers in ({}, bearer("wrong"), bearer(token(exp_in=-10)), bearer(token(role="boss"))):
            r = await http.get("/api/workspaces", params={"project": "a"}, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", headers
        assert (await http.get("/health")).status_code == 200
        callback = await http.post("/api/callbacks/kling", json={"task_id": "t1", "task_status": "succeed"})
        assert callback.status_code not in (401, 403)  # providers have no token; the route checks signatures
        r = await http.options(
            "/api/workspaces",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
        )
        assert r.status_code == 200
        ok = await http.get("/api/workspaces", params={"project": "a"}, headers=bearer(token()))
        assert ok.status_code == 200 and ok.json() == {"workspaces": []}


async def test_another_projects_workspaces_and_listing_are_hidden(auth_server: LiveServer) -> None:
    """A token for project a: b's listing is 403; b's workspace is 404 on every route that takes an id (read,
    generate, cancel, suggest, upload into it), an upload into project b is 404; nothing of b changes."""
    admin = await auth_server.connect("b", token=ADMIN_KEY)
    theirs = await admin.create(title="B's", form_data={"prompt": "a kite"})
    own = await (await auth_server.connect("a", token=token())).create(title="A's")
    a = bearer(token())
    async with auth_server.http() as http:
        r = await http.get("/api/workspaces", params={"project": "b"}, headers=a)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await http.get(f"/api/workspaces/{theirs['id']}", headers=a)).status_code == 404
        assert (await http.get(f"/api/workspaces/{theirs['id']}?project=b", headers=a)).status_code == 404
        assert (await http.get(f"/api/workspaces/{own['id']}", headers=a)).status_code == 200
        for path, body in (
            ("/api/generate/video", {"workspace_id": theirs["id"]}),
            ("/api/generate/video/cancel", {"workspace_id": theirs["id"]}),
            ("/api/ai/suggest", {"workspace_id": theirs["id"], "message": "hi"}),
        ):
            r = await http.post(path, json=body, headers=a)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.text)
        files = {"image": ("x.png", png(), "image/png")}
        r = await http.post("/api/upload/image", files=files, data={"workspace_id": theirs["id"]}, headers=a)
        assert r.status_code == 404
        r = await http.post("/api/upload/image", files=files, data={"project": "b"}, headers=a)
        assert r.status_code == 404
        after = (await http.get(f"/api/workspaces/{theirs['id']}", headers=bearer(ADMIN_KEY))).json()
    assert after == theirs  # no video started, no AI exchange, no picture
    assert await admin.nothing_more(0.3) == []


async def test_a_viewer_reads_and_hears_but_changes_nothing(auth_server: LiveServer) -> None:
    """A viewer lists and receives events; every change message is `forbidden` before it is even validated
    (a malformed one too), nothing changes, nobody hears of it, and the socket stays open."""
    editor = await auth_server.connect("a", token=token("editor"))
    viewer = await auth_server.connect("a", token=token("viewer"))
    ws = await editor.create(title="shot", form_data={"prompt": "a kite"})
    assert (await viewer.expect_type("workspace.created"))["workspace"]["id"] == ws["id"]
    changes: list[dict[str, Any]] = [
        {"type": "workspace.create", "workspace": {"title": "x"}},
        {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "hijacked"}},
        {"type": "workspace.update", "workspace_id": "not-an-id", "updates": {"nope": 1}},
        {"type": "workspace.delete", "workspace_id": ws["id"]},
        {"type": "workspace.reorder", "order": [ws["id"]]},
        {"type": "video.generate", "workspace_id": ws["id"]},
        {"type": "video.cancel", "workspace_id": ws["id"]},
        {"type": "ai.suggest", "workspace_id": ws["id"], "message": "hi"},
    ]
    for message in changes:
        reply = await viewer.request(message)
        assert reply["type"] == "error" and reply["code"] == "forbidden", (message, reply)
    assert (await viewer.request({"type": "ping"}))["type"] == "pong"
    listed = await viewer.request({"type": "workspace.list"})
    assert listed["workspaces"] == [ws]  # same version: nothing was written
    assert await editor.nothing_more(0.3) == []
    await editor.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "t2"}})
    assert (await viewer.expect_type("workspace.updated"))["changes"] == {"title": "t2"}


async def test_a_viewer_gets_403_on_every_rest_change(auth_server: LiveServer) -> None:
    """REST: a viewer's POSTs are 403 before the route runs (even with a malformed body); reads work."""
    editor = await auth_server.connect("a", token=token("editor"))
    ws = await editor.create(title="shot", form_data={"prompt": "a kite"})
    v = bearer(token("viewer"))
    async with auth_server.http() as http:
        for path, kwargs in (
            ("/api/upload/image", {"files": {"image": ("x.png", png(), "image/png")}, "data": {"project": "a"}}),
            ("/api/generate/video", {"json": {"workspace_id": ws["id"]}}),
            ("/api/generate/video/cancel", {"json": {"workspace_id": ws["id"]}}),
            ("/api/ai/suggest", {"json": {"workspace_id": ws["id"], "message": "hi"}}),
            ("/api/ai/suggest", {"content": b"{not json"}),
        ):
            r = await http.post(path, headers=v, **kwargs)
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)
        assert (await http.get(f"/api/workspaces/{ws['id']}", headers=v)).json() == ws
    assert not list(auth_server.settings.uploads_dir.iterdir())  # the upload was never stored


async def test_an_editor_changes_and_only_admins_read_metrics(auth_server: LiveServer) -> None:
    """An editor's changes are confirmed; /metrics is 403 for viewers and editors, 200 for an admin JWT and for
    AUTH_TOKEN."""
    editor = await auth_server.connect("a", token=token("editor"))
    ws = await editor.create(title="shot")
    reply = await editor.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "t"}})
    assert reply["type"] == "workspace.sync_confirm" and reply["version"] == ws["version"] + 1
    async with auth_server.http() as http:
        for role in ("viewer", "editor"):
            r = await http.get("/metrics", headers=bearer(token(role)))
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        for value in (token("admin", []), ADMIN_KEY):
            r = await http.get("/metrics", headers=bearer(value))
            assert r.status_code == 200 and "workspace_server_" in r.text


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize("kind", ["RS256", "EdDSA"])
async def test_public_key_tokens_and_algorithm_mismatch(start_server, kind: str) -> None:
    """With AUTH_JWT_PUBLIC_KEY: a token signed by the private key opens its project; the same claims signed
    with HS256 keyed by the public PEM (the classic confusion attack), or by another key, are refused."""
    key = rsa.generate_private_key(65537, 2048) if kind == "RS256" else ed25519.Ed25519PrivateKey.generate()
    pem = _pem(key)
    server = await start_server(auth_jwt_public_key=pem)
    claims = {"sub": "k", "role": "editor", "projects": ["a"], "exp": int(time.time() + 60)}
    good = jwt.encode(claims, key, algorithm=kind)
    other = rsa.generate_private_key(65537, 2048) if kind == "RS256" else ed25519.Ed25519PrivateKey.generate()
    forged = hs256_by_hand(claims, pem.encode())
    for bad in (forged, jwt.encode(claims, other, algorithm=kind), token()):
        assert await close_code(server, "a", bad) == 1008
    client = await server.connect("a", token=good)
    assert (await client.create(title="by key"))["project"] == "a"
