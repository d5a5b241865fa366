"""How a job's ``job.status_update`` reaches every connection of its project.

Each stored change of a job carries its announcement (``Fanout.carry``), exactly as workspace changes do:

- ``FANOUT=local``: a ``LocalFanout`` on this process's hub; the engine publishes once the write is acknowledged.
- ``FANOUT=changestream``: every process runs a watcher of its own on the ``jobs`` collection (a
  ``ChangeStreamFanout`` on that collection: same resume token, backoff and history-lost handling as the
  workspaces' watcher) that hands every carried announcement to its own connections, the writing process's
  included; so the writer does not publish locally (no duplicates), and a job run by another process is heard
  everywhere.
"""

from __future__ import annotations

from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection

from app.realtime.fanout import ChangeStreamFanout, Fanout, LocalFanout
from app.realtime.hub import Hub


def job_fanout(
    mode: Literal["local", "changestream"], hub: Hub, collection: AsyncCollection[dict[str, Any]]
) -> tuple[Fanout, ChangeStreamFanout | None]:
    """The fanout the engine writes through, and the watcher to start (and stop) with it, if any."""
    if mode == "changestream":
        watcher = ChangeStreamFanout(hub, collection)
        return watcher, watcher
    return LocalFanout(hub), None
