"""``/livez`` and ``/readyz`` (PROTOCOL.md 9.4): liveness checks nothing; readiness is the database answering, the
change stream followed (``FANOUT=changestream``) and the server not shutting down. Both need no token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import LiveServer

BODY_KEYS = {"status", "db", "poller", "connections", "version"}  # /health's shape


async def probe(server: LiveServer, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with server.http() as http:
        r = await http.get(path, **kwargs)
    body = r.json()
    assert set(body) == BODY_KEYS, body
    return r.status_code, body


async def test_ready_and_live_without_a_token(start_server) -> None:
    """With AUTH_TOKEN set, /livez and /readyz answer 200 with /health's body and no token (others need it)."""
    server = await start_server(auth_token="s3cret-token-" + "x" * 20)
    code, body = await probe(server, "/livez")
    assert code == 200 and body["status"] == "ok"
    code, body = await probe(server, "/readyz")
    assert code == 200 and body["status"] == "ok" and body["db"] == "ok"
    async with server.http() as http:
        assert (await http.get("/api/workspaces")).status_code == 401


async def test_not_ready_while_the_database_is_down(start_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database monitor says down: /readyz 503 ``degraded`` (as /health), /livez still 200; back up: 200."""
    server = await start_server()
    health = server.runtime.db_health

    async def down() -> bool:
        health.up = False
        return False

    monkeypatch.setattr(health, "check", down)  # the monitor's own pings now say down too
    health.up = False
    code, body = await probe(server, "/readyz")
    assert (code, body["status"], body["db"]) == (503, "degraded", "unreachable")
    assert (await probe(server, "/livez"))[0] == 200
    monkeypatch.undo()
    health.up = True
    assert (await probe(server, "/readyz"))[0] == 200


async def test_not_ready_while_shutting_down(start_server) -> None:
    """Draining (SIGTERM received): /readyz 503 ``draining`` so the load balancer stops sending; /livez 200."""
    server = await start_server()
    assert (await probe(server, "/readyz"))[0] == 200
    server.runtime.shutting_down = True
    try:
        code, body = await probe(server, "/readyz")
        assert (code, body["status"]) == (503, "draining")
        assert (await probe(server, "/livez"))[0] == 200
    finally:
        server.runtime.shutting_down = False


async def test_not_ready_while_the_change_stream_is_down(start_server) -> None:
    """FANOUT=changestream: while the stream is not followed, other processes' events would not arrive: 503."""
    server = await start_server(fanout="changestream")
    fanout = server.runtime.fanout
    assert fanout.up and (await probe(server, "/readyz"))[0] == 200
    fanout.up = False
    try:
        code, body = await probe(server, "/readyz")
        assert (code, body["status"], body["db"]) == (503, "starting", "ok")
        assert (await probe(server, "/livez"))[0] == 200
    finally:
        fanout.up = True
    assert (await probe(server, "/readyz"))[0] == 200
