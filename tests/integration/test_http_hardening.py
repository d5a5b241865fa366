"""HTTP hardening (PROTOCOL.md 9.5; issue 11 items 3, 5 and the served-file half of 12): the Origin policy on
every state-changing request and WebSocket, the JSON body reader's limits, and the headers of served files.

Each test replays the attack as a browser on another site would send it (a "simple" text/plain or multipart
request needs no preflight, so CORS alone never stops it) and reads the workspace back to show nothing changed.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from protocol import loads
from tests.fakes.runway import FakeRunway
from tests.support import LiveServer

APP = "https://app.example.com"
EVIL = "https://evil.example"
MIB = 1024 * 1024


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 18), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
async def runway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeRunway]:
    """A fake Runway whose tasks stay PENDING: a generation that got through stays visible (and cancellable)."""
    fake = FakeRunway()
    fake.script.states = [{"status": "PENDING"}]
    await fake.start()
    monkeypatch.setenv("RUNWAY_API_KEY", "key_" + "ab" * 64)
    monkeypatch.setenv("RUNWAY_BASE_URL", fake.base_url)
    yield fake
    await fake.stop()


async def shot(server: LiveServer) -> dict[str, Any]:
    """A workspace with a prompt and a picture (attached with no Origin, as a script would), read back over REST."""
    c = await server.connect("harden")
    ws = await c.create(title="shot", form_data={"prompt": "a red kite"})
    async with server.http() as http:
        r = await http.post(
            "/api/upload/image", files={"image": ("a.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
        )
        assert r.status_code == 201, r.text
        stored: dict[str, Any] = (await http.get(f"/api/workspaces/{ws['id']}")).json()
    return stored


def text_plain(origin: str | None, **extra: str) -> dict[str, str]:
    """The headers of a form or fetch(no-cors) POST from a page: text/plain needs no preflight."""
    headers = {"Content-Type": "text/plain;charset=UTF-8", **extra}
    if origin is not None:
        headers["Origin"] = origin
    return headers


async def ws_close_code(server: LiveServer, **kwargs: Any) -> int | None:
    """The close code a WebSocket opened with ``kwargs`` gets before any message (None: it got connection.ready)."""
    async with connect(server.ws_url(), **kwargs) as ws:
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else -1
        assert first["type"] == "connection.ready", first
        return None


async def test_foreign_origin_changes_nothing(start_server, runway: FakeRunway) -> None:
    """ALLOWED_ORIGINS=https://app.example.com, no token: text/plain JSON to /api/ai/suggest and
    /api/generate/video and a multipart upload with workspace_id from another origin (or with Sec-Fetch-Site:
    cross-site and no Origin) are 403 forbidden; the workspace, the uploads and the provider see nothing."""
    server = await start_server(allowed_origins=APP, video_provider="runway")
    ws = await shot(server)
    suggest = json.dumps({"workspace_id": ws["id"], "message": "make it dramatic"})
    generate = json.dumps({"workspace_id": ws["id"]})
    async with server.http() as http:
        attacks = [
            await http.post("/api/ai/suggest", content=suggest, headers=text_plain(EVIL)),
            await http.post("/api/generate/video", content=generate, headers=text_plain(EVIL)),
            await http.post("/api/generate/video/cancel", content=generate, headers=text_plain(EVIL)),
            await http.post(
                "/api/upload/image",
                files={"image": ("evil.png", png(), "image/png")},
                data={"workspace_id": ws["id"]},
                headers={"Origin": EVIL},
            ),
            await http.post(
                "/api/ai/suggest", content=suggest, headers=text_plain(None, **{"Sec-Fetch-Site": "cross-site"})
            ),
            await http.post("/api/ai/suggest", content=suggest, headers=text_plain("null")),  # sandboxed iframe
        ]
        for r in attacks:
            assert r.status_code == 403, r.text
            assert r.json() == {
                "error": {"code": "forbidden", "message": r.json()["error"]["message"], "details": None}
            }
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json() == ws
    assert len(list(server.settings.uploads_dir.iterdir())) == 1  # the script's picture only
    assert not [path for method, path, _ in runway.requests if method == "POST"]


async def test_allowed_origin_works(start_server, runway: FakeRunway) -> None:
    """The same requests from the allowed origin, as its app sends them (application/json), go through."""
    server = await start_server(allowed_origins=APP, video_provider="runway")
    ws = await shot(server)
    headers = {"Origin": APP, "Sec-Fetch-Site": "cross-site"}
    async with server.http(headers=headers) as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "make it dramatic"})
        assert r.status_code == 200, r.text
        r = await http.post(
            "/api/upload/image", files={"image": ("b.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
        )
        assert r.status_code == 201, r.text
        image_path = r.json()["image_path"]
        r = await http.post("/api/generate/video", json={"workspace_id": ws["id"]})
        assert r.status_code == 202 and r.json()["video"]["status"] == "queued", r.text
        after = (await http.get(f"/api/workspaces/{ws['id']}")).json()
        r = await http.post("/api/generate/video/cancel", json={"workspace_id": ws["id"]})
        assert r.status_code == 200 and r.json()["video"]["status"] == "cancelled", r.text
    assert after["image_path"] == image_path != ws["image_path"]
    assert [e["role"] for e in after["ai_collaboration"]] == ["user", "assistant"]
    assert after["video"]["status"] == "queued"
    assert await ws_close_code(server, origin=APP) is None


async def test_default_origins(server: LiveServer) -> None:
    """ALLOWED_ORIGINS unset: the Vite dev server's http://localhost:5173, the loopback addresses and the server's
    own origin (the built UI) may POST and open WebSockets; https://evil.example, look-alikes and the opaque
    origin are 403 and 1008; CORS grants preflights to the same dev origins only."""
    ws = await shot(server)
    own = f"http://127.0.0.1:{server.port}"
    allowed = [own, "http://localhost:5173", "http://127.0.0.1:5173", "http://localhost"]
    refused = [EVIL, "http://localhost.evil.example:5173", "https://localhost:5173", "http://127.0.0.2:5173", "null"]
    refused.append("http://[::1]:5173")  # not in PROTOCOL.md 1's default list
    async with server.http() as http:
        for origin in allowed:
            r = await http.post(
                "/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"}, headers={"Origin": origin}
            )
            assert r.status_code == 200, (origin, r.text)
        middle = (await http.get(f"/api/workspaces/{ws['id']}")).json()
        for origin in refused:
            r = await http.post(
                "/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"}, headers={"Origin": origin}
            )
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (origin, r.text)
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json() == middle
        assert len(middle["ai_collaboration"]) == 2 * len(allowed)
        # The own origin is the Host the browser used, whatever name it is (the UI served on a LAN name):
        lan = {"Host": "studio.lan:8000"}
        for origin, status in (("http://studio.lan:8000", 200), ("http://studio.lan:8001", 403)):
            r = await http.post(
                "/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"}, headers={**lan, "Origin": origin}
            )
            assert r.status_code == status, (origin, r.text)
        assert (await http.get("/api/workspaces", headers={"Origin": EVIL})).status_code == 200  # reads: CORS's job
        grant = await http.options(
            "/api/ai/suggest", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
        )
        denied = await http.options(
            "/api/ai/suggest", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        )
    assert grant.headers.get("access-control-allow-origin") == "http://localhost:5173"
    assert "access-control-allow-origin" not in denied.headers
    for origin in (own, "http://localhost:5173"):
        assert await ws_close_code(server, origin=origin) is None, origin
    assert await ws_close_code(server, origin=EVIL) == 1008
    assert await ws_close_code(server, additional_headers={"Sec-Fetch-Site": "cross-site"}) == 1008


async def test_star_allows_any_origin(start_server) -> None:
    """ALLOWED_ORIGINS=* is the explicit opt-out: https://evil.example may POST, connect and is granted CORS."""
    server = await start_server(allowed_origins="*")
    ws = await shot(server)
    async with server.http(headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}) as http:
        r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": "hi"})
        assert r.status_code == 200, r.text
        pre = await http.options("/api/ai/suggest", headers={"Access-Control-Request-Method": "POST"})
    assert pre.headers.get("access-control-allow-origin") == "*"
    assert await ws_close_code(server, origin=EVIL) is None


async def test_json_routes_want_application_json(start_server) -> None:
    """From an allowed origin, text/plain (or no Content-Type) is 415 and stores nothing; charset is fine."""
    server = await start_server(allowed_origins=APP)
    ws = await shot(server)
    body = json.dumps({"workspace_id": ws["id"], "message": "hi"})
    async with server.http(headers={"Origin": APP}) as http:
        for path in ("/api/ai/suggest", "/api/generate/video", "/api/generate/video/cancel"):
            for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None):
                headers = {"Content-Type": content_type} if content_type else {}
                r = await http.post(path, content=body, headers=headers)
                assert r.status_code == 415 and r.json()["error"]["message"], (path, content_type, r.text)
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json() == ws
        r = await http.post(
            "/api/ai/suggest", content=body, headers={"Content-Type": "Application/JSON; charset=utf-8"}
        )
        assert r.status_code == 200, r.text


async def answer_before_the_end(server: LiveServer, head: dict[str, str], parts: list[bytes]) -> tuple[int, Any]:
    """POST the head and ``parts`` of a body over a raw socket, never finishing the body, and read the answer the
    server gives meanwhile (a server that waits for the whole body never answers: TimeoutError)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        lines = ["POST /api/ai/suggest HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
        lines += [f"{name}: {value}" for name, value in head.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        for part in parts:
            writer.write(part)
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        raw_headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(
            int(line.split(b":", 1)[1])
            for line in raw_headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return int(status_line.split()[1]), json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
    finally:
        writer.close()


async def test_body_size_cap(server: LiveServer) -> None:
    """1 MiB is accepted (padding counts); 1 MiB + 1 is 413; a 200 MiB Content-Length is refused before a byte of
    the body is sent."""
    ws = await shot(server)
    body = json.dumps({"workspace_id": ws["id"], "message": "hi"}).encode()
    async with server.http(headers={"Content-Type": "application/json"}) as http:
        at_cap = body + b" " * (MIB - len(body))
        r = await http.post("/api/ai/suggest", content=at_cap)
        assert r.status_code == 200, r.text
        r = await http.post("/api/ai/suggest", content=at_cap + b" ")
        assert r.status_code == 413 and r.json()["error"]["message"], r.text
        after = (await http.get(f"/api/workspaces/{ws['id']}")).json()
    head = {"Content-Type": "application/json", "Content-Length": str(200 * MIB)}
    status, error = await answer_before_the_end(server, head, [b'{"workspace_id": "'])
    assert status == 413 and "1048576" in error["error"]["message"], error
    assert len(after["ai_collaboration"]) == 2  # the request at the cap only


async def test_chunked_body_is_cut_off_at_the_cap(server: LiveServer) -> None:
    """A chunked body (no Content-Length) is counted as it streams in: 413 comes once 1 MiB is passed, while the
    client is still sending, so the server never holds more than the cap; nothing is stored."""
    ws = await shot(server)
    chunk = b" " * (64 * 1024)
    start = json.dumps({"workspace_id": ws["id"], "message": "hi"}).encode()
    parts = [b"%x\r\n%s\r\n" % (len(data), data) for data in [start, *[chunk] * 24]]  # 1.5 MiB, never the end
    head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, error = await answer_before_the_end(server, head, parts)
    assert status == 413, error

    sent = 0

    async def body() -> AsyncIterator[bytes]:  # the same through httpx: it finishes sending, then reads the 413
        nonlocal sent
        yield start
        for _ in range(64):
            sent += len(chunk)
            yield chunk

    async with server.http() as http:
        r = await http.post("/api/ai/suggest", content=body(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.request.headers["transfer-encoding"] == "chunked", r.text
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json() == ws
    assert sent == 4 * MIB


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "invalid_message"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "invalid_message"),
        (b'{"workspace_id": ' + b"[" * 33 + b"]" * 33 + b"}", "invalid_message"),
        (b'{"workspace_id": "x", "message": "', "invalid_json"),
        (b"{'workspace_id': 1}", "invalid_json"),
        (b'{"message": "' + b"[" * 500 + b'"}', "not_found"),  # brackets inside a string nest nothing
    ],
    ids=["100k-deep-array", "100k-deep-object", "33-deep", "truncated", "not-json", "brackets-in-a-string"],
)
async def test_deep_and_broken_json(server: LiveServer, body: bytes, code: str) -> None:
    """Nesting deeper than 32 is 400 invalid_message (it was a 500 RecursionError); broken JSON is invalid_json."""
    if code == "not_found":
        body = body[:-1] + b', "workspace_id": "' + b"0" * 24 + b'"}'
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", content=body, headers={"Content-Type": "application/json"})
    assert r.json()["error"]["code"] == code, r.text
    assert r.status_code == (404 if code == "not_found" else 400)


def _codec_refuses_duplicates() -> bool:
    try:
        loads('{"a": 1, "a": 2}')
    except ValueError:
        return True
    return False


@pytest.mark.skipif(not _codec_refuses_duplicates(), reason="protocol.loads does not refuse duplicate keys yet")
async def test_duplicate_keys_are_invalid_json(server: LiveServer) -> None:
    """{"workspace_id": A, "workspace_id": B}: which one would count is parser-dependent, so it is refused."""
    ws = await shot(server)
    body = f'{{"workspace_id": "{"0" * 24}", "workspace_id": "{ws["id"]}", "message": "hi"}}'
    async with server.http() as http:
        r = await http.post("/api/ai/suggest", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json", r.text
        assert (await http.get(f"/api/workspaces/{ws['id']}")).json() == ws


async def test_served_files_carry_nosniff_and_csp(server: LiveServer) -> None:
    """/uploads/<png>, /media/<file> (and their 404s) say nosniff and a CSP that allows no script."""
    ws = await shot(server)
    (server.settings.media_dir / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    async with server.http() as http:
        responses = {
            "upload": await http.get(ws["image_url"]),
            "media": await http.get("/media/clip.mp4"),
            "range": await http.get("/media/clip.mp4", headers={"Range": "bytes=0-3"}),
            "missing": await http.get("/uploads/nothing.png"),
        }
    assert [r.status_code for r in responses.values()] == [200, 200, 206, 404]
    assert responses["upload"].headers["content-type"] == "image/png"
    for name, r in responses.items():
        assert r.headers.get("x-content-type-options") == "nosniff", name
        csp = [part.strip() for part in r.headers.get("content-security-policy", "").split(";")]
        assert "default-src 'none'" in csp and "sandbox" in csp, (name, csp)
        assert not [p for p in csp if p.startswith("script-src")], csp
