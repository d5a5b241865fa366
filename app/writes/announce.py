"""What a write announces, and how the announcement can ride on the write itself.

A service describes the events a write makes true, each with the connection that caused it (which gets its own
reply instead). The write path (``app.writes.path``) asks the deployment's ``Fanout`` to ``carry`` them *before*
the write (fields to store with it: empty with ``FANOUT=local``, one ``_fanout`` field with
``FANOUT=changestream``) and tells it ``written`` once the database acknowledged the write. The realtime layer
implements ``Fanout`` (``app.realtime.fanout``); nothing here knows connections.

The carried value is a JSON string (a scalar always shows up whole in a change stream's ``updatedFields``) holding
the project, the already-encoded frames and their senders, and a nonce so two identical events are still two
changes. A delete cannot carry anything, so its event rides on a marking update just before it (``d``: deliver
it when the delete itself comes through).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger

from protocol import encode
from protocol.outbound import ServerMessage

FIELD = "_fanout"
Event = tuple[ServerMessage, str | None]  # (message, id of the sending connection, which must not get it)


class Fanout(Protocol):
    def carry(self, project: str, events: Sequence[Event], *, on_delete: bool = False) -> dict[str, Any]:
        """Fields to store with the write that makes ``events`` true ({} when they travel another way)."""
        ...

    def written(self, project: str, events: Sequence[Event]) -> None:
        """The write is acknowledged."""
        ...


def encode_carried(project: str, events: Sequence[Event], *, on_delete: bool = False) -> dict[str, Any]:
    """The ``_fanout`` field that carries ``events`` with their write."""
    payload: dict[str, Any] = {
        "n": secrets.token_hex(6),
        "p": project,
        "e": [[origin, encode(message)] for message, origin in events],
    }
    if on_delete:
        payload["d"] = 1
    return {FIELD: json.dumps(payload, separators=(",", ":"))}


def decode_carried(raw: Any) -> dict[str, Any] | None:
    """A carried ``_fanout`` value back as ``{"p": project, "e": [[origin, frame], ...], "d"?: 1}``; None when it
    is not one (absent, unreadable, or not ours)."""
    if not isinstance(raw, str):
        return None
    try:
        payload = json.loads(raw)
    except ValueError:
        logger.warning("ignored an unreadable {} value", FIELD)
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("p"), str) or not isinstance(payload.get("e"), list):
        return None
    return payload
