"""One client's bad frame fails nothing but itself (PROTOCOL.md 9.5), over a real server and the real database.

The batched writer puts the updates of every project that are ready together into one ``bulk_write``: an integer
BSON cannot store used to pass validation, make that command raise, and fail the other projects' updates in it
with ``internal``. And the parser kept the last of two equal keys, so ``{"type": "ping", "type":
"workspace.delete", ...}`` deleted a workspace.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support import LiveServer, WsClient

TOO_BIG = 1180591620717411303424  # 2**70, the number of the report
B_CLIENTS = 6
B_UPDATES = 40
A_ATTEMPTS = 30


async def _listed(c: WsClient) -> dict[str, dict[str, Any]]:
    return {w["id"]: w for w in (await c.request({"type": "workspace.list"}))["workspaces"]}


async def _pipelined_updates(c: WsClient, workspace_id: str, prefix: str) -> list[dict[str, Any]]:
    """Sends every update before reading any reply (so that they meet other workspaces' writes in the writer)."""
    ids = [f"{prefix}-{i}" for i in range(B_UPDATES)]
    for i, mid in enumerate(ids):
        await c.send(
            {
                "type": "workspace.update",
                "id": mid,
                "workspace_id": workspace_id,
                "updates": {"form_data": {"n": i, "prompt": f"take {i}"}},
            }
        )
    return [await c.expect(lambda m, mid=mid: m.get("reply_to") == mid, timeout=20) for mid in ids]


async def _attacks(c: WsClient, workspace_id: str) -> list[dict[str, Any]]:
    """Out-of-range integers in every place of a form the writer would store, interleaved with the others."""
    values: list[Any] = [TOO_BIG, -TOO_BIG, [1, TOO_BIG], {"deep": {"er": TOO_BIG}}, 2**63]
    replies = []
    for i in range(A_ATTEMPTS):
        bad = values[i % len(values)]
        replies.append(
            await c.request(
                {"type": "workspace.update", "workspace_id": workspace_id, "updates": {"form_data": {"v": bad}}},
                timeout=20,
            )
        )
    return replies


async def test_an_out_of_range_integer_fails_alone_and_other_projects_writes_all_land(server: LiveServer) -> None:
    """Project A's client sends form values beyond int64 while six tabs of project B pipeline valid updates: A gets
    invalid_message located at the value and nothing of it is stored; every one of B's updates is confirmed."""
    a = await server.connect("isolation-a")
    target = await a.create(title="a", form_data={"prompt": "keep"})
    tabs = [await server.connect("isolation-b") for _ in range(B_CLIENTS)]
    spaces = [await tab.create(title=f"b{i}") for i, tab in enumerate(tabs)]

    attacked, *written = await asyncio.gather(
        _attacks(a, target["id"]),
        *(_pipelined_updates(tab, ws["id"], f"b{i}") for i, (tab, ws) in enumerate(zip(tabs, spaces, strict=True))),
    )

    for replies in written:
        assert [r["type"] for r in replies] == ["workspace.sync_confirm"] * B_UPDATES, [
            r for r in replies if r["type"] != "workspace.sync_confirm"
        ][:3]
    final = await _listed(tabs[0])
    for ws in spaces:
        assert final[ws["id"]]["form_data"] == {"n": B_UPDATES - 1, "prompt": f"take {B_UPDATES - 1}"}

    for reply in attacked:
        assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
        assert reply["details"][0]["loc"][:3] == ["updates", "form_data", "v"], reply
    stored = (await _listed(a))[target["id"]]
    assert stored["form_data"] == {"prompt": "keep"} and stored["version"] == target["version"]


async def test_a_duplicate_type_key_is_invalid_json_and_deletes_nothing(server: LiveServer) -> None:
    """The frame of the report, {"type":"ping","type":"workspace.delete",...}, is refused as invalid_json: the
    workspace is still there, and no other tab hears of a delete."""
    c, other = await server.connect("dupkeys"), await server.connect("dupkeys")
    ws = await c.create(title="survivor")
    await other.expect_type("workspace.created")
    await c.send(f'{{"type":"ping","type":"workspace.delete","workspace_id":"{ws["id"]}","id":"d1"}}')
    reply = await c.expect(lambda m: m["type"] in {"error", "workspace.deleted"})
    assert reply["type"] == "error" and reply["code"] == "invalid_json", reply
    assert "duplicate key 'type'" in reply["message"], reply
    assert ws["id"] in await _listed(c)
    assert [m for m in await other.nothing_more() if m["type"] == "workspace.deleted"] == []


async def test_a_duplicate_key_deep_in_an_update_is_invalid_json_and_changes_nothing(server: LiveServer) -> None:
    """A repeated key inside updates (or deeper, in form_data) is refused too; the workspace keeps its values."""
    c = await server.connect("dupdeep")
    ws = await c.create(title="t", form_data={"prompt": "p"})
    head = f'{{"type":"workspace.update","id":"u1","workspace_id":"{ws["id"]}","updates":'
    for body in ('{"title":"a","title":"b"}', '{"form_data":{"x":{"k":1,"k":2}}}', '{"title":"a","t\\u0069tle":"b"}'):
        await c.send(head + body + "}")
        reply = await c.expect(lambda m: m["type"] in {"error", "workspace.sync_confirm"})
        assert reply["type"] == "error" and reply["code"] == "invalid_json", (body, reply)
    stored = (await _listed(c))[ws["id"]]
    assert (stored["title"], stored["form_data"], stored["version"]) == ("t", {"prompt": "p"}, ws["version"])
    ok = await c.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": "fine"}})
    assert ok["type"] == "workspace.sync_confirm", json.dumps(ok)
