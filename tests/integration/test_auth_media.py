"""Per-project tokens (PROTOCOL.md 9.1), continued: media files tied to their project, signed URLs for providers
(issue 14 item 4), ``auth.refresh`` and the close at expiry, and what the connection's log lines say."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from loguru import logger
from websockets.exceptions import ConnectionClosed

from app.auth import sign_path, signing_key
from tests.integration.test_auth_projects import ADMIN_KEY, SECRET, bearer, png, token
from tests.support import LiveServer


@pytest.fixture
async def auth_server(start_server) -> LiveServer:
    return await start_server(auth_jwt_secret=SECRET, auth_token=ADMIN_KEY, public_base_url="https://example.test")


async def _upload(server: LiveServer, value: str, **data: str) -> str:
    async with server.http() as http:
        r = await http.post(
            "/api/upload/image", files={"image": ("p.png", png(), "image/png")}, data=data, headers=bearer(value)
        )
    assert r.status_code == 201, r.text
    return str(r.json()["image_url"])


async def test_media_of_one_project_is_404_for_another(auth_server: LiveServer) -> None:
    """A file uploaded for project a (by its `project` field, or by the workspace it is attached to) and a video
    of a's workspace are 200 for a's token and AUTH_TOKEN, 404 for b's (exactly like a missing file, headers
    included); an upload with neither belongs to `default`."""
    a, b = token(projects=["a"]), token(projects=["b"])
    ws = await (await auth_server.connect("a", token=a)).create(title="shot")
    by_field = await _upload(auth_server, a, project="a")
    by_workspace = await _upload(auth_server, a, workspace_id=ws["id"])
    video = f"/media/{ws['id']}-0123abcd.mp4"
    (auth_server.settings.media_dir / video.rsplit("/", 1)[1]).write_bytes(b"\x00\x00\x00\x18ftypmp42")
    default = await _upload(auth_server, token(projects=["default"]))
    async with auth_server.http() as http:
        missing = await http.get("/uploads/0123456789abcdef01234567.png", headers=bearer(b))
        for url in (by_field, by_workspace, video):
            assert (await http.get(url, headers=bearer(a))).status_code == 200, url
            assert (await http.get(url, headers=bearer(ADMIN_KEY))).status_code == 200, url
            hidden = await http.get(url, headers=bearer(b))
            assert hidden.status_code == missing.status_code == 404, url
            assert hidden.headers["x-content-type-options"] == missing.headers["x-content-type-options"]
            assert (await http.get(url, params={"token": b})).status_code == 404  # ?token= for <img> tags
        assert (await http.get(default, headers=bearer(a))).status_code == 404
        assert (await http.get(default, headers=bearer(token(projects=["default"])))).status_code == 200
        assert (await http.get(by_field)).status_code == 401  # no token at all


async def test_image_path_must_name_an_upload_of_the_workspaces_project(auth_server: LiveServer) -> None:
    """workspace.update/create with the image_path of another project's upload is invalid_message and changes
    nothing; the project's own upload is accepted."""
    theirs = (await _upload(auth_server, token(projects=["b"]), project="b")).lstrip("/")
    mine = (await _upload(auth_server, token(projects=["a"]), project="a")).lstrip("/")
    client = await auth_server.connect("a", token=token())
    ws = await client.create(title="shot")
    reply = await client.request(
        {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"image_path": theirs}}
    )
    assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
    created = await client.request({"type": "workspace.create", "workspace": {"image_path": theirs}})
    assert created["type"] == "error" and created["code"] == "invalid_message"
    assert (await client.request({"type": "workspace.list"}))["workspaces"] == [ws]
    reply = await client.request(
        {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"image_path": mine}}
    )
    assert reply["type"] == "workspace.sync_confirm"


async def test_signed_urls_serve_one_file_until_they_expire(auth_server: LiveServer) -> None:
    """The URL handed to providers works without a token; the same signature on another file, an expired one,
    a tampered one, or one used for a write, does not."""
    own = await _upload(auth_server, token(projects=["a"]), project="a")
    other = await _upload(auth_server, token(projects=["a"]), project="a")
    ws = await (await auth_server.connect("a", token=token())).create(title="s", image_path=own.lstrip("/"))
    image = await auth_server.runtime.video._image({**ws, "image_path": own.lstrip("/")})
    assert image.public_url.startswith("https://example.test/uploads/") and "sig=" in image.public_url
    signed = image.public_url.removeprefix("https://example.test")
    key = signing_key(auth_server.settings)
    query = signed.partition("?")[2]
    async with auth_server.http() as http:
        r = await http.get(signed)
        assert r.status_code == 200 and r.content == png()
        assert (await http.get(f"{other}?{query}")).status_code == 401
        assert (await http.get(sign_path(key, own, 60, now=time.time() - 120))).status_code == 401
        assert (await http.get(signed[:-2] + ("00" if not signed.endswith("00") else "11"))).status_code == 401
        assert (await http.get(f"/api/workspaces/{ws['id']}?{query}")).status_code == 401
        assert (await http.post("/api/upload/image?" + query, files={"image": ("x.png", png())})).status_code == 401


async def _closed(client: Any) -> tuple[int, float]:
    """Wait for the server's close; (code, time.time() when it came)."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await client.ws.recv()
    assert info.value.rcvd is not None
    return info.value.rcvd.code, time.time()


async def test_expiry_closes_the_socket_unless_refreshed(auth_server: LiveServer) -> None:
    """A token that expires closes its socket with 1008 within 2 s of exp; one refreshed before exp stays open
    past it; a bad refresh or one for another project is unauthorized and changes nothing; the refreshed role
    applies; AUTH_TOKEN sockets have no expiry."""
    short = token(exp_in=2)
    exp = int(time.time() + 2)
    lapsing = await auth_server.connect("a", token=short)
    kept = await auth_server.connect("a", token=short)
    admin = await auth_server.connect("a", token=ADMIN_KEY)
    for bad in ("garbage", token(exp_in=-30), token(projects=["b"])):
        reply = await kept.request({"type": "auth.refresh", "token": bad})
        assert reply["type"] == "error" and reply["code"] == "unauthorized", reply
    longer = token("viewer", exp_in=120)
    reply = await kept.request({"type": "auth.refresh", "token": longer})
    assert reply["type"] == "auth.refreshed" and reply["expires_at"].endswith("Z")
    code, when = await asyncio.wait_for(_closed(lapsing), 10)
    assert code == 1008 and when <= exp + 2.0
    assert (await kept.request({"type": "ping"}))["type"] == "pong"  # past the first token's exp: still open
    refused = await kept.request({"type": "workspace.create"})
    assert refused["code"] == "forbidden"  # the new token's role applies
    assert (await admin.request({"type": "auth.refresh", "token": ADMIN_KEY}))["expires_at"] is None
    assert (await admin.request({"type": "ping"}))["type"] == "pong"


async def test_the_connections_log_lines_carry_sub_never_the_token(auth_server: LiveServer) -> None:
    """Every log line of a connection has `sub` in its context; the token (on connect and in auth.refresh)
    appears in no message and no extra."""
    records: list[Any] = []
    sink = logger.add(lambda m: records.append(m.record), level="DEBUG")
    try:
        first, second = token(sub="alice"), token(sub="bob", exp_in=90)
        client = await auth_server.connect("a", token=first)
        await client.request({"type": "auth.refresh", "token": second})
        await client.create(title="x")
        await client.close()
        await asyncio.wait_for(_wait_for(records, "ws close"), 5)
    finally:
        logger.remove(sink)
    mine = [r for r in records if r["extra"].get("conn") == client.ready["connection_id"]]
    assert any("ws open" in r["message"] for r in mine) and all(r["extra"].get("sub") for r in mine)
    assert {r["extra"]["sub"] for r in mine} == {"alice", "bob"}
    text = repr([(r["message"], r["extra"]) for r in records])
    assert first not in text and second not in text


async def _wait_for(records: list[Any], needle: str) -> None:
    while not any(needle in r["message"] for r in records):
        await asyncio.sleep(0.02)
