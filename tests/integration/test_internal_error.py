"""An internal error in a WebSocket handler is one error: one log line, under the correlation id the reply gives."""

from __future__ import annotations

import re

from loguru import logger

from tests.support import LiveServer


async def test_one_internal_error_one_log_line_one_id(server: LiveServer) -> None:
    """The client's reply names a correlation id; the log holds exactly one internal-error line, with that id
    (before, the error was mapped twice and logged under two ids, one of which the client never saw)."""

    async def broken(project: str) -> list:
        raise RuntimeError("a bug in list_all")

    server.runtime.workspaces.list_all = broken
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message}")
    try:
        c = await server.connect("bug")
        reply = await c.request({"type": "workspace.list"})
        pong = await c.request({"type": "ping"})  # the connection stays usable
    finally:
        logger.remove(sink)
    assert reply["type"] == "error" and reply["code"] == "internal" and pong["type"] == "pong"
    correlation = reply["details"]["correlation_id"]
    internal = [line for line in lines if line.startswith("internal error")]
    assert len(internal) == 1, internal
    assert re.match(rf"internal error {correlation}: RuntimeError", internal[0])
