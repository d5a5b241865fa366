"""FANOUT=changestream: several ``python -m app`` processes on one database serve one timeline together.

Each test starts real server processes on one database (the session's embedded SecantusDB, or ``MONGODB_URI``;
the hiccup test starts its own with test commands on) and real WebSocket clients connected to each of them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from app.db import EmbeddedDatabase
from tests.conftest import make_settings
from tests.fakes.runway import VIDEO_BYTES, FakeRunway
from tests.integration.test_video import png
from tests.support import LiveServer, ServerProcess

pytestmark = pytest.mark.slow


def _env(db_uri: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MONGODB_URI": db_uri,
        "MONGODB_DB": "fan_" + re.sub(r"\W", "_", tmp_path.name)[-20:],
        "FANOUT": "changestream",
        "POLL_INTERVAL_S": "0.3",
        **extra,
    }


async def _pair(env: dict[str, str], shared: Path, env_a: dict[str, str] | None = None) -> tuple[ServerProcess, ...]:
    """Two processes on one database and one DATA_DIR (uploads and media on a shared disk)."""
    a = ServerProcess(shared, {**env, **(env_a or {})})
    b = ServerProcess(shared, env)
    await asyncio.gather(a.start(), b.start())
    return a, b


async def _metric(proc: ServerProcess, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(proc.base + "/metrics")).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def _of(kind: str, **fields: Any) -> Any:
    return lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())


async def test_changes_through_one_process_reach_the_clients_of_the_other(tmp_path: Path, db_uri: str) -> None:
    """Create, update, AI exchange, reorder and delete made through either process reach every other tab on
    both; the sender gets its reply and never the broadcast."""
    a, b = await _pair(_env(db_uri, tmp_path), tmp_path / "shared")
    a1, a2, b1 = await a.connect("film"), await a.connect("film"), await b.connect("film")
    other = await b.connect("elsewhere")

    first = await a1.create(title="one", form_data={"prompt": "a kite"})
    for tab in (a2, b1):
        assert (await tab.expect_type("workspace.created"))["workspace"] == first

    reply = await b1.request(
        {"type": "workspace.update", "workspace_id": first["id"], "updates": {"form_data": {"lighting": "noir"}}}
    )
    assert reply["type"] == "workspace.sync_confirm" and reply["version"] == 2
    for tab in (a1, a2):
        m = await tab.expect_type("workspace.updated")
        assert m["workspace_id"] == first["id"] and m["version"] == 2
        assert m["changes"] == {"form_data": {"lighting": "noir"}}

    await a2.send({"type": "ai.suggest", "id": "ai1", "workspace_id": first["id"], "message": "more drama"})
    await a2.expect(_of("ai.suggestion", reply_to="ai1"), timeout=15)
    a2.buffer = [m for m in a2.buffer if m["type"] != "ai.delta"]
    for tab in (a1, b1):
        m = await tab.expect_type("workspace.updated", timeout=10)
        assert [e["role"] for e in m["changes"]["ai_collaboration"]] == ["user", "assistant"] and m["version"] == 3

    second = await b1.create(title="two")
    for tab in (a1, a2):
        await tab.expect(_of("workspace.created"))
    order = [second["id"], first["id"]]
    assert (await a1.request({"type": "workspace.reorder", "order": order}))["order"] == order
    for tab in (a2, b1):
        assert (await tab.expect_type("workspace.reordered"))["order"] == order

    deleted = await b1.request({"type": "workspace.delete", "workspace_id": second["id"]})
    assert deleted["type"] == "workspace.deleted" and deleted["existed"] is True
    for tab in (a1, a2):
        assert (await tab.expect_type("workspace.deleted"))["workspace_id"] == second["id"]

    # Nothing twice, nothing to the sender, nothing to another timeline.
    for tab in (a1, a2, b1):
        assert await tab.nothing_more(0.5) == []
    assert await other.nothing_more(0.1) == []
    listed = await a2.request({"type": "workspace.list"})
    assert [w["id"] for w in listed["workspaces"]] == [first["id"]]
    assert listed["workspaces"][0]["version"] == 3  # the reorder moved only the second card
    assert "_fanout" not in listed["workspaces"][0]


async def test_video_status_reaches_both_and_the_survivor_takes_over_polling(tmp_path: Path, db_uri: str) -> None:
    """A generation started through one process is announced on both; one process polls; SIGKILL it and the
    other takes over polling, announces the rest to its clients and serves the finished video."""
    fake = FakeRunway()
    await fake.start()
    try:
        fake.script.states = [{"status": "RUNNING", "progress": 0.2}]  # until told otherwise
        env = _env(
            db_uri,
            tmp_path,
            VIDEO_PROVIDER="runway",
            RUNWAY_API_KEY="key_" + "cd" * 64,
            RUNWAY_BASE_URL=fake.base_url,
        )
        a, b = await _pair(env, tmp_path / "shared")
        a1, b1 = await a.connect("vid"), await b.connect("vid")
        ws = await a1.create(title="shot", form_data={"prompt": "a red kite"})
        async with httpx.AsyncClient(base_url=a.base) as http:
            r = await http.post(
                "/api/upload/image", files={"image": ("x.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
            )
            assert r.status_code == 201, r.text

        started = await b1.request({"type": "video.generate", "workspace_id": ws["id"]}, timeout=10)
        assert started["type"] == "video.status_update" and started["video"]["status"] == "queued"
        assert (await a1.expect(_of("video.status_update")))["video"]["status"] == "queued"
        for tab in (a1, b1):  # the poller's first progress, announced on both whichever process polls
            m = await tab.expect(lambda m: m.get("type") == "video.status_update" and m["video"]["progress"] == 20)
            assert m["video"]["status"] == "generating"

        states: dict[str, ServerProcess] = {}
        async with httpx.AsyncClient() as http:
            for p in (a, b):
                states[(await http.get(p.base + "/health")).json()["poller"]] = p
        assert set(states) == {"running", "standby"}, states
        leader, survivor = states["running"], states["standby"]
        tab = b1 if survivor is b else a1
        leader.kill()

        task = next(iter(fake.tasks.values()))
        fake.script.states = [{"status": "RUNNING", "progress": 0.2}] * task.polls + [
            {"status": "RUNNING", "progress": 0.6},
            {"status": "SUCCEEDED"},
        ]
        seen = []
        while not seen or seen[-1]["status"] != "completed":
            m = await tab.expect(_of("video.status_update", workspace_id=ws["id"]), timeout=15)
            seen.append(m["video"])
        assert [v["progress"] for v in seen] == [60, 100]
        async with httpx.AsyncClient() as http:
            assert (await http.get(survivor.base + "/health")).json()["poller"] == "running"
            media = await http.get(survivor.base + seen[-1]["url"])
            assert media.status_code == 200 and media.content == VIDEO_BYTES
        await survivor.terminate()
    finally:
        await fake.stop()


@pytest.fixture
async def failpoint_db(tmp_path: Path) -> AsyncIterator[str]:
    """A database of this test's own that accepts ``configureFailPoint`` (a test-only command)."""
    database = EmbeddedDatabase(tmp_path / "fpdb" / "db", extra_args=["--enable-test-commands"])
    yield await database.start()
    await database.stop()


async def test_a_process_resumes_its_stream_after_a_hiccup(tmp_path: Path, failpoint_db: str) -> None:
    """Process A's change stream breaks (the database drops A's getMore and aggregate connections); while it is
    down a change is made through B; when the database lets A back, A resumes from its resume token and its
    client gets that change, once."""
    env = _env(failpoint_db, tmp_path)
    a, b = await _pair(env, tmp_path / "shared", {"MONGODB_URI": failpoint_db + "&appName=procA"})
    a1, b1 = await a.connect("hic"), await b.connect("hic")
    ws = await b1.create(title="before")
    assert (await a1.expect_type("workspace.created"))["workspace"]["id"] == ws["id"]

    admin: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(failpoint_db)
    try:
        fail = {"failCommands": ["getMore", "aggregate"], "closeConnection": True, "appName": "procA"}
        await admin.admin.command("configureFailPoint", "failCommand", mode="alwaysOn", data=fail)
        deadline = time.monotonic() + 10
        while await _metric(a, "workspace_server_fanout_stream_up") == 1:
            assert time.monotonic() < deadline, "A's stream never noticed the failpoint"
            await asyncio.sleep(0.05)
        reply = await b1.request(
            {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "while A was away"}}
        )
        assert reply["type"] == "workspace.sync_confirm"
        assert await a1.nothing_more(0.3) == []  # A cannot hear of it yet
        await admin.admin.command("configureFailPoint", "failCommand", mode="off")
    finally:
        await admin.close()

    m = await a1.expect_type("workspace.updated", timeout=15)
    assert m["workspace_id"] == ws["id"] and m["changes"] == {"title": "while A was away"}
    assert await a1.nothing_more(0.5) == []
    assert await _metric(a, "workspace_server_fanout_stream_resumes_total") >= 1
    assert await _metric(a, "workspace_server_fanout_stream_up") == 1


async def test_when_the_stream_cannot_resume_clients_are_told_to_reload(tmp_path: Path, failpoint_db: str) -> None:
    """A's stream breaks and the database refuses A's resume token (as when the oplog has rolled past it): the
    events in between are lost to A, so A closes its sockets with 1011 (clients reconnect and reload), opens a
    fresh stream, and a client that reconnects hears of later changes again."""
    db_name = "fan_" + re.sub(r"\W", "_", tmp_path.name)[-20:]
    a = LiveServer(
        make_settings(tmp_path / "a", failpoint_db + "&appName=procA", mongodb_db=db_name, fanout="changestream")
    )
    b = LiveServer(make_settings(tmp_path / "b", failpoint_db, mongodb_db=db_name, fanout="changestream"))
    await a.start()
    await b.start()
    try:
        a1, b1 = await a.connect("lost"), await b.connect("lost")
        ws = await b1.create(title="before")
        await a1.expect_type("workspace.created")

        stream = a.runtime.fanout
        admin: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(failpoint_db)
        try:
            fail = {"failCommands": ["getMore", "aggregate"], "closeConnection": True, "appName": "procA"}
            await admin.admin.command("configureFailPoint", "failCommand", mode="alwaysOn", data=fail)
            deadline = time.monotonic() + 10
            while stream.up:
                assert time.monotonic() < deadline, "A's stream never noticed the failpoint"
                await asyncio.sleep(0.05)
            stream.resume_token = {"_data": "00"}  # a token the database cannot resume from
            await b1.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "missed"}})
            await admin.admin.command("configureFailPoint", "failCommand", mode="off")
        finally:
            await admin.close()

        await asyncio.wait_for(a1.ws.wait_closed(), 15)
        assert a1.ws.close_code == 1011
        again = await a.connect("lost")
        await b1.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "after"}})
        m = await again.expect_type("workspace.updated", timeout=10)
        assert m["changes"] == {"title": "after"}
        assert stream.up and stream.resume_token != {"_data": "00"}
    finally:
        await a.stop()
        await b.stop()
