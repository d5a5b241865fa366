"""``python -m app`` as a real process: durability across kill -9, leftover database children, idempotent
create across restarts, graceful shutdown; and the database going away under a live server."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.db import EmbeddedDatabase
from tests.conftest import make_settings
from tests.support import LiveServer, ServerProcess

pytestmark = pytest.mark.slow


async def _list(proc: ServerProcess, project: str = "default") -> list[dict]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{proc.base}/api/workspaces", params={"project": project})).json()["workspaces"]


async def test_confirmed_changes_survive_kill_9_of_the_process_group(tmp_path: Path) -> None:
    """Every change confirmed before SIGKILL of the server and its embedded database is there after a restart."""
    proc = ServerProcess(tmp_path / "data")
    await proc.start()
    c = await proc.connect()
    ids = [
        (await c.request({"type": "workspace.create", "workspace": {"title": f"w{i}"}}))["workspace"]["id"]
        for i in range(5)
    ]
    for n in range(40):
        for wid in ids:
            await c.send(
                {
                    "type": "workspace.update",
                    "id": f"{wid}-{n}",
                    "workspace_id": wid,
                    "updates": {"form_data": {"n": n}},
                }
            )
    confirmed: dict[str, int] = {}
    for _ in range(200):
        m = await c.expect_type("workspace.sync_confirm", timeout=30)
        wid, n = m["reply_to"].rsplit("-", 1)
        confirmed[wid] = max(confirmed.get(wid, -1), int(n))
    assert proc.proc is not None
    os.killpg(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait()
    restarted = ServerProcess(tmp_path / "data", port=proc.port)
    await restarted.start()
    try:
        stored = {w["id"]: w["form_data"]["n"] for w in await _list(restarted)}
        assert stored == {wid: 39 for wid in ids} == confirmed
    finally:
        await restarted.terminate()


async def test_restart_after_kill_9_with_leftover_database_child(tmp_path: Path) -> None:
    """Killing only the server leaves its database child; the next start on the same DATA_DIR still works."""
    proc = ServerProcess(tmp_path / "data")
    await proc.start()
    c = await proc.connect()
    made = await c.request({"type": "workspace.create", "id": "keep", "workspace": {"title": "kept"}})
    proc.kill()
    restarted = ServerProcess(tmp_path / "data", port=proc.port)
    await restarted.start()
    try:
        assert [w["id"] for w in await _list(restarted)] == [made["workspace"]["id"]]
        c2 = await restarted.connect()
        again = await c2.request({"type": "workspace.create", "id": "keep", "workspace": {"title": "new"}})
        assert again["workspace"]["id"] == made["workspace"]["id"] and again["workspace"]["title"] == "kept"
        await c2.close()
    finally:
        assert await restarted.terminate() == 0


async def test_sigterm_confirms_received_updates_then_closes_1001(tmp_path: Path) -> None:
    """On SIGTERM every update gets a reply (confirmed ones are stored), sockets close with 1001, exit 0, and the
    embedded database is stopped."""
    proc = ServerProcess(tmp_path / "data")
    await proc.start()
    c = await proc.connect()
    wid = (await c.request({"type": "workspace.create", "workspace": {}}))["workspace"]["id"]
    for i in range(30):
        await c.send(
            {"type": "workspace.update", "id": f"u{i}", "workspace_id": wid, "updates": {"form_data": {"i": i}}}
        )
    assert proc.proc is not None
    proc.proc.send_signal(signal.SIGTERM)
    replies: dict[str, dict] = {}
    with pytest.raises(ConnectionClosed) as info:
        while True:
            m = await c.recv(timeout=20)
            if m.get("reply_to"):
                replies[m["reply_to"]] = m
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    assert await proc.terminate() == 0
    db_pid_file = tmp_path / "data" / "db.pid"
    assert not db_pid_file.exists()
    confirmed = [int(k[1:]) for k, m in replies.items() if m["type"] == "workspace.sync_confirm"]
    assert all(m["type"] == "workspace.sync_confirm" or m["code"] == "unavailable" for m in replies.values())
    assert confirmed, "at least the updates received before SIGTERM are confirmed"
    restarted = ServerProcess(tmp_path / "data", port=proc.port)
    await restarted.start()
    try:
        stored = (await _list(restarted))[0]["form_data"]["i"]
        assert stored >= max(confirmed)
    finally:
        await restarted.terminate()


async def test_database_down_answers_unavailable_and_recovers(tmp_path: Path) -> None:
    """With the database gone: writes answer unavailable and change nothing, /health is 503 degraded; when it is
    back, the same server works again by itself."""
    database = EmbeddedDatabase(tmp_path / "db", log_file=tmp_path / "db.log")
    uri = await database.start()
    server = LiveServer(make_settings(tmp_path / "data", uri, db_timeout_ms=800))
    await server.start()
    try:
        c = await server.connect()
        ws = (await c.request({"type": "workspace.create", "workspace": {"title": "before"}}))["workspace"]
        port = database.port
        await database.stop()
        reply = await c.request(
            {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "x"}}, timeout=30
        )
        assert reply["type"] == "error" and reply["code"] == "unavailable", reply
        created = await c.request({"type": "workspace.create", "workspace": {}}, timeout=30)
        assert created["code"] == "unavailable"
        async with server.http() as http:
            health = await http.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "degraded"
        database = EmbeddedDatabase(tmp_path / "db", port=port, log_file=tmp_path / "db.log")
        await database.start()
        for _ in range(100):  # the driver reconnects on its own; give its monitor a moment
            reply = await c.request(
                {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "after"}}, timeout=30
            )
            if reply["type"] == "workspace.sync_confirm":
                break
            await asyncio.sleep(0.1)
        assert reply["type"] == "workspace.sync_confirm", reply
        listed = (await c.request({"type": "workspace.list"}))["workspaces"]
        assert [w["title"] for w in listed] == ["after"]
        async with server.http() as http:
            assert (await http.get("/health")).status_code == 200
    finally:
        await server.stop()
        await database.stop()


async def test_poller_lease_survives_a_killed_leader(tmp_path: Path, db_uri: str) -> None:
    """Two server processes on one database: one polls, the other stands by; when the poller is killed with
    SIGKILL (no lease release), the other takes over within a few intervals."""
    env = {
        "MONGODB_URI": db_uri,
        "MONGODB_DB": "lease_" + tmp_path.name[-12:].replace("-", "_"),
        "POLL_INTERVAL_S": "0.3",
    }
    first, second = ServerProcess(tmp_path / "a", env), ServerProcess(tmp_path / "b", env)
    await first.start()
    await second.start()

    async def states() -> dict[str, ServerProcess]:
        async with httpx.AsyncClient() as http:
            return {(await http.get(p.base + "/health")).json()["poller"]: p for p in (first, second)}

    seen: dict[str, ServerProcess] = {}
    for _ in range(100):
        seen = await states()
        if set(seen) == {"running", "standby"}:
            break
        await asyncio.sleep(0.1)
    assert set(seen) == {"running", "standby"}, seen
    leader, follower = seen["running"], seen["standby"]
    leader.kill()
    started = asyncio.get_running_loop().time()
    async with httpx.AsyncClient() as http:
        while (await http.get(follower.base + "/health")).json()["poller"] != "running":
            assert asyncio.get_running_loop().time() - started < 5, "no takeover within 5 s (lease TTL 0.9 s)"
            await asyncio.sleep(0.1)
    await follower.terminate()
