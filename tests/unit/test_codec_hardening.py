"""The codec's hardening of PROTOCOL.md 9.5, without a server: integers outside int64, duplicate keys, nesting,
and the checks the REST body reader uses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import ProtocolError, WorkspaceUpdate, loads, parse_client_message, validate_client_message
from protocol.codec import check_body, check_int64, max_depth
from tests.unit.test_codec import WID, WID2, error_of, form, frame, update

# ---- PROTOCOL.md 9.5: integers outside the signed 64-bit range ------------------------------------------------

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
TOO_BIG = 1180591620717411303424  # the report's {"v": 2**70}


@pytest.mark.parametrize(
    ("message", "loc"),
    [
        pytest.param(json.loads(update({"form_data": {"v": TOO_BIG}})), ["updates", "form_data", "v"], id="form-value"),
        pytest.param(json.loads(form({"v": INT64_MAX + 1})), ["updates", "form_data", "v"], id="max-plus-one"),
        pytest.param(json.loads(form({"v": INT64_MIN - 1})), ["updates", "form_data", "v"], id="min-minus-one"),
        pytest.param(json.loads(form({"v": [1, "a", TOO_BIG]})), ["updates", "form_data", "v", 2], id="in-a-list"),
        pytest.param(
            json.loads(form({"v": {"a": {"b": -TOO_BIG}}})), ["updates", "form_data", "v", "a", "b"], id="deep"
        ),
        pytest.param(json.loads(form({"seed": TOO_BIG})), ["updates", "form_data", "seed"], id="seed"),
        pytest.param(json.loads(form({"duration_s": TOO_BIG})), ["updates", "form_data", "duration_s"], id="duration"),
        pytest.param({"type": "workspace.create", "id": "m", "position": 2**64}, ["position"], id="position"),
        pytest.param(
            {"type": "workspace.create", "id": "m", "workspace": {"form_data": {"v": TOO_BIG}}},
            ["workspace", "form_data", "v"],
            id="create-form",
        ),
        pytest.param({"type": "ping", "id": "m", "extra": TOO_BIG}, ["extra"], id="unknown-field"),
        pytest.param(json.loads(update({"title": TOO_BIG})), ["updates", "title"], id="wrong-type-field"),
    ],
)
def test_integer_outside_int64_anywhere_is_invalid_message_at_its_loc(message: dict[str, Any], loc: list[Any]) -> None:
    """The database cannot store an integer beyond int64, so wherever one sits in a message of a known type it is
    invalid_message located at the value (framed or already decoded), the id coming back as reply_to."""
    for error in (error_of(frame(message)), _validate_error(message)):
        assert (error.code, error.reply_to) == ("invalid_message", "m")
        assert error.details == [{"loc": loc, "msg": "integer outside the signed 64-bit range", "type": "int64_range"}]
        assert error.message == ".".join(str(p) for p in loc) + ": integer outside the signed 64-bit range"


def _validate_error(message: dict[str, Any]) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        validate_client_message(message)
    return info.value


def test_the_int64_range_itself_is_accepted() -> None:
    """Both ends of the signed 64-bit range are storable and accepted, in free values and in seed."""
    values = {"hi": INT64_MAX, "lo": INT64_MIN, "xs": [INT64_MAX, INT64_MIN], "seed": INT64_MAX}
    parsed = parse_client_message(form(values))
    assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.form_data == values


def test_an_id_beyond_int64_is_invalid_message_without_reply_to() -> None:
    """A number where the id goes is located at id; having no usable id, the error answers nothing."""
    error = error_of(frame({"type": "ping", "id": TOO_BIG}))
    assert (error.code, error.reply_to, error.details[0]["loc"]) == ("invalid_message", None, ["id"])


def test_an_unknown_type_with_a_big_integer_stays_unknown_type() -> None:
    """The type is looked at first: only a known type gets as far as field checks, the int64 rule included."""
    assert error_of(frame({"type": "nope", "id": "u", "v": TOO_BIG})).code == "unknown_type"


def test_loads_keeps_big_integers_and_check_int64_locates_them() -> None:
    """loads decodes any integer (a REST body reader checks it next); check_int64 refuses one beyond int64."""
    value = loads('{"a": [0, {"b": 1180591620717411303424}]}')
    assert value == {"a": [0, {"b": TOO_BIG}]}
    with pytest.raises(ProtocolError) as info:
        check_int64(value)
    assert info.value.code == "invalid_message" and info.value.details[0]["loc"] == ["a", 1, "b"]
    check_int64({"a": [INT64_MIN, INT64_MAX, True, 1.5e300]})


@pytest.mark.parametrize("raw", ["1e400", "-1e400", '{"type": "ping", "x": 1E+999}', "[123456789e305]"])
def test_a_number_that_overflows_to_infinity_is_invalid_json(raw: str) -> None:
    """The Rust parser turns 1e400 into inf (it only refuses the Infinity literal); loads refuses it alike."""
    with pytest.raises(ValueError, match="out of range"):
        loads(raw)
    assert error_of(raw).code == "invalid_json"


# ---- PROTOCOL.md 9.5: duplicate keys -------------------------------------------------------------------------

DELETE_AS_PING = f'{{"type":"ping","type":"workspace.delete","workspace_id":"{WID}"}}'


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(DELETE_AS_PING, id="the-report"),
        pytest.param(f'{{"type":"workspace.delete","workspace_id":"{WID}","workspace_id":"{WID2}"}}', id="top-level"),
        pytest.param(update({"title": "a"})[:-2] + ', "title": "b"}}', id="in-updates"),
        pytest.param(form({"x": {"k": 1}})[:-4] + ', "k": 2}}}}', id="deep-in-form"),
        pytest.param('{"type": "ping", "x": [{"a": 1}, {"b": 1, "b": 1}]}', id="object-in-a-list"),
        pytest.param('{"type": "ping", "t\\u0079pe": "workspace.list"}', id="same-key-escaped"),
        pytest.param('{"type": "ping", "type": "ping"}', id="same-value"),
        pytest.param('{"type": "ping", "a:b": "16:9", "a:b": "x"}', id="colons-in-key-and-value"),
        # Without the escape check the colon counts would agree: the hidden ":" stands in for the dropped key.
        pytest.param(DELETE_AS_PING[:-1] + ',"pad":"\\u003a"}', id="colon-escape-masking-a-repeat"),
        pytest.param(DELETE_AS_PING[:-1] + ',"pad":"\\u003A"}', id="colon-escape-uppercase"),
        pytest.param('{"type": "ping", "id": "a\\"b", "id": "c"}', id="escaped-quote-before"),
    ],
)
def test_a_duplicate_key_in_any_object_is_invalid_json(raw: str) -> None:
    """The parser would keep the last value silently (the report's ping deleted a workspace): a repeated key, at any
    depth and however it is escaped, is invalid_json and the message names it."""
    error = error_of(raw)
    assert (error.code, error.reply_to) == ("invalid_json", None)
    assert "duplicate key" in error.message
    with pytest.raises(ValueError, match="duplicate key"):
        loads(raw.encode())  # a REST body arrives as bytes


def test_the_duplicate_message_names_the_key() -> None:
    """The error says which key was repeated."""
    assert "duplicate key 'type' in an object" in error_of(DELETE_AS_PING).message


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}, {"k": 2}]}',
        '{"type": "Type", "TYPE": 1}',
        '{"a:b": "16:9", "t": "10:00:00", "u": "https://h/x:1", "e": "\\u003a\\u003A"}',
        '{"a": "\\":\\"", "b": "\\\\", "c": "\\\\u003a"}',
        '[{"x": 1}, {"x": 1}]',
    ],
)
def test_the_same_key_in_different_objects_and_colons_in_strings_are_fine(raw: str) -> None:
    """Only a key repeated within one object is refused; colons inside strings (escaped or not) are no keys."""
    assert loads(raw) == json.loads(raw)
    assert loads(raw.encode()) == json.loads(raw)


def test_ordinary_frames_still_parse() -> None:
    """A form with colons in its values, escapes and nested objects is no duplicate."""
    values = {"aspect_ratio": "16:9", "prompt": 'say "hi":\n\tnow \u00e9', "x": {"a": {"b": [1, ":"]}}}
    for raw in (form(values), json.dumps(json.loads(form(values)), ensure_ascii=False, separators=(",", ":"))):
        parsed = parse_client_message(raw)
        assert isinstance(parsed, WorkspaceUpdate) and parsed.updates.form_data == values


@pytest.mark.parametrize(
    "raw",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, "[" * 100_000, '{"a":[' * 50_000],
)
def test_loads_refuses_deep_nesting_with_value_error_never_recursion_error(raw: str) -> None:
    """However deep the text nests, loads raises ValueError (the parser's recursion limit), not RecursionError."""
    with pytest.raises(ValueError):
        loads(raw)


# ---- PROTOCOL.md 9.5: REST bodies (check_body, for app/api) --------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("value", "depth"), [(1, 0), ("s", 0), ({}, 1), ([1, 2], 1), ({"a": []}, 2), (_nested(40), 40)]
)
def test_max_depth_counts_nested_containers(value: Any, depth: int) -> None:
    """A scalar is depth 0, a flat object or list 1, and each container inside adds one."""
    assert max_depth(value) == depth


def test_check_body_allows_32_deep_and_refuses_33() -> None:
    """REST JSON nests at most 32 deep: deeper is invalid_message (400)."""
    check_body(_nested(32))
    with pytest.raises(ProtocolError) as info:
        check_body(_nested(33))
    assert info.value.code == "invalid_message" and "33" in info.value.message


def test_check_body_refuses_integers_outside_int64() -> None:
    """A REST body is held to the same int64 rule as a frame, located at the value."""
    with pytest.raises(ProtocolError) as info:
        check_body({"workspace_id": WID, "n": [TOO_BIG]})
    assert info.value.code == "invalid_message" and info.value.details[0]["loc"] == ["n", 0]
