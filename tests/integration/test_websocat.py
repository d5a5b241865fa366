"""The websocat recipes of the README work: protocol lines piped through the real websocat binary."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.support import LiveServer

WEBSOCAT = shutil.which("websocat", path=str(Path(sys.executable).parent)) or shutil.which("websocat")


@pytest.mark.skipif(WEBSOCAT is None, reason="websocat binary not installed (dev extra ships it)")
async def test_websocat_session(server: LiveServer) -> None:
    """create, update, list and a bad line typed through websocat get their replies in order."""
    assert WEBSOCAT is not None
    c = await server.connect("cli")
    wid = (await c.create(title="made elsewhere"))["id"]
    lines = [
        {
            "type": "workspace.create",
            "id": "create-8d1f0b6e2c4a",
            "workspace": {"title": "Opening", "form_data": {"prompt": "a red kite"}},
        },
        {
            "type": "workspace.update",
            "id": "m2",
            "workspace_id": wid,
            "updates": {"form_data": {"camera_movement": "pan_left"}},
        },
        {"type": "workspace.list", "id": "m3"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    proc = await asyncio.create_subprocess_exec(
        WEBSOCAT,
        "-t",
        "-n",
        server.ws_url("cli"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(stdin.encode())
    await proc.stdin.drain()
    replies: dict[str, dict] = {}
    errors = []
    try:
        while len(replies) < 3 or not errors:
            m = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
            if "reply_to" in m:
                replies[m["reply_to"]] = m
            elif m["type"] == "error":
                errors.append(m)
    finally:
        proc.kill()
        await proc.wait()
    assert replies["create-8d1f0b6e2c4a"]["type"] == "workspace.created"
    assert replies["m2"]["type"] == "workspace.sync_confirm"
    assert replies["m3"]["type"] == "workspace.list_result"
    listed = await c.request({"type": "workspace.list"})
    assert [w["title"] for w in listed["workspaces"]] == ["made elsewhere", "Opening"]
    assert errors[0]["code"] == "invalid_json"
    event = await c.expect_type("workspace.updated")
    assert event["changes"] == {"form_data": {"camera_movement": "pan_left"}}


RECIPES = Path(__file__).resolve().parents[2] / "ecosystem" / "websocat"


@pytest.mark.skipif(WEBSOCAT is None, reason="websocat binary not installed (dev extra ships it)")
async def test_create_recipes_run_at_once_make_two_workspaces(server: LiveServer) -> None:
    """Creates are idempotent by (project, id) for every client, so the recipes' ids must never collide: two
    create.sh started at the same moment make two workspaces, not one workspace answered twice."""
    env = {"WS_URL": server.ws_url(), "PROJECT": "recipes", "WEBSOCAT": str(WEBSOCAT), "PATH": "/usr/bin:/bin"}

    async def create(title: str) -> dict:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            str(RECIPES / "create.sh"),
            title,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out
        frames = [json.loads(line) for line in out.decode().splitlines()]
        # its own reply: the other recipe's create may reach it first as an event (no reply_to)
        return next(m for m in frames if m.get("type") == "workspace.created" and "reply_to" in m)

    first, second = await asyncio.gather(create("one"), create("two"))
    assert first["reply_to"] != second["reply_to"]
    assert first["workspace"]["id"] != second["workspace"]["id"]
    c = await server.connect("recipes")
    listed = await c.request({"type": "workspace.list"})
    assert sorted(w["title"] for w in listed["workspaces"]) == ["one", "two"]
