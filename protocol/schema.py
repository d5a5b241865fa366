"""JSON Schema of every WebSocket message (served at ``GET /api/protocol``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from protocol.codec import OMIT_WHEN_NONE
from protocol.codes import PROTOCOL_VERSION
from protocol.inbound import ClientMessage
from protocol.outbound import ServerEvent


def protocol_schema() -> dict[str, Any]:
    client = TypeAdapter(ClientMessage).json_schema(ref_template="#/$defs/{model}")
    server = TypeAdapter(ServerEvent).json_schema(ref_template="#/$defs/{model}", mode="serialization")
    server_defs = server.pop("$defs", {})
    for definition in server_defs.values():  # encode() leaves these out when unset: not required
        if "required" in definition:
            definition["required"] = [n for n in definition["required"] if n not in OMIT_WHEN_NONE]
    defs = {**client.pop("$defs", {}), **server_defs}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Workspace server WebSocket protocol",
        "protocol": PROTOCOL_VERSION,
        "client_message": client,
        "server_message": server,
        "$defs": defs,
    }
