"""The codec and the field rules of PROTOCOL.md 2 and 3.3, without a server."""

from __future__ import annotations

import json

import pytest

from protocol import Pong, ProtocolError, encode, parse_client_message

WID = "6b04721f56c295fbbd8e27de"


def code_of(frame: str | bytes) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(frame)
    return info.value.code


def update(updates: dict) -> str:
    return json.dumps({"type": "workspace.update", "id": "m", "workspace_id": WID, "updates": updates})


@pytest.mark.parametrize(
    "frame",
    [
        "nope",
        "[]",
        "1",
        '"s"',
        '{"a": NaN}',
        '{"a": Infinity}',
        "[" * 300 + "]" * 300,
        '{"type": "ping", "x": "\\ud800"}',
        b'{"type": "ping"}',
    ],
)
def test_invalid_json(frame) -> None:
    """Not a JSON object, NaN/Infinity, deep nesting, lone surrogates and binary frames are invalid_json."""
    assert code_of(frame) == "invalid_json"


@pytest.mark.parametrize("frame", ["{}", '{"type": 1}', '{"type": "workspace.destroy"}', '{"type": null}'])
def test_unknown_type(frame) -> None:
    """A missing, non-string or unknown type is unknown_type."""
    assert code_of(frame) == "unknown_type"


@pytest.mark.parametrize(
    "updates",
    [
        {"form_data": {"duration_s": 0}},
        {"form_data": {"duration_s": 31}},
        {"form_data": {"duration_s": "5"}},
        {"form_data": {"duration_s": True}},
        {"form_data": {"aspect_ratio": "2:1"}},
        {"form_data": {"seed": -1}},
        {"form_data": {"seed": 1.5}},
        {"form_data": {"camera_movement": "x" * 101}},
        {"form_data": {"prompt": "x" * 4001}},
        {"form_data": {"$set": 1}},
        {"form_data": {"a.b": 1}},
        {"form_data": {"__proto__": 1}},
        {"form_data": {"_x": 1}},
        {"form_data": {"1a": 1}},
        {"form_data": {"k" * 65: 1}},
        {"form_data": {"x": {"a": {"b": {"c": 1}}}}},
        {"form_data": {"x": list(range(101))}},
        {"form_data": {"x": [{"a": 1}]}},
        {"form_data": {"x": "s" * 4001}},
        {"form_data": {f"k{i}": 1 for i in range(65)}},
        {"title": "t" * 201},
        {"title": 5},
        {"image_path": "uploads/../x"},
        {"image_path": "../uploads/a.png"},
        {"image_path": "/etc/passwd"},
        {"image_path": "uploads/a/b.png"},
        {"image_path": "uploads/"},
        {"image_path": "uploads\\\\a.png"},
        {"image_url": "javascript:alert(1)"},
        {"image_url": "data:image/png;base64,xx"},
        {"image_url": "//evil.example/x"},
        {"image_url": "/uploads/../x"},
        {"image_url": "ftp://x"},
        {"image_url": "/etc/passwd"},
        {"image_url": "http://"},
        {},
        {"unknown": 1},
    ],
)
def test_invalid_updates(updates) -> None:
    """Out-of-range, wrongly typed, badly named or unsafe values are invalid_message."""
    assert code_of(update(updates)) == "invalid_message"


@pytest.mark.parametrize(
    "updates",
    [
        {"form_data": {"duration_s": 1}},
        {"form_data": {"duration_s": 30}},
        {"form_data": {"seed": 0}},
        {"form_data": {"x": {"a": {"b": 1}}}},
        {"form_data": {"x": list(range(100))}},
        {"form_data": {"x": "s" * 4000}},
        {"form_data": {"prompt": None}},
        {"image_path": "uploads/abc.png"},
        {"image_url": "/uploads/a.png"},
        {"image_url": "https://cdn.example/x.png"},
        {"image_path": None},
        {"title": ""},
    ],
)
def test_valid_updates(updates) -> None:
    """Values at the limits, nested objects to depth 3, removals with null and allowed images are accepted."""
    assert parse_client_message(update(updates)).type == "workspace.update"


@pytest.mark.parametrize(
    "field", ["id", "video", "order_index", "version", "project", "ai_collaboration", "created_at", "updated_at"]
)
def test_server_owned_fields_are_forbidden(field) -> None:
    """Each server-owned field is forbidden_field, in an update and in a create."""
    assert code_of(update({field: 1})) == "forbidden_field"
    assert code_of(json.dumps({"type": "workspace.create", "workspace": {field: 1}})) == "forbidden_field"


def test_documented_example_and_reply_to() -> None:
    """PROTOCOL.md 3.3's example message and loc; reply_to is recovered from id even when validation fails."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(update({"form_data": {"duration_s": 99}}))
    assert info.value.message == "updates.form_data.duration_s: must be between 1 and 30"
    assert info.value.details[0]["loc"] == ["updates", "form_data", "duration_s"] and info.value.reply_to == "m"


@pytest.mark.parametrize(
    "msg",
    [
        {"type": "ping", "extra": 1},
        {"type": "workspace.update", "workspace_id": "xyz", "updates": {"title": "a"}},
        {"type": "workspace.delete"},
        {"type": "workspace.create", "position": -1},
        {"type": "workspace.create", "position": True},
        {"type": "ai.suggest", "workspace_id": WID, "message": ""},
        {"type": "ai.suggest", "workspace_id": WID, "message": "x" * 4001},
        {"type": "ping", "id": "x" * 65},
        {"type": "ping", "id": ""},
        {"type": "workspace.reorder", "order": [1]},
        {"type": "video.generate", "workspace_id": WID, "provider": ""},
    ],
)
def test_invalid_messages(msg) -> None:
    """Missing fields, extras, wrong types and out-of-range ids/positions/messages are invalid_message."""
    assert code_of(json.dumps(msg)) == "invalid_message"


def test_encode_omits_reply_to_only_when_unset() -> None:
    """encode() leaves reply_to out when it is None and keeps it otherwise."""
    assert "reply_to" not in json.loads(encode(Pong(server_time="t")))
    assert json.loads(encode(Pong(server_time="t", reply_to="p")))["reply_to"] == "p"
