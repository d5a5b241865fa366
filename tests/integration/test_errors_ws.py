"""Bad input over a real WebSocket: every error code of PROTOCOL.md 3.3, nothing changed, connection usable."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import LiveServer, WsClient

BAD_FRAMES = [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_json"),
    ('"text"', "invalid_json"),
    ('{"type": "ping", "x": NaN}', "invalid_json"),
    ("[" * 5000 + "]" * 5000, "invalid_json"),
    ('{"type": "workspace.update", "title": "\\ud800"}', "invalid_json"),
    ("{}", "unknown_type"),
    ('{"type": 5}', "unknown_type"),
    ('{"type": "workspace.destroy"}', "unknown_type"),
    ('{"type": "ping", "extra": true}', "invalid_message"),
]


async def _state(c: WsClient) -> list[dict]:
    return (await c.request({"type": "workspace.list"}))["workspaces"]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_bad_frames_get_their_code(server: LiveServer, frame: str, code: str) -> None:
    """Garbage, non-objects, NaN, deep nesting, lone surrogates, unknown types: the right error, still usable."""
    c = await server.connect("bad")
    await c.send(frame)
    reply = await c.expect_type("error")
    assert reply["code"] == code, reply
    assert (await c.request({"type": "ping"}))["type"] == "pong"


async def test_binary_frame_is_invalid_json(server: LiveServer) -> None:
    """A binary frame (even one holding valid JSON or invalid UTF-8) is refused with invalid_json."""
    c = await server.connect()
    for payload in (b'{"type": "ping"}', b"\xff\xfe\xfd"):
        await c.send(payload)
        assert (await c.expect_type("error"))["code"] == "invalid_json"
    assert (await c.request({"type": "ping"}))["type"] == "pong"


BAD_UPDATES = [
    ({"form_data": {"duration_s": 50}}, "invalid_message", ["updates", "form_data", "duration_s"]),
    ({"form_data": {"$set": {"version": 1}}}, "invalid_message", None),
    ({"form_data": {"a.b": 1}}, "invalid_message", None),
    ({"form_data": {"__proto__": {"x": 1}}}, "invalid_message", None),
    ({"form_data": {"x": {"a": {"b": {"c": {"d": 1}}}}}}, "invalid_message", None),
    ({"image_path": "uploads/../../etc/passwd"}, "invalid_message", ["updates", "image_path"]),
    ({"image_path": "uploads/never-uploaded.png"}, "invalid_message", None),
    ({"image_url": "javascript:alert(1)"}, "invalid_message", ["updates", "image_url"]),
    ({"image_url": "/uploads/../secret"}, "invalid_message", None),
    ({"title": "x" * 201}, "invalid_message", ["updates", "title"]),
    ({"title": None}, "invalid_message", None),
    ({}, "invalid_message", None),
    ({"colour": "red"}, "invalid_message", ["updates", "colour"]),
    ({"video": {"status": "completed"}}, "forbidden_field", ["updates", "video"]),
    ({"version": 99}, "forbidden_field", None),
    ({"order_index": 0}, "forbidden_field", None),
    ({"id": "x"}, "forbidden_field", None),
    ({"ai_collaboration": []}, "forbidden_field", None),
]


@pytest.mark.parametrize(("updates", "code", "loc"), BAD_UPDATES)
async def test_bad_updates_change_nothing(server: LiveServer, updates: dict, code: str, loc: list | None) -> None:
    """Each refused update gets its code, a readable message, details, and leaves the workspace as it was."""
    c = await server.connect("badupd")
    ws = await c.create(title="keep", form_data={"prompt": "p"})
    before = await _state(c)
    reply = await c.request({"type": "workspace.update", "id": "m2", "workspace_id": ws["id"], "updates": updates})
    assert reply["type"] == "error" and reply["code"] == code and reply["reply_to"] == "m2", reply
    assert reply["message"]
    if loc is not None:
        assert reply["details"][0]["loc"] == loc and reply["message"].startswith(".".join(loc) + ":")
    assert await _state(c) == before


async def test_protocol_example_message(server: LiveServer) -> None:
    """The error of PROTOCOL.md 3.3's example reads exactly as documented."""
    c = await server.connect()
    ws = await c.create()
    reply = await c.request(
        {"type": "workspace.update", "id": "m2", "workspace_id": ws["id"], "updates": {"form_data": {"duration_s": 99}}}
    )
    assert reply["message"] == "updates.form_data.duration_s: must be between 1 and 30"
    assert reply["details"][0]["loc"] == ["updates", "form_data", "duration_s"]


async def test_form_limits_apply_after_merge(server: LiveServer) -> None:
    """64 keys is the limit of the stored form: a patch that would exceed it is refused, one that fits passes."""
    c = await server.connect("limits")
    ws = await c.create(form_data={f"k{i}": i for i in range(60)})
    too_many = await c.request(
        {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"form_data": {f"n{i}": i for i in range(5)}}}
    )
    assert too_many["code"] == "invalid_message", too_many
    fits = await c.request(
        {
            "type": "workspace.update",
            "workspace_id": ws["id"],
            "updates": {"form_data": {"k0": None, "n0": 1, "n1": 1, "n2": 1, "n3": 1, "n4": 1}},
        }
    )
    assert fits["type"] == "workspace.sync_confirm", fits
    big = await c.request(
        {
            "type": "workspace.update",
            "workspace_id": ws["id"],
            "updates": {"form_data": {f"k{i}": "x" * 4000 for i in range(1, 20)}},
        }
    )
    assert big["code"] == "invalid_message" and "bytes" in big["message"]
    stored = (await _state(c))[0]["form_data"]
    assert len(stored) == 64 and "k0" not in stored and stored["k1"] == 1


async def test_bad_create_creates_nothing(server: LiveServer) -> None:
    """A refused create makes no workspace."""
    c = await server.connect("badcreate")
    for msg, code in [
        ({"type": "workspace.create", "workspace": {"version": 3}}, "forbidden_field"),
        ({"type": "workspace.create", "position": -1}, "invalid_message"),
        ({"type": "workspace.create", "position": True}, "invalid_message"),
        ({"type": "workspace.create", "workspace": {"form_data": {"aspect_ratio": "2:1"}}}, "invalid_message"),
        ({"type": "workspace.create", "id": "x" * 65}, "invalid_message"),
    ]:
        assert (await c.request(msg) if "id" not in msg else await _send_raw(c, msg))["code"] == code
    assert await _state(c) == []


async def _send_raw(c: WsClient, msg: dict) -> dict:
    await c.send(msg)
    return await c.expect_type("error")


async def test_bad_ids_and_missing_fields(server: LiveServer) -> None:
    """Malformed ids and missing required fields are invalid_message with reply_to."""
    c = await server.connect()
    for msg in [
        {"type": "workspace.update", "workspace_id": "nope", "updates": {"title": "x"}},
        {"type": "workspace.update", "workspace_id": "a" * 24},
        {"type": "workspace.delete"},
        {"type": "workspace.reorder", "order": "abc"},
        {"type": "ai.suggest", "workspace_id": "a" * 24, "message": ""},
    ]:
        reply = await c.request(msg)
        assert reply["type"] == "error" and reply["code"] == "invalid_message", reply


async def test_rate_limit_drops_messages(start_server) -> None:
    """Past WS_BURST at WS_RATE the server answers rate_limited with reply_to and drops the message."""
    server = await start_server(ws_rate=1, ws_burst=5)
    c = await server.connect("rate")
    for i in range(12):
        await c.send({"type": "ping", "id": f"p{i}"})
    replies = [await c.expect(lambda m, i=i: m.get("reply_to") == f"p{i}") for i in range(12)]
    kinds = [r["type"] for r in replies]
    assert kinds[:5] == ["pong"] * 5 and kinds.count("error") >= 6
    assert all(r["code"] == "rate_limited" for r in replies if r["type"] == "error")


async def test_oversized_frame_closes_1009(start_server) -> None:
    """A frame over MAX_MESSAGE_BYTES closes the connection with 1009; the server keeps serving."""
    server = await start_server(max_message_bytes=1024)
    c = await server.connect()
    await c.send(json.dumps({"type": "ping", "pad": "x" * 4000}))
    with pytest.raises(ConnectionClosed) as info:
        await c.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    again = await server.connect()
    assert (await again.request({"type": "ping"}))["type"] == "pong"


async def test_max_connections_closes_1013(start_server) -> None:
    """Beyond MAX_CONNECTIONS a new WebSocket is accepted then closed with 1013."""
    server = await start_server(max_connections=2)
    await server.connect()
    await server.connect()
    async with connect(server.ws_url()) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1013


async def test_invalid_project_is_refused(server: LiveServer) -> None:
    """A project name outside [A-Za-z0-9_-]{1,64} is refused (closed with 1008)."""
    async with connect(server.ws_url("bad%20name")) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
