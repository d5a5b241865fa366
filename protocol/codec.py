"""The one codec: text frame -> client message model; server message model -> text frame.

``parse_client_message`` raises ``ProtocolError`` carrying the error code of PROTOCOL.md 3.3, a readable
message, ``details`` and the ``reply_to`` recovered from the frame when it had a usable ``id``.

Strict JSON (PROTOCOL.md 9.5): ``loads`` refuses NaN/Infinity (also a number that overflows to infinity), nesting
past the Rust parser's recursion limit, lone surrogates and a duplicate key in any object, all as ``ValueError``.
A duplicate costs no second parse: the parser keeps the last value of a repeated key, so the decoded value holds
fewer keys than the text has ``:`` separators. One walk over the decoded value counts its keys and the ``:`` inside
its strings, and notes any integer outside the signed 64-bit range (``invalid_message`` in ``parse_client_message``,
since BSON cannot store it); ``str.count`` on the text does the rest.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from protocol import codes
from protocol.inbound import CLIENT_MESSAGE_TYPES, ClientMessage
from protocol.outbound import ServerMessage

_CLIENT: Final[TypeAdapter[ClientMessage]] = TypeAdapter(ClientMessage)
OMIT_WHEN_NONE: Final = ("reply_to", "existed", "details")

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
REST_MAX_DEPTH: Final = 32  # PROTOCOL.md 9.5: REST JSON bodies nest at most 32 deep
INT64_MESSAGE: Final = "integer outside the signed 64-bit range"
# A JSON string token (the text is already known to be valid JSON, so every match starts at an opening quote).
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_BYTES: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_INF: Final = float("inf")
_NOT_STR: Final = frozenset({dict, list, int, float, bool, type(None)})


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, *, details: Any = None, reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.reply_to = reply_to


def _scan(value: Any) -> tuple[int, int, bool]:
    """One walk over a decoded value: (keys held by all its objects, ``:`` inside its keys and strings, whether an
    integer lies outside int64). Iterative, so no RecursionError whatever the depth. Raises ``ValueError`` for an
    infinite float (``1e400`` decodes to one)."""
    keys = colons = 0
    wide = False
    stack = [value]
    while stack:
        node = stack.pop()
        items: Any
        if type(node) is dict:
            keys += len(node)
            for key in node:
                if ":" in key:
                    colons += key.count(":")
            items = node.values()
        elif type(node) is list:
            if len(node) > 16 and _NOT_STR.isdisjoint(set(map(type, node))):  # reorder's ids: all in C
                colons += "".join(node).count(":")
                continue
            items = node
        else:
            items = (node,)
        for item in items:
            kind = type(item)
            if kind is str:
                if ":" in item:
                    colons += item.count(":")
            elif kind is dict or kind is list:
                stack.append(item)
            elif kind is int:
                if not INT64_MIN <= item <= INT64_MAX:
                    wide = True
            elif kind is float and (item == _INF or item == -_INF):
                raise ValueError("number out of range (not a finite float)")
    return keys, colons, wide


def _key_colons(data: str | bytes) -> int:
    """The ``:`` separators of valid JSON text: its ``:`` outside string tokens, one per key written."""
    if isinstance(data, str):
        return _STRING.sub("", data).count(":")
    return _STRING_BYTES.sub(b"", data).count(b":")


def _has_duplicate_key(data: str | bytes, keys: int, string_colons: int) -> bool:
    """Whether the valid JSON text ``data`` repeated a key in some object, given what ``_scan`` found in the value it
    decoded to (the parser keeps the last of repeated keys). The text's ``:`` are one per key written plus those
    inside strings, and each repeat drops at least one key written from the value: so the counts agree exactly when
    nothing was repeated, unless a string wrote ``:`` as the escape ``\\u003a`` (then the strings are cut out of
    the text and its remaining ``:`` counted)."""
    if isinstance(data, str):
        escaped = "\\" in data and "\\u003" in data  # memchr first: most frames hold no backslash at all
        return _key_colons(data) != keys if escaped else data.count(":") != keys + string_colons
    escaped = b"\\" in data and b"\\u003" in data
    return _key_colons(data) != keys if escaped else data.count(b":") != keys + string_colons


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)


def _duplicate_message(data: str | bytes) -> str:
    """Names the repeated key (only on the error path, so the slower stdlib parse is fine)."""
    try:
        json.loads(data, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as exc:
        return f"duplicate key {exc.key[:64]!r} in an object"
    except (ValueError, RecursionError):
        pass
    return "duplicate key in an object"


def _decode(data: str | bytes) -> tuple[Any, bool]:
    """``loads``, plus whether the value holds an integer outside int64."""
    value = from_json(data, allow_inf_nan=False)
    keys, string_colons, wide = _scan(value)
    if _has_duplicate_key(data, keys, string_colons):
        raise ValueError(_duplicate_message(data))
    return value, wide


def loads(data: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity, bounded nesting (the Rust parser's recursion limit), valid Unicode, no
    duplicate key in any object. Anything else is a ``ValueError`` (never a ``RecursionError``). Integers of any
    size come back as they are: ``check_int64`` / ``check_body`` refuse those BSON cannot store."""
    return _decode(data)[0]


def _path_to_wide_int(value: Any) -> list[str | int] | None:
    """The loc of the first (depth-first, in document order) integer outside int64, or None."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if type(node) is int:
            if not INT64_MIN <= node <= INT64_MAX:
                return path
        elif isinstance(node, dict | list):
            items = list(node.items() if isinstance(node, dict) else enumerate(node))
            stack.extend((item, [*path, key]) for key, item in reversed(items))
    return None


def _where(loc: list[str | int]) -> str:
    return ".".join(str(p) for p in loc)


def check_int64(value: Any, *, reply_to: str | None = None) -> None:
    """``ProtocolError(INVALID_MESSAGE)`` located at the first integer of ``value`` outside the signed 64-bit
    range (PROTOCOL.md 9.5: the database cannot store it)."""
    loc = _path_to_wide_int(value)
    if loc is not None:
        detail = {"loc": loc, "msg": INT64_MESSAGE, "type": "int64_range"}
        message = f"{_where(loc)}: {INT64_MESSAGE}" if loc else INT64_MESSAGE
        raise ProtocolError(codes.INVALID_MESSAGE, message, details=[detail], reply_to=reply_to)


def max_depth(value: Any) -> int:
    """How deep ``value`` nests: 0 for a scalar, 1 for ``{}`` or ``[1]``, 2 for ``{"a": []}``... Iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in (node.values() if isinstance(node, dict) else node))
    return deepest


def check_body(value: Any, *, limit: int = REST_MAX_DEPTH) -> None:
    """The 9.5 rules for a decoded REST JSON body (after ``loads``): nesting at most ``limit`` deep and no integer
    outside int64, else ``ProtocolError(INVALID_MESSAGE)`` (HTTP 400)."""
    depth = max_depth(value)
    if depth > limit:
        message = f"the body nests {depth} deep; at most {limit}"
        raise ProtocolError(codes.INVALID_MESSAGE, message, details=[{"loc": [], "msg": message, "type": "depth"}])
    check_int64(value)


def _reply_to(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    if isinstance(value, str) and 1 <= len(value) <= 64:
        return value
    return None


def _details(exc: ValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [part for part in err["loc"][1:] if part != "function-after[check_form_patch(), dict[str,any]]"]
        path = (err.get("ctx") or {}).get("path")
        if path:
            loc.extend(int(p) if p.isdigit() else p for p in str(path).split("."))
        details.append({"loc": loc, "msg": err["msg"], "type": err["type"]})
    return details


def _describe(detail: dict[str, Any]) -> str:
    where = _where(detail["loc"])
    msg = str(detail["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _validate(data: Any, wide: bool) -> ClientMessage:
    if not isinstance(data, dict):
        raise ProtocolError(codes.INVALID_JSON, "a message must be a JSON object")
    reply_to = _reply_to(data)
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_MESSAGE_TYPES:
        if kind is None:
            message = "type is missing"
        elif not isinstance(kind, str):
            message = "type must be a string"
        else:
            message = f"unknown message type {kind[:64]!r}"
        raise ProtocolError(codes.UNKNOWN_TYPE, message, reply_to=reply_to)
    if wide:
        check_int64(data, reply_to=reply_to)
    try:
        return _CLIENT.validate_python(data)
    except ValidationError as exc:
        details = _details(exc)
        forbidden = [d for d in details if d["type"] == "forbidden_field"]
        code = codes.FORBIDDEN_FIELD if forbidden else codes.INVALID_MESSAGE
        first = forbidden[0] if forbidden else details[0]
        raise ProtocolError(code, _describe(first), details=details, reply_to=reply_to) from None


def validate_client_message(data: Any) -> ClientMessage:
    """Validate an already-decoded JSON value as a client message (integers outside int64 included)."""
    return _validate(data, _path_to_wide_int(data) is not None)


def parse_client_message(frame: str | bytes) -> ClientMessage:
    """A text frame (``str``) -> client message. ``bytes`` means a binary frame, which is refused."""
    if isinstance(frame, bytes):
        raise ProtocolError(codes.INVALID_JSON, "binary frames are not accepted; send JSON as text")
    try:
        data, wide = _decode(frame)
    except (ValueError, TypeError) as exc:  # TypeError: a str holding a lone surrogate is not UTF-8
        raise ProtocolError(codes.INVALID_JSON, f"not valid JSON: {str(exc)[:120]}") from None
    return _validate(data, wide)


def encode(message: ServerMessage) -> str:
    """Serialise a server message; ``reply_to`` (and optional extras) are left out when unset."""
    fields = _OMITTABLE.get(type(message))
    if fields is None:
        fields = _OMITTABLE[type(message)] = tuple(n for n in OMIT_WHEN_NONE if n in type(message).model_fields)
    exclude = {name for name in fields if getattr(message, name) is None}
    return message.model_dump_json(exclude=exclude) if exclude else message.model_dump_json()


_OMITTABLE: dict[type, tuple[str, ...]] = {}  # per message class, the fields of OMIT_WHEN_NONE it has
