"""The codec and the field rules of PROTOCOL.md 2, 3.1 and 3.3, without a server: every error path of
``parse_client_message`` and the exact shape of what it reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import (
    AiSuggest,
    AuthRefresh,
    Error,
    JobCancel,
    JobList,
    JobStart,
    Ping,
    Pong,
    ProtocolError,
    VideoCancel,
    VideoGenerate,
    WorkspaceCreate,
    WorkspaceDelete,
    WorkspaceList,
    WorkspaceReorder,
    WorkspaceUpdate,
    codes,
    encode,
    parse_client_message,
)
from protocol.inbound import CLIENT_MESSAGE_TYPES, PresenceUpdate, WorkspaceHistory, WorkspaceRestore
from protocol.outbound import WorkspaceDeleted, WorkspaceReordered
from protocol.schema import protocol_schema

WID = "6b04721f56c295fbbd8e27de"
WID2 = "6b0472205bc1a95fbbd8e27e"

# One minimal valid message per type of the PROTOCOL.md 3.1 table, and the model it parses into.
MINIMAL: dict[str, tuple[dict[str, Any], type]] = {
    "ping": ({"type": "ping"}, Ping),
    "auth.refresh": ({"type": "auth.refresh", "token": "t"}, AuthRefresh),
    "workspace.list": ({"type": "workspace.list"}, WorkspaceList),
    "workspace.create": ({"type": "workspace.create"}, WorkspaceCreate),
    "workspace.update": ({"type": "workspace.update", "workspace_id": WID, "updates": {"title": "t"}}, WorkspaceUpdate),
    "workspace.delete": ({"type": "workspace.delete", "workspace_id": WID}, WorkspaceDelete),
    "workspace.reorder": ({"type": "workspace.reorder", "order": [WID, WID2]}, WorkspaceReorder),
    "video.generate": ({"type": "video.generate", "workspace_id": WID}, VideoGenerate),
    "video.cancel": ({"type": "video.cancel", "workspace_id": WID}, VideoCancel),
    "ai.suggest": ({"type": "ai.suggest", "workspace_id": WID, "message": "hi"}, AiSuggest),
    "job.start": ({"type": "job.start", "kind": "storyboard"}, JobStart),  # PROTOCOL.md 8.2
    "job.cancel": ({"type": "job.cancel", "job_id": WID}, JobCancel),
    "job.list": ({"type": "job.list"}, JobList),
    "presence.update": ({"type": "presence.update", "state": {}}, PresenceUpdate),  # PROTOCOL.md 10
    "workspace.history": ({"type": "workspace.history", "workspace_id": WID}, WorkspaceHistory),
    "workspace.restore": ({"type": "workspace.restore", "workspace_id": WID, "version": 1}, WorkspaceRestore),
}
WITH_WORKSPACE_ID = [t for t, (msg, _) in MINIMAL.items() if "workspace_id" in msg]
SERVER_OWNED = ["id", "project", "order_index", "video", "ai_collaboration", "version", "created_at", "updated_at"]


def error_of(frame: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(frame)
    return info.value


def frame(message: dict[str, Any]) -> str:
    return json.dumps(message)


def update(updates: Any, **extra: Any) -> str:
    return frame({"type": "workspace.update", "id": "m", "workspace_id": WID, "updates": updates, **extra})


def form(form_data: dict[str, Any]) -> str:
    return update({"form_data": form_data})


# ---- valid messages -----------------------------------------------------------------------------------------


def test_minimal_messages_cover_exactly_the_types_of_the_protocol() -> None:
    """The client message types the codec knows are exactly the nine of PROTOCOL.md 3.1."""
    assert set(CLIENT_MESSAGE_TYPES) == set(MINIMAL)


@pytest.mark.parametrize("kind", list(MINIMAL))
def test_minimal_message_of_each_type_parses_into_its_model(kind: str) -> None:
    """A minimal valid message of each type becomes its own model, with the client's id kept."""
    message, model = MINIMAL[kind]
    parsed = parse_client_message(frame({**message, "id": "abc"}))
    assert type(parsed) is model and parsed.type == kind and parsed.id == "abc"


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"workspace.create","id":"m1","workspace":{"title":"Opening","form_data":{"prompt":"a red kite"}}}',
        '{"type":"workspace.update","id":"m2","workspace_id":"6b04721f56c295fbbd8e27de",'
        '"updates":{"form_data":{"camera_movement":"pan_left"}}}',
        '{"type":"workspace.reorder","id":"m3","order":["6b04721f56c295fbbd8e27de","6b0472205bc1a95fbbd8e27e"]}',
        '{"type":"workspace.delete","id":"m4","workspace_id":"6b04721f56c295fbbd8e27de"}',
    ],
)
def test_protocol_examples_parse(line: str) -> None:
    """The websocat examples of PROTOCOL.md 3.1 are accepted as written."""
    assert parse_client_message(line).id in {"m1", "m2", "m3", "m4"}


def test_a_valid_surrogate_pair_escape_is_accepted() -> None:
    """A properly paired \\ud83d\\ude00 escape is valid JSON (only lone surrogates are refused)."""
    assert parse_client_message('{"type": "ping", "id": "\\ud83d\\ude00"}').id == "\U0001f600"


# ---- invalid_json -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("nope", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param('{"type": "ping"', id="truncated"),
        pytest.param("[]", id="array"),
        pytest.param('[{"type": "ping"}]', id="array-of-message"),
        pytest.param("1", id="number"),
        pytest.param('"ping"', id="string"),
        pytest.param("null", id="null"),
        pytest.param("true", id="bool"),
        pytest.param('{"type": "ping", "x": NaN}', id="nan"),
        pytest.param('{"type": "ping", "x": Infinity}', id="infinity"),
        pytest.param('{"type": "ping", "x": -Infinity}', id="minus-infinity"),
        pytest.param("[" * 300 + "]" * 300, id="300-deep-array"),
        pytest.param('{"a":' * 300 + "1" + "}" * 300, id="300-deep-object"),
        pytest.param('{"type": "ping", "id": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param('{"type": "ping", "id": "\\udc00x"}', id="lone-low-surrogate-escape"),
        pytest.param('{"type": "ping", "id": "\ud800"}', id="lone-surrogate-in-str"),
    ],
)
def test_invalid_json(raw: str) -> None:
    """Garbage, non-object JSON, NaN, deep nesting and lone surrogates are invalid_json without reply_to."""
    error = error_of(raw)
    assert error.code == codes.INVALID_JSON == "invalid_json" and error.reply_to is None


@pytest.mark.parametrize("raw", [b'{"type": "ping", "id": "m"}', b"\xff\xfe", b""])
def test_binary_frame_is_invalid_json(raw: bytes) -> None:
    """A binary frame is refused with invalid_json even when it holds a valid message."""
    error = error_of(raw)
    assert error.code == "invalid_json" and error.reply_to is None and "binary" in error.message


# ---- unknown_type -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"id": "u1"}, "type is missing"),
        ({"id": "u1", "type": None}, "type is missing"),
        ({"id": "u1", "type": 1}, "type must be a string"),
        ({"id": "u1", "type": ["ping"]}, "type must be a string"),
        ({"id": "u1", "type": "workspace.destroy"}, "unknown message type 'workspace.destroy'"),
        ({"id": "u1", "type": "PING"}, "unknown message type 'PING'"),
        ({"id": "u1", "type": ""}, "unknown message type ''"),
        ({"id": "u1", "type": "pong"}, "unknown message type 'pong'"),
    ],
)
def test_unknown_type(message: dict[str, Any], text: str) -> None:
    """A missing, non-string or unlisted type is unknown_type, and the reply still carries the id."""
    error = error_of(frame(message))
    assert (error.code, error.message, error.reply_to) == ("unknown_type", text, "u1")


# ---- invalid_message: message level ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MINIMAL))
def test_extra_field_on_every_message_type_is_invalid(kind: str) -> None:
    """Inbound models are strict: an unknown top-level field is invalid_message on every message type."""
    message, _ = MINIMAL[kind]
    error = error_of(frame({**message, "id": "x1", "colour": "red"}))
    assert (error.code, error.reply_to) == ("invalid_message", "x1")
    assert error.details[0]["loc"] == ["colour"] and error.message.startswith("colour: ")


@pytest.mark.parametrize("kind", WITH_WORKSPACE_ID)
def test_missing_workspace_id_is_invalid(kind: str) -> None:
    """Each message that names a workspace refuses to go without workspace_id."""
    message, _ = MINIMAL[kind]
    error = error_of(frame({k: v for k, v in message.items() if k != "workspace_id"}))
    assert error.code == "invalid_message" and error.details[0]["loc"] == ["workspace_id"]


@pytest.mark.parametrize(
    "bad_id",
    ["xyz", WID.upper(), WID[:-1], WID + "0", WID[:-1] + "g", WID + "\n", " " + WID, 12345, None, [WID]],
)
@pytest.mark.parametrize("kind", WITH_WORKSPACE_ID)
def test_bad_workspace_id_is_invalid(kind: str, bad_id: Any) -> None:
    """workspace_id must be exactly 24 lowercase hex characters (a trailing newline included)."""
    message, _ = MINIMAL[kind]
    error = error_of(frame({**message, "workspace_id": bad_id}))
    assert error.code == "invalid_message" and error.details[0]["loc"][0] == "workspace_id"


@pytest.mark.parametrize("order", [[WID, "nope"], "6b04721f56c295fbbd8e27de", [1], None, [WID + "\n"]])
def test_bad_reorder_order_is_invalid(order: Any) -> None:
    """order must be a list of workspace ids."""
    error = error_of(frame({"type": "workspace.reorder", "order": order}))
    assert error.code == "invalid_message" and error.details[0]["loc"][0] == "order"


@pytest.mark.parametrize(
    ("message", "loc"),
    [
        ({"type": "workspace.create", "position": True}, ["position"]),
        ({"type": "workspace.create", "position": False}, ["position"]),
        ({"type": "workspace.create", "position": "1"}, ["position"]),
        ({"type": "workspace.create", "position": 1.5}, ["position"]),
        ({"type": "workspace.create", "position": -1}, ["position"]),
        ({"type": "workspace.create", "workspace": []}, ["workspace"]),
        ({"type": "workspace.create", "workspace": "x"}, ["workspace"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": "x"}, ["updates"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": None}, ["updates"]),
        ({"type": "workspace.update", "workspace_id": WID}, ["updates"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {"title": 5}}, ["updates", "title"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {"title": None}}, ["updates", "title"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {"form_data": None}}, ["updates", "form_data"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {"form_data": []}}, ["updates", "form_data"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {"colour": "red"}}, ["updates", "colour"]),
        ({"type": "workspace.update", "workspace_id": WID, "updates": {}}, ["updates"]),
        ({"type": "ai.suggest", "workspace_id": WID}, ["message"]),
        ({"type": "ai.suggest", "workspace_id": WID, "message": ""}, ["message"]),
        ({"type": "ai.suggest", "workspace_id": WID, "message": "x" * 4001}, ["message"]),
        ({"type": "ai.suggest", "workspace_id": WID, "message": 5}, ["message"]),
        ({"type": "video.generate", "workspace_id": WID, "provider": ""}, ["provider"]),
        ({"type": "video.generate", "workspace_id": WID, "provider": 3}, ["provider"]),
        ({"type": "ping", "id": "x" * 65}, ["id"]),
        ({"type": "ping", "id": ""}, ["id"]),
        ({"type": "ping", "id": 7}, ["id"]),
    ],
)
def test_wrong_types_and_ranges_are_invalid(message: dict[str, Any], loc: list[Any]) -> None:
    """Wrong types (bool for position too) and out-of-range values are invalid_message located at the field."""
    error = error_of(frame(message))
    assert error.code == "invalid_message" and error.details[0]["loc"] == loc
    assert error.message.startswith(".".join(loc) + ": ")


def test_limits_themselves_are_accepted() -> None:
    """The upper limits are inclusive: a 64-character id, a 4000-character AI message, a 200-character title."""
    assert parse_client_message(frame({"type": "ping", "id": "i" * 64})).id == "i" * 64
    ai = parse_client_message(frame({"type": "ai.suggest", "workspace_id": WID, "message": "x" * 4000}))
    assert isinstance(ai, AiSuggest) and len(ai.message) == 4000
    upd = parse_client_message(update({"title": "t" * 200}))
    assert isinstance(upd, WorkspaceUpdate) and upd.updates.title == "t" * 200
    create = parse_client_message(frame({"type": "workspace.create", "position": 0}))
    assert isinstance(create, WorkspaceCreate) and create.position == 0


# ---- invalid_message: the workspace fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("updates", "loc"),
    [
        ({"title": "t" * 201}, ["updates", "title"]),
        ({"form_data": {"duration_s": 0}}, ["updates", "form_data", "duration_s"]),
        ({"form_data": {"duration_s": 31}}, ["updates", "form_data", "duration_s"]),
        ({"form_data": {"duration_s": 0.5}}, ["updates", "form_data", "duration_s"]),
        ({"form_data": {"duration_s": "5"}}, ["updates", "form_data", "duration_s"]),
        ({"form_data": {"duration_s": True}}, ["updates", "form_data", "duration_s"]),
        ({"form_data": {"aspect_ratio": "2:1"}}, ["updates", "form_data", "aspect_ratio"]),
        ({"form_data": {"aspect_ratio": "16:10"}}, ["updates", "form_data", "aspect_ratio"]),
        ({"form_data": {"aspect_ratio": 1.77}}, ["updates", "form_data", "aspect_ratio"]),
        ({"form_data": {"seed": -1}}, ["updates", "form_data", "seed"]),
        ({"form_data": {"seed": 1.5}}, ["updates", "form_data", "seed"]),
        ({"form_data": {"seed": True}}, ["updates", "form_data", "seed"]),
        ({"form_data": {"seed": "1"}}, ["updates", "form_data", "seed"]),
        ({"form_data": {"camera_movement": "x" * 101}}, ["updates", "form_data", "camera_movement"]),
        ({"form_data": {"shot_size": "x" * 101}}, ["updates", "form_data", "shot_size"]),
        ({"form_data": {"lighting": "x" * 101}}, ["updates", "form_data", "lighting"]),
        ({"form_data": {"model": "x" * 101}}, ["updates", "form_data", "model"]),
        ({"form_data": {"camera_movement": 3}}, ["updates", "form_data", "camera_movement"]),
        ({"form_data": {"prompt": "x" * 4001}}, ["updates", "form_data", "prompt"]),
        ({"form_data": {"negative_prompt": "x" * 4001}}, ["updates", "form_data", "negative_prompt"]),
        ({"form_data": {"prompt": ["a"]}}, ["updates", "form_data", "prompt"]),
    ],
)
def test_known_form_keys_out_of_range_are_invalid(updates: dict[str, Any], loc: list[str]) -> None:
    """The known form keys of PROTOCOL.md 2 keep their types and ranges; loc names the key."""
    error = error_of(update(updates))
    assert (error.code, error.reply_to) == ("invalid_message", "m") and error.details[0]["loc"] == loc


@pytest.mark.parametrize(
    "form_data",
    [
        {"duration_s": 1},
        {"duration_s": 30},
        {"duration_s": 7.5},
        {"seed": 0},
        {"seed": 2**40},
        {"aspect_ratio": "16:9"},
        {"aspect_ratio": "9:16"},
        {"aspect_ratio": "1:1"},
        {"aspect_ratio": "4:3"},
        {"aspect_ratio": "3:4"},
        {"aspect_ratio": "21:9"},
        {"camera_movement": "x" * 100, "shot_size": "s", "lighting": "l", "model": "m" * 100},
        {"prompt": "x" * 4000, "negative_prompt": "y" * 4000},
    ],
)
def test_known_form_keys_at_their_limits_are_accepted(form_data: dict[str, Any]) -> None:
    """Each known key accepts its whole documented range, ends included."""
    parsed = parse_client_message(form(form_data))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.form_data == form_data


def test_protocol_error_example_word_for_word() -> None:
    """PROTOCOL.md 3.3's example: the message text, reply_to and details loc are exactly as documented."""
    error = error_of(
        '{"type":"workspace.update","id":"m2","workspace_id":"6b04721f56c295fbbd8e27de",'
        '"updates":{"form_data":{"duration_s":99}}}'
    )
    assert error.code == "invalid_message"
    assert error.message == "updates.form_data.duration_s: must be between 1 and 30"
    assert error.reply_to == "m2"
    assert error.details[0]["loc"] == ["updates", "form_data", "duration_s"]
    assert isinstance(error.details[0]["msg"], str) and error.details[0]["msg"]


@pytest.mark.parametrize(
    "raw",
    [
        frame({"type": "workspace.update", "id": "r1", "workspace_id": "bad", "updates": {"title": "x"}}),
        frame({"type": "ai.suggest", "id": "r1", "workspace_id": WID, "message": ""}),
        frame({"type": "workspace.create", "id": "r1", "position": -1}),
        frame({"type": "ping", "id": "r1", "extra": 1}),
        frame({"type": "workspace.update", "id": "r1", "workspace_id": WID, "updates": {"version": 2}}),
        frame({"type": "nope", "id": "r1"}),
    ],
)
def test_reply_to_is_recovered_when_validation_fails(raw: str) -> None:
    """Whatever is wrong with a message, a usable id comes back as reply_to."""
    assert error_of(raw).reply_to == "r1"


@pytest.mark.parametrize("bad_id", ["", "x" * 65, 7, None, {"a": 1}])
def test_no_reply_to_when_the_id_itself_is_unusable(bad_id: Any) -> None:
    """An id that is not a 1-64 character string is not echoed back as reply_to."""
    assert error_of(frame({"type": "workspace.delete", "id": bad_id})).reply_to is None


# ---- forbidden_field ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_field_in_update_is_forbidden(field: str) -> None:
    """Naming any server-owned field of PROTOCOL.md 2 in updates is forbidden_field, located at that field."""
    error = error_of(update({field: 1, "title": "ok"}))
    assert (error.code, error.reply_to) == ("forbidden_field", "m")
    assert error.details[0]["loc"] == ["updates", field] and error.message.startswith(f"updates.{field}: ")


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_field_in_create_is_forbidden(field: str) -> None:
    """workspace.create's workspace object may not set server-owned fields either."""
    error = error_of(frame({"type": "workspace.create", "id": "c", "workspace": {"title": "t", field: None}}))
    assert (error.code, error.reply_to) == ("forbidden_field", "c") and error.details[0]["loc"] == ["workspace", field]


def test_forbidden_field_wins_over_other_errors() -> None:
    """A patch with a server-owned field and a bad value reports forbidden_field."""
    assert error_of(update({"version": 5, "title": 7})).code == "forbidden_field"


def test_client_writable_fields_in_create_are_accepted() -> None:
    """workspace.create takes every client-writable field; null form values are simply left out later."""
    parsed = parse_client_message(
        frame(
            {
                "type": "workspace.create",
                "workspace": {
                    "title": "Opening",
                    "image_path": "uploads/a.png",
                    "image_url": "/uploads/a.png",
                    "form_data": {"prompt": "kite", "gone": None},
                },
                "position": 3,
            }
        )
    )
    assert isinstance(parsed, WorkspaceCreate) and parsed.position == 3 and parsed.workspace is not None
    assert parsed.workspace.title == "Opening" and parsed.workspace.form_data == {"prompt": "kite", "gone": None}


# ---- form_data free keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["$set", "a.b", "__proto__", "_x", "1a", "k" * 65, "", "a-b", "a b", "é", "a\n"])
def test_badly_named_free_keys_are_refused(key: str) -> None:
    """Free form keys must match ^[A-Za-z][A-Za-z0-9_]{0,63}$ (no operators, dots, prototypes or newlines)."""
    error = error_of(form({key: 1}))
    assert error.code == "invalid_message" and error.details[0]["loc"][:2] == ["updates", "form_data"]


@pytest.mark.parametrize("key", ["$set", "a.b", "__proto__", "1a"])
def test_badly_named_nested_keys_are_refused(key: str) -> None:
    """The key rule also holds inside nested objects."""
    assert error_of(form({"x": {key: 1}})).code == "invalid_message"


@pytest.mark.parametrize("key", ["a", "A", "k" * 64, "x_1", "Camera2"])
def test_well_named_free_keys_are_accepted(key: str) -> None:
    """Keys of 1 to 64 characters of the documented alphabet are accepted."""
    parsed = parse_client_message(form({key: "v"}))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.form_data == {key: "v"}


@pytest.mark.parametrize(
    "value",
    [
        "s",
        "s" * 4000,
        0,
        -3.5,
        True,
        None,
        [],
        ["a", 1, 2.5, False, None],
        list(range(100)),
        {"a": 1},
        {"a": {"b": 1}},
        {"a": {"b": [1, 2]}, "c": "s" * 4000},
        {"a": {"b": {"c": 1}}},
    ],
)
def test_free_values_within_the_rules_are_accepted(value: Any) -> None:
    """Scalars, strings up to 4000, lists of up to 100 scalars and objects down to depth 3 are accepted."""
    parsed = parse_client_message(form({"x": value}))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.form_data == {"x": value}


@pytest.mark.parametrize(
    ("value", "loc"),
    [
        ("s" * 4001, ["x"]),
        (list(range(101)), ["x"]),
        ([{"a": 1}], ["x", 0]),
        ([1, [2]], ["x", 1]),
        (["s" * 4001], ["x", 0]),
        ({"a": {"b": {"c": {"d": 1}}}}, ["x", "a", "b", "c"]),
        ({"a": {"b": "s" * 4001}}, ["x", "a", "b"]),
        ({"a": list(range(101))}, ["x", "a"]),
    ],
)
def test_free_values_beyond_the_rules_are_refused(value: Any, loc: list[Any]) -> None:
    """Over-long strings or lists, non-scalar list items and nesting past depth 3 are refused at their loc."""
    error = error_of(form({"x": value}))
    assert error.code == "invalid_message" and error.details[0]["loc"] == ["updates", "form_data", *loc]


def test_nesting_depth_three_allowed_four_refused() -> None:
    """Counting the values directly in form_data as depth 1, objects may sit down to depth 3 and not at depth 4."""
    assert parse_client_message(form({"d1": {"d2": {"d3": {"v": 1}}}})).type == "workspace.update"
    assert error_of(form({"d1": {"d2": {"d3": {"d4": {"v": 1}}}}})).code == "invalid_message"


def test_64_keys_apply_to_the_stored_form() -> None:
    """The 64-key limit is checked on the stored form after the merge (the server does that), so a patch of 65
    keys parses (its removals may bring the form under the limit); a created form of 65 keys is refused."""
    assert parse_client_message(form({f"k{i}": i for i in range(65)})).type == "workspace.update"
    error = error_of(frame({"type": "workspace.create", "workspace": {"form_data": {f"k{i}": i for i in range(65)}}}))
    assert error.code == "invalid_message" and "65 keys" in error.message


def test_create_form_data_over_64_kib_is_refused() -> None:
    """A created workspace's form_data is held to the 64 KiB limit as JSON."""
    big = {f"k{i}": "x" * 4000 for i in range(17)}  # 17 * ~4 KB > 64 KiB
    error = error_of(frame({"type": "workspace.create", "workspace": {"form_data": big}}))
    assert error.code == "invalid_message" and "65536" in error.message


def test_null_form_value_is_a_removal_in_an_update() -> None:
    """In an update, a form key set to null is accepted and kept as null in the patch (it removes the key)."""
    parsed = parse_client_message(form({"prompt": None, "x": None, "seed": 3}))
    assert isinstance(parsed, WorkspaceUpdate)
    assert parsed.updates.patch() == {"form_data": {"prompt": None, "x": None, "seed": 3}}


def test_update_patch_holds_only_the_fields_given() -> None:
    """updates.patch() is the stored patch in the shape of updates: fields not given are absent."""
    parsed = parse_client_message(update({"title": "New", "image_path": None}))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.patch() == {"title": "New", "image_path": None}


# ---- image_path and image_url -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["uploads/abc.png", "uploads/3f1c9a7e.png", "uploads/a-b_c.1.webp"])
def test_image_path_under_uploads_is_accepted(path: str) -> None:
    """image_path may name a file directly under uploads/."""
    parsed = parse_client_message(update({"image_path": path}))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.image_path == path


@pytest.mark.parametrize(
    "path",
    [
        "uploads/../x",
        "../uploads/a.png",
        "uploads/../uploads/a.png",
        "/etc/passwd",
        "/uploads/a.png",
        "uploads/a/b.png",
        "uploads/",
        "uploads",
        "uploads\\a.png",
        "uploads/..",
        "uploads/a.png\n",
        "uploads/a.png\x00",
        "other/a.png",
        "",
        5,
    ],
)
def test_image_path_outside_uploads_is_refused(path: Any) -> None:
    """image_path may not traverse, leave uploads/, go into sub-folders or use backslashes."""
    error = error_of(update({"image_path": path}))
    assert error.code == "invalid_message" and error.details[0]["loc"] == ["updates", "image_path"]


@pytest.mark.parametrize(
    "url", ["/uploads/a.png", "https://cdn.example/x.png", "http://cdn.example/x.png?size=2", "https://h"]
)
def test_image_url_local_or_http_is_accepted(url: str) -> None:
    """image_url may be /uploads/... or an absolute http(s) URL."""
    parsed = parse_client_message(update({"image_url": url}))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.image_url == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:image/png;base64,xx",
        "//evil.example/x",
        "/uploads/../x",
        "/uploads/a/../../x",
        "ftp://x",
        "file:///etc/passwd",
        "/etc/passwd",
        "http://",
        "https://",
        "http:///x",
        "uploads/a.png",
        "/uploads/",
        "https://a.example/x y",
        "",
    ],
)
def test_image_url_anything_else_is_refused(url: str) -> None:
    """image_url refuses other schemes, protocol-relative URLs, traversal and bare paths."""
    error = error_of(update({"image_url": url}))
    assert error.code == "invalid_message" and error.details[0]["loc"] == ["updates", "image_url"]


# ---- encode -------------------------------------------------------------------------------------------------


def test_encode_omits_reply_to_when_none() -> None:
    """A message that answers nothing has no reply_to key at all on the wire."""
    assert json.loads(encode(Pong(server_time="2026-11-23T10:00:00Z"))) == {
        "type": "pong",
        "server_time": "2026-11-23T10:00:00Z",
    }


def test_encode_includes_reply_to_when_set() -> None:
    """A direct reply carries reply_to with the client's id."""
    wire = json.loads(encode(Pong(server_time="t", reply_to="m7")))
    assert wire == {"type": "pong", "server_time": "t", "reply_to": "m7"}


def test_encode_error_shape_matches_protocol() -> None:
    """An error encodes as PROTOCOL.md 3.3 shows: type, code, message, reply_to and details."""
    wire = json.loads(
        encode(
            Error(
                code="invalid_message",
                message="updates.form_data.duration_s: must be between 1 and 30",
                reply_to="m2",
                details=[{"loc": ["updates", "form_data", "duration_s"], "msg": "..."}],
            )
        )
    )
    assert wire == {
        "type": "error",
        "code": "invalid_message",
        "message": "updates.form_data.duration_s: must be between 1 and 30",
        "reply_to": "m2",
        "details": [{"loc": ["updates", "form_data", "duration_s"], "msg": "..."}],
    }
    assert "details" not in json.loads(encode(Error(code="internal", message="x")))


@pytest.mark.parametrize(
    "message",
    [
        Pong(server_time="2026-11-29T00:00:00Z"),
        WorkspaceDeleted(workspace_id="w1"),
        Error(code="not_found", message="no such workspace"),
        WorkspaceReordered(order=["a", "b"]),
    ],
    ids=lambda m: m.type,
)
def test_the_schema_requires_only_what_encode_always_writes(message: Any) -> None:
    """/api/protocol (and the UI's generated types) must not promise fields that encode() leaves out when unset:
    reply_to on broadcasts, existed and details when there is nothing to say."""
    written = json.loads(encode(message))
    definition = protocol_schema()["$defs"][type(message).__name__]
    assert set(definition["required"]) <= set(written), sorted(set(definition["required"]) - set(written))
