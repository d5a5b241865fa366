"""The committed AsyncAPI document is current and describes every message of PROTOCOL.md 3."""

from __future__ import annotations

import json
from pathlib import Path

from protocol.asyncapi import asyncapi_document, asyncapi_yaml

COMMITTED = Path(__file__).resolve().parents[2] / "ecosystem" / "asyncapi" / "asyncapi.yaml"
CLIENT = {
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
SERVER = {
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


def test_committed_document_is_current() -> None:
    """ecosystem/asyncapi/asyncapi.yaml equals what the models generate (run generate.py after changing them)."""
    assert COMMITTED.read_text() == asyncapi_yaml()


def test_every_message_is_described() -> None:
    """AsyncAPI 3.0.0; send holds the client messages, receive the server messages; refs resolve."""
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    names = {ref["$ref"].rsplit("/", 1)[1]: None for op in doc["operations"].values() for ref in op["messages"]}
    messages = doc["components"]["messages"]
    assert set(names) == set(messages)
    send = {messages[r["$ref"].rsplit("/", 1)[1]]["name"] for r in doc["operations"]["sendClientMessage"]["messages"]}
    receive = {
        messages[r["$ref"].rsplit("/", 1)[1]]["name"] for r in doc["operations"]["receiveServerMessage"]["messages"]
    }
    assert send == CLIENT and receive == SERVER
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in doc["components"]["schemas"], ref
