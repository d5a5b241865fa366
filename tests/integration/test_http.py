"""The REST surface (PROTOCOL.md 5 and 6): health, workspaces, uploads checked by content, auth, CORS."""

from __future__ import annotations

import io

import pytest
from loguru import logger
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import LiveServer


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, fmt)
    return buf.getvalue()


async def test_health_and_workspace_routes(server: LiveServer) -> None:
    """/health reports db, poller and connections; workspaces list in timeline order per project; 404 body shape."""
    c = await server.connect("rest")
    a = await c.create(title="A")
    b = (await c.request({"type": "workspace.create", "workspace": {"title": "B"}, "position": 0}))["workspace"]
    async with server.http() as http:
        health = (await http.get("/health")).json()
        assert health["status"] == "ok" and health["db"] == "ok" and health["connections"] >= 1
        assert health["poller"] in ("running", "standby", "starting") and health["version"]
        listed = (await http.get("/api/workspaces", params={"project": "rest"})).json()["workspaces"]
        assert [w["id"] for w in listed] == [b["id"], a["id"]]
        assert (await http.get("/api/workspaces", params={"project": "other"})).json() == {"workspaces": []}
        assert (await http.get(f"/api/workspaces/{a['id']}")).json() == a
        for missing in ("0" * 24, "nope"):
            r = await http.get(f"/api/workspaces/{missing}")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found" and r.json()["error"]["message"]
        bad = await http.get("/api/workspaces", params={"project": "bad name"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_message"
        assert (await http.get("/no/such/path")).status_code == 404


async def test_metrics_and_protocol_schema(server: LiveServer) -> None:
    """/metrics is Prometheus text with our counters; /api/protocol names every message type."""
    c = await server.connect()
    await c.request({"type": "ping"})
    async with server.http() as http:
        text = (await http.get("/metrics")).text
        assert "workspace_server_ws_connections 1.0" in text
        assert 'workspace_server_ws_messages_total{type="ping"}' in text
        schema = (await http.get("/api/protocol")).text
    for kind in (
        "ping",
        "workspace.list",
        "workspace.create",
        "workspace.update",
        "workspace.delete",
        "workspace.reorder",
        "video.generate",
        "video.cancel",
        "ai.suggest",
        "connection.ready",
        "pong",
        "workspace.list_result",
        "workspace.created",
        "workspace.sync_confirm",
        "workspace.deleted",
        "workspace.reorder_confirm",
        "workspace.updated",
        "workspace.reordered",
        "video.status_update",
        "ai.delta",
        "ai.suggestion",
        "error",
    ):
        assert f'"{kind}"' in schema, kind


@pytest.mark.parametrize(
    ("fmt", "ext", "mime"), [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")]
)
async def test_upload_accepted_by_content(server: LiveServer, fmt: str, ext: str, mime: str) -> None:
    """PNG, JPEG and WebP are stored under a name we choose (extension from the content) and served back as sent."""
    data = image_bytes(fmt)
    async with server.http() as http:
        r = await http.post("/api/upload/image", files={"file": ("holiday.gif", data, "application/octet-stream")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["image_path"].startswith("uploads/") and body["image_path"].endswith("." + ext)
        assert "holiday" not in body["image_path"] and body["image_url"] == "/" + body["image_path"]
        assert (body["content_type"], body["width"], body["height"], body["size"]) == (mime, 40, 30, len(data))
        served = await http.get(body["image_url"])
        assert served.status_code == 200 and served.content == data


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (image_bytes("GIF"), 415),
        (image_bytes("BMP"), 415),
        (b"just some text, not a picture", 415),
        (b"", 400),
    ],
)
async def test_upload_refused(server: LiveServer, payload: bytes, status: int) -> None:
    """GIF/BMP and non-images are 415, an empty file 400; nothing is stored."""
    async with server.http() as http:
        r = await http.post("/api/upload/image", files={"image": ("x.png", payload, "image/png")})
        assert r.status_code == status, r.text
        assert r.json()["error"]["message"]
    assert list(server.settings.uploads_dir.iterdir()) == []


async def test_upload_limits_and_bombs(start_server) -> None:
    """No file is 400, over MAX_UPLOAD_BYTES 413, a decompression bomb is refused; nothing is stored."""
    server = await start_server(max_upload_bytes=20_000)
    async with server.http() as http:
        assert (await http.post("/api/upload/image", data={"project": "x"})).status_code == 400
        big = image_bytes("BMP", (200, 200))
        r = await http.post("/api/upload/image", files={"image": ("big.bmp", big, "image/bmp")})
        assert r.status_code == 413 and r.json()["error"]["code"] == "invalid_message"
        bomb = io.BytesIO()
        Image.new("1", (12000, 12000)).save(bomb, "PNG")
        assert len(bomb.getvalue()) < 20_000
        r = await http.post("/api/upload/image", files={"image": ("bomb.png", bomb.getvalue(), "image/png")})
        assert r.status_code in (400, 413, 415), r.text
        assert (await http.get("/uploads/../pyproject.toml")).status_code == 404
        assert (await http.get("/uploads/nothing.png")).status_code == 404
    assert list(server.settings.uploads_dir.iterdir()) == []


async def test_upload_attaches_to_a_workspace(server: LiveServer) -> None:
    """With workspace_id the picture is attached, the version grows, and every tab gets workspace.updated."""
    c, other = await server.connect("att"), await server.connect("att")
    ws = await c.create(title="pic")
    await other.expect_type("workspace.created")
    async with server.http() as http:
        r = await http.post(
            "/api/upload/image",
            files={"image": ("a.png", image_bytes("PNG"), "image/png")},
            data={"workspace_id": ws["id"]},
        )
        assert r.status_code == 201
        stored = (await http.get(f"/api/workspaces/{ws['id']}")).json()
        missing = await http.post(
            "/api/upload/image",
            files={"image": ("a.png", image_bytes("PNG"), "image/png")},
            data={"workspace_id": "0" * 24},
        )
        assert missing.status_code == 404
    assert stored["image_path"] == r.json()["image_path"] and stored["version"] > ws["version"]
    for tab in (c, other):
        event = await tab.expect_type("workspace.updated")
        assert event["changes"] == {"image_path": r.json()["image_path"], "image_url": r.json()["image_url"]}
    assert len(list(server.settings.uploads_dir.iterdir())) == 1


async def test_auth_token(start_server) -> None:
    """With AUTH_TOKEN: REST needs it (Bearer, X-API-Token or ?token=) except /health and preflights; a WebSocket
    without it is accepted then closed with 1008; the token never reaches the logs."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        server = await start_server(auth_token="s3cret-token")
        async with server.http() as http:
            assert (await http.get("/health")).status_code == 200
            for path in ("/api/workspaces", "/metrics", "/api/protocol", "/uploads/x.png"):
                r = await http.get(path)
                assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", path
            assert (await http.get("/api/workspaces", headers={"Authorization": "Bearer wrong"})).status_code == 401
            assert (
                await http.get("/api/workspaces", headers={"Authorization": "Bearer s3cret-token"})
            ).status_code == 200
            assert (await http.get("/api/workspaces", headers={"X-API-Token": "s3cret-token"})).status_code == 200
            assert (await http.get("/metrics", params={"token": "s3cret-token"})).status_code == 200
            # a preflight needs no token (from an origin CORS grants: since 1.1 the defaults are own + loopback)
            pre = await http.options(
                "/api/workspaces", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"}
            )
            assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        for url in (server.ws_url(), server.ws_url(token="wrong")):
            async with connect(url) as ws:
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert info.value.rcvd is not None and info.value.rcvd.code == 1008
        ok = await server.connect(token="s3cret-token")
        assert (await ok.request({"type": "ping"}))["type"] == "pong"
        header = await server.connect(additional_headers={"Authorization": "Bearer s3cret-token"})
        assert (await header.request({"type": "ping"}))["type"] == "pong"
    finally:
        logger.remove(sink)
    assert not [line for line in lines if "s3cret-token" in line]


async def test_origin_allowlist_and_cors(start_server) -> None:
    """With ALLOWED_ORIGINS a foreign Origin's WebSocket is closed with 1008 and its preflight gets no CORS grant."""
    server = await start_server(allowed_origins="http://ok.example")
    async with connect(server.ws_url(), origin="http://evil.example") as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    good = await server.connect(origin="http://ok.example")
    assert (await good.request({"type": "ping"}))["type"] == "pong"
    async with server.http() as http:
        allowed = await http.options(
            "/api/workspaces", headers={"Origin": "http://ok.example", "Access-Control-Request-Method": "GET"}
        )
        denied = await http.options(
            "/api/workspaces", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
        )
    assert allowed.headers.get("access-control-allow-origin") == "http://ok.example"
    assert "access-control-allow-origin" not in denied.headers


async def test_token_in_the_websocket_url_is_not_logged(start_server) -> None:
    """At INFO (uvicorn logs the WebSocket path with its query), ?token= never reaches a log line."""
    import logging

    from app.logging import setup_logging

    lines: list[str] = []
    setup_logging("INFO", None, console=False)
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        server = await start_server(auth_token="leak-check-token")
        ok = await server.connect("p", token="leak-check-token")
        assert (await ok.request({"type": "ping"}))["type"] == "pong"
        await ok.close()
    finally:
        logger.remove(sink)
        setup_logging("WARNING", None)
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    assert any("/ws" in line for line in lines), lines[-5:]  # the path was logged...
    assert not [line for line in lines if "leak-check-token" in line]  # ...without the token
