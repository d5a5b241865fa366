"""An AsyncAPI 3.0 document of the WebSocket protocol (PROTOCOL.md 3), built from the protocol models. No I/O.

The payload schemas are those of ``protocol_schema()`` (what ``GET /api/protocol`` serves) with their ``$ref``s
moved from ``#/$defs/...`` to ``#/components/schemas/...``; one message per model of the two unions, all of them
on the one channel ``ws``. The document is written from a client's point of view:

- one ``send`` operation per client message type, whose ``reply`` lists what the server answers it with
  (``REPLIES``, PROTOCOL.md 3.1) and ``error`` (3.3); the replies carry ``reply_to`` = the message's ``id``;
- one ``receive`` operation per message the server sends unprompted (``EVENTS``): ``connection.ready`` and the
  events of 3.2. One operation per event rather than one grouped "events" operation: each event is handled on
  its own by a client, has its own "when" (the last column of 3.2), and a code generator makes one handler per
  operation; a grouped operation would bring back the catch-all this replaced.

``ecosystem/asyncapi/generate.py`` writes it to ``ecosystem/asyncapi/asyncapi.yaml`` with ``asyncapi_yaml``.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from protocol.codes import PROTOCOL_VERSION
from protocol.fields import PROJECT_RE
from protocol.schema import protocol_schema

ASYNCAPI_VERSION: Final = "3.0.0"
CHANNEL: Final = "ws"
_DEFS: Final = "#/$defs/"
_SCHEMAS: Final = "#/components/schemas/"
ERROR: Final = "error"

# PROTOCOL.md 3.1: what the server answers each client message type with, besides ``error`` (which any of them
# may draw). Every client type must have an entry: ``asyncapi_document`` raises on one that has none.
REPLIES: Final[dict[str, tuple[str, ...]]] = {
    "ping": ("pong",),
    "workspace.list": ("workspace.list_result",),
    "workspace.create": ("workspace.created",),
    "workspace.update": ("workspace.sync_confirm",),
    "workspace.delete": ("workspace.deleted",),
    "workspace.reorder": ("workspace.reorder_confirm",),
    "video.generate": ("video.status_update",),
    "video.cancel": ("video.status_update",),
    "ai.suggest": ("ai.delta", "ai.suggestion"),
    "auth.refresh": ("auth.refreshed",),
    "job.start": ("job.status_update",),
    "job.cancel": ("job.status_update",),
    "job.list": ("job.list_result",),
    "presence.update": (),  # no reply; a bad one draws error
    "workspace.history": ("workspace.history_result",),
    "workspace.restore": ("workspace.sync_confirm",),
}

# What the server sends without being asked (no ``reply_to``), and when: the first frame and PROTOCOL.md 3.2.
EVENTS: Final[dict[str, str]] = {
    "connection.ready": "First frame on every connection, before anything else.",
    "workspace.created": "Another client of the project created a workspace.",
    "workspace.updated": "Another client's update or restore, an upload attached to the workspace, or an AI "
    "exchange appended (`changes.ai_collaboration` holds the new entries).",
    "workspace.deleted": "Another client of the project deleted a workspace.",
    "workspace.reordered": "Another client of the project reordered the timeline.",
    "video.status_update": "Every change of a video's status or progress, to every connection of the project "
    "(the requester included; only the direct reply to video.generate or video.cancel has `reply_to`).",
    "job.status_update": "Every change of a job's status, and of its stage and progress (at most 5 a second), to "
    "every connection of the project (only the direct reply to job.start or job.cancel has `reply_to`).",
    "presence.changed": "Another connection of the project opened (`state` null) or sent presence.update (at most "
    "10 a second per connection, the latest wins).",
    "presence.left": "Another connection of the project closed (or its process died: within 30 s).",
}

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
    "job.start": "Start a job (PROTOCOL.md 8): `kind`, `workspace_id` for keyframe and narration, `params`.",
    "job.cancel": "Cancel a queued or running job of the project.",
    "job.list": "List the project's jobs, newest first (at most 100), optionally only those of `status`.",
    "job.status_update": "A job as stored: the reply to job.start or job.cancel, or a change of any job.",
    "job.list_result": "Reply to job.list.",
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
    "presence.update": "Say what this connection is looking at (`state`, at most 2 KiB as JSON); no reply.",
    "workspace.history": "The workspace's stored changes, newest first (`before_version`, `limit` 1-100).",
    "workspace.restore": "Make the client-writable fields what they were at `version` again (a forward change).",
    "presence.changed": "Another connection's presence (state null: it just opened).",
    "presence.left": "Another connection of the project is gone.",
    "workspace.history_result": "Reply to workspace.history: entries {version, changes, at, by}, newest first.",
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


def operation_id(action: str, kind: str) -> str:
    """``send`` + ``workspace.list`` -> ``sendWorkspaceList``: an id a code generator can use as a name."""
    return action + "".join(word.capitalize() for word in kind.replace("_", ".").split("."))


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


def _operations(client: dict[str, str], server: dict[str, str]) -> dict[str, Any]:
    """The ``send`` operation of every client type (``client``: type -> model name) with its ``reply``, then the
    ``receive`` operation of every event (``server``: type -> model name). Raises ``KeyError`` on a client type
    without a ``REPLIES`` entry and on a reply or event type that is no server message."""

    # Fresh dicts at every use: safe_dump writes a dict shared within the data as a YAML anchor and aliases.
    def channel() -> dict[str, str]:
        return {"$ref": f"#/channels/{CHANNEL}"}

    def refs(models: list[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{model}"} for model in models]

    if missing := sorted(set(client) - set(REPLIES)):
        raise KeyError(f"protocol.asyncapi.REPLIES has no entry for the client message(s) {', '.join(missing)}")
    operations: dict[str, Any] = {}
    for kind, model in client.items():
        replies = [*REPLIES[kind], ERROR]
        listed = ", ".join(f"`{reply}`" for reply in replies[:-1]) + f" or `{ERROR}`"
        operations[operation_id("send", kind)] = {
            "action": "send",
            "title": kind,
            "summary": SUMMARIES.get(kind, kind),
            "description": f"Answered with {listed}, with `reply_to` = this message's `id` (PROTOCOL.md 3.1, 3.3).",
            "channel": channel(),
            "messages": refs([model]),
            "reply": {"channel": channel(), "messages": refs([server[reply] for reply in replies])},
        }
    for kind, when in EVENTS.items():
        operations[operation_id("receive", kind)] = {
            "action": "receive",
            "title": kind,
            "summary": when,
            "channel": channel(),
            "messages": refs([server[kind]]),
        }
    return operations


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``/ws`` as JSON-compatible data."""
    base = protocol_schema()
    schemas: dict[str, Any] = _rewrite_refs(base["$defs"])
    client = {_message_type(schemas[name]): name for name in _union_members(base["client_message"])}
    server = {_message_type(schemas[name]): name for name in _union_members(base["server_message"])}
    messages = {name: _message(name, schemas[name], "clientId") for name in client.values()}
    messages |= {name: _message(name, schemas[name], "replyTo") for name in server.values()}

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Workspace server WebSocket protocol",
            "version": str(PROTOCOL_VERSION),
            "description": (
                "The realtime protocol of the workspace server (PROTOCOL.md section 3): one JSON object per text "
                "frame on one WebSocket per client. This document is written from a client's point of view: one "
                "`send` operation per client message, whose `reply` lists what the server answers it with (direct "
                "replies carry `reply_to` = the client message's `id`; any client message may draw an `error`, and "
                "so does a frame that is no client message at all), and one `receive` operation per message the "
                "server sends unprompted (`connection.ready`, and the events for other clients' changes, which "
                "have no `reply_to`). Generated from the pydantic models in `protocol/`; the same schemas are "
                "served at `GET /api/protocol`."
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
        "operations": _operations(client, server),
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


def to_yaml(data: Any, header: str = "") -> str:
    """JSON-compatible ``data`` as block-style YAML (PyYAML's safe dumper; keys in the given order, no line
    folding, so a changed value is a changed line); ``header`` lines become ``#`` comments on top."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 30, default_flow_style=False)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return "".join(line + "\n" for line in lines) + body


def asyncapi_yaml() -> str:
    """The document as the text of ``ecosystem/asyncapi/asyncapi.yaml``."""
    header = (
        "Generated from the protocol models by ecosystem/asyncapi/generate.py. Do not edit by hand:\n"
        "run `.venv/bin/python ecosystem/asyncapi/generate.py` after changing protocol/."
    )
    return to_yaml(asyncapi_document(), header)
