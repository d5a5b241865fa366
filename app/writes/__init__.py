"""The one write path (``path``), the group commits it is built on (``coalescing``: per document; ``bulk``: across
documents), and what a write announces (``announce``). Services write through it; the realtime layer implements
the ``Fanout`` it announces to. Nothing here imports services or the realtime layer."""

from app.writes.announce import FIELD, Event, Fanout, decode_carried, encode_carried
from app.writes.bulk import BulkUpdater
from app.writes.coalescing import CoalescingWriter
from app.writes.history import History
from app.writes.path import WritePath

__all__ = [
    "FIELD",
    "BulkUpdater",
    "CoalescingWriter",
    "Event",
    "Fanout",
    "History",
    "WritePath",
    "decode_carried",
    "encode_carried",
]
