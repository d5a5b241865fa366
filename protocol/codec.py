"""The one codec: text frame -> client message model; server message model -> text frame.

``parse_client_message`` raises ``ProtocolError`` carrying the error code of PROTOCOL.md 3.3, a readable
message, ``details`` and the ``reply_to`` recovered from the frame when it had a usable ``id``.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from protocol import codes
from protocol.inbound import CLIENT_MESSAGE_TYPES, ClientMessage
from protocol.outbound import ServerMessage

_CLIENT: Final[TypeAdapter[ClientMessage]] = TypeAdapter(ClientMessage)
OMIT_WHEN_NONE: Final = ("reply_to", "existed", "details")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, *, details: Any = None, reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.reply_to = reply_to


def loads(data: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity, bounded nesting (the Rust parser's recursion limit), valid Unicode."""
    return from_json(data, allow_inf_nan=False)


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
    where = ".".join(str(p) for p in detail["loc"])
    msg = str(detail["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def validate_client_message(data: Any) -> ClientMessage:
    """Validate an already-decoded JSON value as a client message."""
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
    try:
        return _CLIENT.validate_python(data)
    except ValidationError as exc:
        details = _details(exc)
        forbidden = [d for d in details if d["type"] == "forbidden_field"]
        code = codes.FORBIDDEN_FIELD if forbidden else codes.INVALID_MESSAGE
        first = forbidden[0] if forbidden else details[0]
        raise ProtocolError(code, _describe(first), details=details, reply_to=reply_to) from None


def parse_client_message(frame: str | bytes) -> ClientMessage:
    """A text frame (``str``) -> client message. ``bytes`` means a binary frame, which is refused."""
    if isinstance(frame, bytes):
        raise ProtocolError(codes.INVALID_JSON, "binary frames are not accepted; send JSON as text")
    try:
        data = loads(frame)
    except (ValueError, TypeError) as exc:  # TypeError: a str holding a lone surrogate is not UTF-8
        raise ProtocolError(codes.INVALID_JSON, f"not valid JSON: {str(exc)[:120]}") from None
    return validate_client_message(data)


def encode(message: ServerMessage) -> str:
    """Serialise a server message; ``reply_to`` (and optional extras) are left out when unset."""
    exclude = {name for name in OMIT_WHEN_NONE if getattr(message, name, 0) is None}
    return message.model_dump_json(exclude=exclude)
