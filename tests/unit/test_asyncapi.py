"""The committed AsyncAPI document (ecosystem/asyncapi/asyncapi.yaml) is current and describes PROTOCOL.md 3."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # a declared dependency: without it these tests fail, they do not skip

from protocol import asyncapi
from protocol.asyncapi import asyncapi_document, asyncapi_yaml, operation_id, to_yaml
from protocol.inbound import CLIENT_MESSAGE_TYPES
from protocol.schema import protocol_schema

COMMITTED = Path(__file__).resolve().parents[2] / "ecosystem" / "asyncapi" / "asyncapi.yaml"
REGENERATE = "run `.venv/bin/python ecosystem/asyncapi/generate.py` and commit ecosystem/asyncapi/asyncapi.yaml"
CHANNEL_REF = "#/channels/ws"

# PROTOCOL.md 3.1: every client message type and its success reply (every one may also draw `error`, 3.3).
REPLIES = {
    "ping": {"pong"},
    "workspace.list": {"workspace.list_result"},
    "workspace.create": {"workspace.created"},
    "workspace.update": {"workspace.sync_confirm"},
    "workspace.delete": {"workspace.deleted"},
    "workspace.reorder": {"workspace.reorder_confirm"},
    "video.generate": {"video.status_update"},
    "video.cancel": {"video.status_update"},
    "ai.suggest": {"ai.delta", "ai.suggestion"},
    "auth.refresh": {"auth.refreshed"},  # PROTOCOL.md 9.1
    "job.start": {"job.status_update"},  # PROTOCOL.md 8.2
    "job.cancel": {"job.status_update"},
    "job.list": {"job.list_result"},
    "presence.update": set(),
    "workspace.history": {"workspace.history_result"},
    "workspace.restore": {"workspace.sync_confirm"},
}
# What the server sends unprompted: the first frame, and the events of PROTOCOL.md 3.2.
EVENTS = {
    "connection.ready",
    "workspace.created",
    "workspace.updated",
    "workspace.deleted",
    "workspace.reordered",
    "video.status_update",
    "job.status_update",  # PROTOCOL.md 8.2
    "presence.changed",  # PROTOCOL.md 10.1
    "presence.left",
}
# PROTOCOL.md 3: connection.ready, the replies of 3.1, the events of 3.2, the error of 3.3.
SERVER_TYPES = {
    "connection.ready",
    "pong",
    "auth.refreshed",  # PROTOCOL.md 9.1
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
    "job.status_update",  # PROTOCOL.md 8.2
    "job.list_result",
    "presence.changed",  # PROTOCOL.md 10
    "presence.left",
    "workspace.history_result",
    "error",
}


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    """The node a local ``$ref`` points to, following a chain of ``$ref``-only nodes."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and set(node) == {"$ref"}:
        return _resolve(doc, node["$ref"])
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _types(doc: dict[str, Any], refs: list[dict[str, str]]) -> list[str]:
    return [_resolve(doc, ref["$ref"])["name"] for ref in refs]


def _operations(doc: dict[str, Any], action: str) -> dict[str, dict[str, Any]]:
    return {key: op for key, op in doc["operations"].items() if op["action"] == action}


def test_committed_file_is_current() -> None:
    """Fails when the models changed and nobody regenerated the committed document."""
    assert COMMITTED.exists(), REGENERATE
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi_yaml(), REGENERATE


def test_committed_file_reads_back_as_the_document() -> None:
    text = COMMITTED.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == asyncapi_document()
    assert text.startswith("# Generated from the protocol models by ecosystem/asyncapi/generate.py.")
    # No anchors or aliases: every value stands where it applies (a shared dict would make safe_dump emit them).
    assert not re.search(r"[&*]id\d+\b", text)


def test_declares_asyncapi_3() -> None:
    """The version reads back as the string 3.0.0 (not a number) from the committed text."""
    assert asyncapi_document()["asyncapi"] == "3.0.0"
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))["asyncapi"] == "3.0.0"


def test_the_reply_table_covers_every_client_type() -> None:
    """A client message added to protocol/inbound.py without a REPLIES entry fails here (and in generation)."""
    assert set(asyncapi.REPLIES) == set(CLIENT_MESSAGE_TYPES)
    assert {kind: set(replies) for kind, replies in asyncapi.REPLIES.items()} == REPLIES
    assert set(asyncapi.EVENTS) == EVENTS


def test_a_client_type_without_replies_cannot_be_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(asyncapi.REPLIES, "workspace.reorder")
    with pytest.raises(KeyError, match=re.escape("workspace.reorder")):
        asyncapi_document()


def test_every_client_type_has_one_send_operation_with_its_replies() -> None:
    """One ``send`` operation per client message of PROTOCOL.md 3.1; its ``reply`` (on the same channel) lists
    that message's success replies and ``error``, nothing else."""
    doc = asyncapi_document()
    sends = _operations(doc, "send")
    by_type: dict[str, dict[str, Any]] = {}
    for key, op in sends.items():
        (kind,) = _types(doc, op["messages"])
        assert kind not in by_type, f"two send operations for {kind}"
        assert key == operation_id("send", kind) and op["title"] == kind
        by_type[kind] = op
    assert set(by_type) == set(REPLIES) == set(CLIENT_MESSAGE_TYPES)
    for kind, op in by_type.items():
        reply = op["reply"]
        assert reply["channel"] == {"$ref": CHANNEL_REF} == op["channel"], kind
        replied = _types(doc, reply["messages"])
        assert len(replied) == len(set(replied)), kind
        assert set(replied) == REPLIES[kind] | {"error"}, kind


def test_receive_operations_are_the_unprompted_messages() -> None:
    doc = asyncapi_document()
    receives = _operations(doc, "receive")
    kinds = []
    for key, op in receives.items():
        (kind,) = _types(doc, op["messages"])
        assert key == operation_id("receive", kind) and "reply" not in op
        assert op["channel"] == {"$ref": CHANNEL_REF}
        kinds.append(kind)
    assert sorted(kinds) == sorted(EVENTS)
    assert len(doc["operations"]) == len(receives) + len(_operations(doc, "send"))


def test_every_server_message_is_received_somewhere() -> None:
    """Each server message of PROTOCOL.md 3 is a reply of some send operation or a receive operation."""
    doc = asyncapi_document()
    seen = set()
    for op in doc["operations"].values():
        seen |= set(_types(doc, op["messages"] if op["action"] == "receive" else op["reply"]["messages"]))
    assert seen == SERVER_TYPES
    client = {m for op in _operations(doc, "send").values() for m in _types(doc, op["messages"])}
    assert client == set(CLIENT_MESSAGE_TYPES)


def test_operation_and_reply_messages_are_messages_of_their_channel() -> None:
    """AsyncAPI 3.0: an operation's (and a reply's) messages must be a subset of its channel's messages, named
    through the channel."""
    doc = asyncapi_document()
    for key, op in doc["operations"].items():
        for part in [op, op.get("reply")]:
            if part is None:
                continue
            channel = part["channel"]["$ref"]
            for ref in part["messages"]:
                prefix, _, name = ref["$ref"].rpartition("/")
                assert prefix == f"{channel}/messages", (key, ref)
                assert name in _resolve(doc, channel)["messages"], (key, ref)


def test_operation_ids() -> None:
    assert operation_id("send", "workspace.list") == "sendWorkspaceList"
    assert operation_id("receive", "workspace.list_result") == "receiveWorkspaceListResult"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key) for key in asyncapi_document()["operations"])


def test_every_protocol_message_type_appears_once_as_a_message() -> None:
    doc = asyncapi_document()
    names = [message["name"] for message in doc["components"]["messages"].values()]
    assert sorted(names) == sorted(set(CLIENT_MESSAGE_TYPES) | SERVER_TYPES)
    text = COMMITTED.read_text(encoding="utf-8")
    for kind in names:
        assert f"name: {kind}\n" in text, kind


def test_payloads_are_the_protocol_schemas() -> None:
    """Each message's payload is its model's schema from protocol_schema(), refs moved to components/schemas."""
    doc = asyncapi_document()
    base = protocol_schema()
    assert set(doc["components"]["schemas"]) == set(base["$defs"])
    rewritten = json.dumps(base["$defs"], sort_keys=True).replace('"#/$defs/', '"#/components/schemas/')
    assert json.dumps(doc["components"]["schemas"], sort_keys=True) == rewritten
    for message in doc["components"]["messages"].values():
        payload = _resolve(doc, message["payload"]["$ref"])
        assert payload["properties"]["type"]["const"] == message["name"]


def test_every_ref_resolves() -> None:
    doc = asyncapi_document()
    refs = _refs(doc)
    assert refs
    assert not [ref for ref in refs if ref.startswith("#/$defs/")]
    assert sum(ref.startswith(f"{CHANNEL_REF}/messages/") for ref in refs) > len(doc["operations"])  # replies too
    for ref in refs:
        _resolve(doc, ref)


def test_channel_describes_the_query_parameters() -> None:
    doc = asyncapi_document()
    channels = doc["channels"]
    assert [channel["address"] for channel in channels.values()] == ["/ws"]
    (channel,) = channels.values()
    query = channel["bindings"]["ws"]["query"]["properties"]
    assert set(query) == {"project", "token"}
    assert query["project"]["default"] == "default"
    assert all(prop.get("description") for prop in query.values())


_SHARED = {"k": [1, "x"]}


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1, 2.5, 1e-05, True, None, "", "yes", "No", "~", "-x", "x: y", "#c", "1", "é", "\u2028", "\x7f"]},
        {"nested": [[1, [2, {}]], {"k": []}, []], "": {"$ref": "#/x"}, "1": {"a b": [{"e": {"f": None}}]}},
        ['q"\\', "tab\there", "nl\nx", "\ufeff", "\U0001f600", "{}", "[x]", "@a", "*a", "&a", "!a", "|", ">"],
        {"3.0.0": "3.0.0", "1.0": "1.0", "0x1f": "0o17", "long": "word " * 100, "shared": [_SHARED, _SHARED]},
    ],
)
def test_yaml_round_trips(data: Any) -> None:
    text = to_yaml(data, "a comment\nand another")
    assert text.startswith("# a comment\n# and another\n")
    assert yaml.safe_load(text) == data
