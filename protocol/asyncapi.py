"""An AsyncAPI 3.0 document of the WebSocket protocol (PROTOCOL.md 3), built from the protocol models. No I/O.

The payload schemas are those of ``protocol_schema()`` (what ``GET /api/protocol`` serves) with their ``$ref``s
moved from ``#/$defs/...`` to ``#/components/schemas/...``; one message per model of the two unions. The document
is written from a client's point of view: the client *sends* the client messages and *receives* the server
messages. ``ecosystem/asyncapi/generate.py`` writes it to ``ecosystem/asyncapi/asyncapi.yaml`` with ``to_yaml``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from protocol.codes import PROTOCOL_VERSION
from protocol.fields import PROJECT_RE
from protocol.schema import protocol_schema

ASYNCAPI_VERSION: Final = "3.0.0"
CHANNEL: Final = "ws"
_DEFS: Final = "#/$defs/"
_SCHEMAS: Final = "#/components/schemas/"

# One line per message type for the generated document; a type missing here falls back to its model's docstring.
SUMMARIES: Final[dict[str, str]] = {
    "ping": "Ask for a pong (keep-alive at the application level).",
    "workspace.list": "List the project's workspaces in timeline order.",
    "workspace.create": "Create a workspace, at `position` or at the end of the timeline.",
    "workspace.update": "Change client-writable fields; `form_data` is a partial patch (`null` removes a key).",
    "workspace.delete": "Delete a workspace.",
    "workspace.reorder": "Set the timeline order: every workspace id of the project, in the new order.",
    "video.generate": "Start a video generation from the workspace's picture and form.",
    "video.cancel": "Cancel the workspace's running generation.",
    "ai.suggest": "Ask the LLM about the shot; answered by ai.delta frames, then ai.suggestion.",
    "connection.ready": "First frame on every connection.",
    "pong": "Reply to ping.",
    "workspace.list_result": "Reply to workspace.list.",
    "workspace.created": "Reply to workspace.create (with reply_to), or another client's create (without).",
    "workspace.sync_confirm": "Reply to workspace.update, sent once the change is durable.",
    "workspace.deleted": "Reply to workspace.delete (with reply_to and existed), or another client's delete.",
    "workspace.reorder_confirm": "Reply to workspace.reorder.",
    "workspace.updated": "Another client's update, upload or AI exchange: the stored patch and the new version.",
    "workspace.reordered": "Another client's reorder.",
    "video.status_update": "Every change of a video's status or progress, to every connection of the project.",
    "ai.delta": "A piece of the streamed AI answer (reply_to the ai.suggest).",
    "ai.suggestion": "The stored AI answer, after the deltas (reply_to the ai.suggest).",
    "error": "The message with this reply_to was refused and changed nothing (PROTOCOL.md 3.3).",
}


def _rewrite_refs(node: Any) -> Any:
    """A copy of a JSON Schema with every ``#/$defs/X`` (in ``$ref`` and discriminator mappings) pointing into
    ``#/components/schemas/X``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS):
                out[key] = _SCHEMAS + value.removeprefix(_DEFS)
            elif key == "mapping" and isinstance(value, dict):
                out[key] = {k: _rewrite_refs({"$ref": v})["$ref"] for k, v in value.items()}
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _union_members(union: dict[str, Any]) -> list[str]:
    """The model names of a discriminated union's ``oneOf``, in declaration order."""
    return [str(member["$ref"]).removeprefix(_DEFS) for member in union["oneOf"]]


def _message_type(schema: dict[str, Any]) -> str:
    prop = schema["properties"]["type"]
    return str(prop.get("const", prop.get("default")))


def _message(name: str, schema: dict[str, Any], correlation: str) -> dict[str, Any]:
    kind = _message_type(schema)
    summary = SUMMARIES.get(kind) or str(schema.get("description", kind)).strip().split("\n")[0]
    return {
        "name": kind,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "correlationId": {"$ref": f"#/components/correlationIds/{correlation}"},
        "payload": {"$ref": _SCHEMAS + name},
    }


def _query_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "project": {
                "type": "string",
                "pattern": PROJECT_RE.pattern.removesuffix(r"\Z") + "$",
                "default": "default",
                "description": "The timeline (project) this connection works on; every event is scoped to it.",
            },
            "token": {
                "type": "string",
                "description": "The server's AUTH_TOKEN, required when the server has one (or send the "
                "`Authorization: Bearer` header instead). Missing or wrong: the socket is accepted, then closed "
                "with 1008.",
            },
        },
        "additionalProperties": False,
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``/ws`` as JSON-compatible data."""
    base = protocol_schema()
    schemas: dict[str, Any] = _rewrite_refs(base["$defs"])
    client = _union_members(base["client_message"])
    server = _union_members(base["server_message"])
    messages = {name: _message(name, schemas[name], "clientId") for name in client}
    messages |= {name: _message(name, schemas[name], "replyTo") for name in server}

    def refs(names: list[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names]

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Workspace server WebSocket protocol",
            "version": str(PROTOCOL_VERSION),
            "description": (
                "The realtime protocol of the workspace server (PROTOCOL.md section 3): one JSON object per text "
                "frame on one WebSocket per client. This document is written from a client's point of view: the "
                "`send` operation lists what a client may send, `receive` what the server sends (direct replies "
                "carry `reply_to` = the client message's `id`; events for other clients' changes have none). "
                "Generated from the pydantic models in `protocol/`; the same schemas are served at "
                "`GET /api/protocol`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8000",
                "protocol": "ws",
                "description": "`python -m app` with its defaults (HOST=127.0.0.1, PORT=8000); behind a TLS proxy "
                "use `wss` and the proxy's host.",
                "security": [
                    {"$ref": "#/components/securitySchemes/queryToken"},
                    {"$ref": "#/components/securitySchemes/bearerToken"},
                ],
            }
        },
        "channels": {
            CHANNEL: {
                "address": "/ws",
                "title": "Workspace timeline",
                "description": (
                    "Connect to `/ws?project=NAME` (`project` optional, default `default`; add `&token=...` when "
                    "the server has AUTH_TOKEN). The server first sends `connection.ready`. Close codes: 1000/1001 "
                    "normal or server shutting down, 1008 missing or wrong token or Origin not allowed, 1009 frame "
                    "larger than MAX_MESSAGE_BYTES, 1011 server failure, 1013 MAX_CONNECTIONS reached."
                ),
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {"ws": {"method": "GET", "query": _query_schema(), "bindingVersion": "0.1.0"}},
            }
        },
        "operations": {
            "send": {
                "action": "send",
                "title": "Client messages",
                "summary": "What a client sends (PROTOCOL.md 3.1).",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(client),
            },
            "receive": {
                "action": "receive",
                "title": "Server messages",
                "summary": "Replies, events for other clients' changes, and errors (PROTOCOL.md 3.1 to 3.3).",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": refs(server),
            },
        },
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {
                "clientId": {
                    "description": "The optional `id` a client gives its message; replies echo it as `reply_to`.",
                    "location": "$message.payload#/id",
                },
                "replyTo": {
                    "description": "The `id` of the client message this frame answers; absent on events.",
                    "location": "$message.payload#/reply_to",
                },
            },
            "securitySchemes": {
                "queryToken": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "Only when the server runs with AUTH_TOKEN.",
                },
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <AUTH_TOKEN>` on the upgrade request (instead of ?token=).",
                },
            },
        },
    }


# --- a small YAML emitter for JSON-compatible data (block style; no dependency) ---------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.\-]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z_/][A-Za-z0-9_./\-]*")
# Words some YAML parser (1.1 or 1.2) would read as a bool or null; never plain.
_RESERVED = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"})


def _quote(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, plus \\x/\\u/\\U for what a YAML reader must not see raw
    (control characters, U+2028/U+2029 which YAML 1.1 takes for line breaks, the BOM, non-BMP characters)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif (
            0x20 <= code < 0x7F
            or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
            or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        ):
            out.append(char)
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        elif code > 0xFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\x{code:02x}")
    out.append('"')
    return "".join(out)


def _scalar(value: Any, pattern: re.Pattern[str]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = json.dumps(value)  # raises on nan/inf: not JSON-compatible
        mantissa, _, exponent = text.partition("e")
        if "." not in mantissa:  # YAML 1.1 readers need the dot to see a float
            mantissa += ".0"
        return mantissa + ("e" + exponent if exponent else "")
    if isinstance(value, str):
        if pattern.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        return _quote(value)
    raise TypeError(f"not JSON-compatible: {type(value).__name__}")


def _emit(value: Any, indent: int, lines: list[str], prefix: str) -> None:
    """Append ``value`` to ``lines``; ``prefix`` is what precedes it on its first line (``key:`` or ``-``)."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        if prefix:
            lines.append(pad + prefix)
            indent += 2
            pad = " " * indent
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"not JSON-compatible: a {type(key).__name__} key")
            _emit(item, indent, lines, _scalar(key, _PLAIN_KEY) + ":")
    elif isinstance(value, list) and value:
        if prefix:
            lines.append(pad + prefix)
            indent += 2
            pad = " " * indent
        for item in value:
            if isinstance(item, dict | list) and item:
                sub: list[str] = []
                _emit(item, indent + 2, sub, "")
                lines.append(pad + "- " + sub[0][indent + 2 :])
                lines.extend(sub[1:])
            else:
                _emit(item, indent, lines, "-")
    else:
        if isinstance(value, dict):
            text = "{}"
        elif isinstance(value, list):
            text = "[]"
        else:
            text = _scalar(value, _PLAIN_VALUE)
        lines.append(pad + (prefix + " " + text if prefix else text))


def to_yaml(data: Any, header: str = "") -> str:
    """JSON-compatible ``data`` as block-style YAML (read back equal by YAML 1.1 and 1.2 parsers); ``header``
    lines become ``#`` comments on top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _emit(data, 0, lines, "")
    return "\n".join(lines) + "\n"


def asyncapi_yaml() -> str:
    """The document as the text of ``ecosystem/asyncapi/asyncapi.yaml``."""
    header = (
        "Generated from the protocol models by ecosystem/asyncapi/generate.py. Do not edit by hand:\n"
        "run `.venv/bin/python ecosystem/asyncapi/generate.py` after changing protocol/."
    )
    return to_yaml(asyncapi_document(), header)
