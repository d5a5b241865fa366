"""Presence (PROTOCOL.md 10.1): connection.ready's list, presence.changed and presence.left to the other
connections of the project (never to the sender), the 10-a-second forwarding with the latest state winning, the
2 KiB limit, the token's sub as ``user``, and the same across two processes (FANOUT=changestream), a SIGKILLed
process's connections included."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_auth_projects import SECRET, token
from tests.support import LiveServer, Message, ServerProcess


def changed(connection_id: str, state: Any = ...) -> Any:
    def match(m: Message) -> bool:
        return (
            m["type"] == "presence.changed"
            and m["connection_id"] == connection_id
            and (state is ... or m["state"] == state)
        )

    return match


def left(connection_id: str) -> Any:
    return lambda m: m["type"] == "presence.left" and m["connection_id"] == connection_id


async def test_presence_reaches_the_others_and_goes_with_the_connection(server: LiveServer) -> None:
    a = await server.connect("room")
    a_id = a.ready["connection_id"]
    assert a.ready["presence"] == []
    await a.send({"type": "presence.update", "state": {"name": "Ana", "workspace_id": "w1", "field": "prompt"}})
    b = await server.connect("room")
    b_id = b.ready["connection_id"]
    await a.expect(changed(b_id, None))  # b opened
    [seat] = b.ready["presence"]
    ana = {"name": "Ana", "workspace_id": "w1", "field": "prompt"}
    assert seat["connection_id"] == a_id and seat["since"]
    if seat["state"] != ana:  # FANOUT=changestream: a's state may still be on its way through the database
        assert seat["state"] is None
        await b.expect(changed(a_id, ana), timeout=10)
    await b.send({"type": "presence.update", "state": {"name": "Bo"}})
    await a.expect(changed(b_id, {"name": "Bo"}))
    other = await server.connect("elsewhere")  # another project hears nothing of these
    assert other.ready["presence"] == []
    await b.close()
    await a.expect(left(b_id))
    assert not [
        m
        for m in await a.nothing_more(0.2, presence=True)
        if m["type"].startswith("presence") and m["connection_id"] == a_id
    ]
    assert await other.nothing_more(presence=True) == []


async def test_at_most_ten_a_second_and_the_latest_wins(server: LiveServer) -> None:
    a = await server.connect("rate")
    b = await server.connect("rate")
    a_id = a.ready["connection_id"]
    started = time.monotonic()
    for n in range(40):
        await a.send({"type": "presence.update", "state": {"n": n}})
    await b.expect(changed(a_id, {"n": 39}), timeout=5)
    elapsed = time.monotonic() - started
    buffered = len(b.buffer)
    before = [m["state"]["n"] for m in b.buffer if changed(a_id)(m) and m["state"]]  # got before the last one
    after = [m for m in (await b.nothing_more(0.3, presence=True))[buffered:] if changed(a_id)(m)]
    assert len(before) + 1 <= elapsed * 10 + 2, (before, elapsed)
    assert len(before) < 10  # 40 updates sent at once: most were replaced before their turn
    assert before == sorted(before)  # in order, and nothing older after the latest
    assert [m for m in after if m["state"] != {"n": 39}] == []


async def test_a_state_over_2_kib_is_refused(server: LiveServer) -> None:
    a = await server.connect("big")
    error = await a.request({"type": "presence.update", "state": {"note": "x" * 2100}})
    assert error["type"] == "error" and error["code"] == "invalid_message"
    fits = {"note": "é" * 1010}  # 2,020 bytes as UTF-8 JSON with its key: allowed
    assert [m for m in await a.nothing_more(0.2) if m["type"] == "error"] == []
    await a.send({"type": "presence.update", "state": fits})
    assert [m for m in await a.nothing_more(0.2) if m["type"] == "error"] == []


async def test_the_tokens_sub_is_the_user(start_server: Any) -> None:
    server: LiveServer = await start_server(auth_jwt_secret=SECRET)
    a = await server.connect("a", token=token("editor"))
    b = await server.connect("a", token=token("viewer"))  # a viewer may say where it looks
    await b.send({"type": "presence.update", "state": {"name": "Vi", "user": "forged"}})
    await a.expect(changed(b.ready["connection_id"], {"name": "Vi", "user": "viewer-user"}))


@pytest.mark.slow
async def test_across_processes_and_after_a_sigkill(start_server: Any, db_uri: str, tmp_path: Path) -> None:
    db = "t_" + uuid.uuid4().hex[:12]
    one: LiveServer = await start_server(mongodb_db=db, fanout="changestream", presence_stale_s=3)
    two: LiveServer = await start_server(mongodb_db=db, fanout="changestream", presence_stale_s=3)
    a = await one.connect("far")
    await a.send({"type": "presence.update", "state": {"name": "Ana"}})
    b = await two.connect("far")
    a_id, b_id = a.ready["connection_id"], b.ready["connection_id"]
    await a.expect(changed(b_id, None), timeout=10)
    assert [p["connection_id"] for p in b.ready["presence"]] == [a_id]
    await b.send({"type": "presence.update", "state": {"name": "Bo"}})
    await a.expect(changed(b_id, {"name": "Bo"}), timeout=10)
    await b.close()
    await a.expect(left(b_id), timeout=10)
    env = {"MONGODB_URI": db_uri, "MONGODB_DB": db, "FANOUT": "changestream", "PRESENCE_STALE_S": "3"}
    doomed = ServerProcess(tmp_path / "doomed", env=env)
    await doomed.start()
    c = await doomed.connect("far")
    c_id = c.ready["connection_id"]
    await a.expect(changed(c_id, None), timeout=10)
    doomed.kill()  # no presence.left from it: another process sweeps its seats
    started = time.monotonic()
    await a.expect(left(c_id), timeout=30)  # PRESENCE_STALE_S=3 here (15 by default): gone within ~4 s
    assert time.monotonic() - started < 10


async def test_beyond_the_seats_of_a_project_a_connection_watches_but_is_not_announced(start_server: Any) -> None:
    server: LiveServer = await start_server(presence_max_seats=2)
    a = await server.connect("full")
    b = await server.connect("full")
    await a.expect(changed(b.ready["connection_id"], None))
    c = await server.connect("full")  # the third: sees who is here, is not announced
    assert sorted(p["connection_id"] for p in c.ready["presence"]) == sorted(
        [a.ready["connection_id"], b.ready["connection_id"]]
    )
    await c.send({"type": "presence.update", "state": {"name": "Cy"}})
    await b.send({"type": "presence.update", "state": {"name": "Bo"}})
    await c.expect(changed(b.ready["connection_id"], {"name": "Bo"}))  # it hears the seated ones
    assert [
        m for m in await a.nothing_more(0.3, presence=True) if m.get("connection_id") == c.ready["connection_id"]
    ] == []
