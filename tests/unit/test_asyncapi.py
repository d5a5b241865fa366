"""The committed AsyncAPI document (ecosystem/asyncapi/asyncapi.yaml) is current and describes PROTOCOL.md 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.asyncapi import asyncapi_document, asyncapi_yaml, to_yaml
from protocol.schema import protocol_schema

COMMITTED = Path(__file__).resolve().parents[2] / "ecosystem" / "asyncapi" / "asyncapi.yaml"
REGENERATE = "run `.venv/bin/python ecosystem/asyncapi/generate.py` and commit ecosystem/asyncapi/asyncapi.yaml"

# PROTOCOL.md 3.1: every client message type.
CLIENT_TYPES = {
    "ping",
    "workspace.list",
    "workspace.create",
    "workspace.update",
    "workspace.delete",
    "workspace.reorder",
    "video.generate",
    "video.cancel",
    "ai.suggest",
}
# PROTOCOL.md 3: connection.ready, the replies of 3.1, the events of 3.2, the error of 3.3.
SERVER_TYPES = {
    "connection.ready",
    "pong",
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


def _types(doc: dict[str, Any], operation: str) -> set[str]:
    return {_resolve(doc, ref["$ref"])["name"] for ref in doc["operations"][operation]["messages"]}


def test_committed_file_is_current() -> None:
    """Fails when the models changed and nobody regenerated the committed document."""
    assert COMMITTED.exists(), REGENERATE
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi_yaml(), REGENERATE


def test_committed_file_reads_back_as_the_document() -> None:
    """The hand-rolled YAML emitter's output parses (with PyYAML, when installed) to the generated document."""
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8")) == asyncapi_document()


def test_declares_asyncapi_3() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    assert COMMITTED.read_text(encoding="utf-8").count('\nasyncapi: "3.0.0"\n') == 1


def test_every_protocol_message_type_appears() -> None:
    """send holds every client message of PROTOCOL.md 3.1, receive every server message; each is one model."""
    doc = asyncapi_document()
    assert doc["operations"]["send"]["action"] == "send"
    assert doc["operations"]["receive"]["action"] == "receive"
    send, receive = _types(doc, "send"), _types(doc, "receive")
    assert send >= CLIENT_TYPES, CLIENT_TYPES - send
    assert receive >= SERVER_TYPES, SERVER_TYPES - receive
    assert len(doc["operations"]["send"]["messages"]) == len(send)
    assert len(doc["operations"]["receive"]["messages"]) == len(receive)
    for kind in CLIENT_TYPES | SERVER_TYPES:
        assert f"name: {kind}\n" in COMMITTED.read_text(encoding="utf-8"), kind


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


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1, 2.5, 1e-05, True, None, "", "yes", "No", "~", "-x", "x: y", "#c", "1", "é", "\u2028", "\x7f"]},
        {"nested": [[1, [2, {}]], {"k": []}, []], "": {"$ref": "#/x"}, "1": {"a b": [{"e": {"f": None}}]}},
        ['q"\\', "tab\there", "nl\nx", "\ufeff", "\U0001f600", "{}", "[x]", "@a", "*a", "&a", "!a", "|", ">"],
    ],
)
def test_yaml_emitter_round_trips(data: Any) -> None:
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(to_yaml(data, "a comment")) == data
