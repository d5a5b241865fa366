"""Shot history and restore (PROTOCOL.md 10.2) over the wire: an entry per stored write with its author, the
coalesced write's entry holding the merged patch, restore as a forward change heard by the other tabs, the
200-entry bound, the REST route, and the history surviving a restart."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.integration.test_auth_projects import SECRET, bearer, token
from tests.support import LiveServer, Message, WsClient


async def history(client: WsClient, workspace_id: str, **fields: Any) -> list[Message]:
    reply = await client.request({"type": "workspace.history", "workspace_id": workspace_id, **fields})
    assert reply["type"] == "workspace.history_result", reply
    entries: list[Message] = reply["entries"]
    return entries


async def update(client: WsClient, workspace_id: str, **updates: Any) -> Message:
    reply = await client.request({"type": "workspace.update", "workspace_id": workspace_id, "updates": updates})
    assert reply["type"] == "workspace.sync_confirm", reply
    return reply


async def test_every_confirmed_version_has_its_entry_even_when_coalesced(server: LiveServer) -> None:
    a = await server.connect("hist")
    ws = await a.create(title="first", form_data={"prompt": "a cat"})
    ids = [a.next_id() for _ in range(12)]
    for n, message_id in enumerate(ids):  # pipelined: the writer coalesces them
        await a.send(
            {
                "type": "workspace.update",
                "id": message_id,
                "workspace_id": ws["id"],
                "updates": {"form_data": {"seed": n}},
            }
        )
    confirms = [await a.expect(lambda m, i=i: m.get("reply_to") == i) for i in ids]
    versions = {c["version"] for c in confirms}
    assert len(versions) < len(ids)  # some shared a write
    entries = await history(a, ws["id"], limit=100)
    by_version = {e["version"]: e for e in entries}
    assert versions <= set(by_version)
    assert by_version[1]["changes"] == {"title": "first", "form_data": {"prompt": "a cat"}}
    last = max(versions)
    assert by_version[last]["changes"]["form_data"]["seed"] == 11  # the merged patch: the latest value
    assert [e["version"] for e in entries] == sorted(by_version, reverse=True)  # newest first
    assert all(e["by"] == {"connection_id": a.ready["connection_id"], "user": None} for e in entries)
    older = await history(a, ws["id"], before_version=last, limit=1)
    assert len(older) == 1 and older[0]["version"] < last


async def test_restore_is_a_forward_change_the_other_tabs_hear(server: LiveServer) -> None:
    a = await server.connect("rest")
    b = await server.connect("rest")
    ws = await a.create(title="v1", form_data={"prompt": "sea", "lighting": "night"})
    await update(a, ws["id"], title="v2", form_data={"prompt": "city", "lighting": None, "seed": 4})
    confirm = await a.request({"type": "workspace.restore", "workspace_id": ws["id"], "version": 1})
    assert confirm["type"] == "workspace.sync_confirm" and confirm["version"] == 3
    heard = await b.expect(lambda m: m["type"] == "workspace.updated" and m["version"] == 3)
    assert heard["changes"] == {"title": "v1", "form_data": {"prompt": "sea", "lighting": "night", "seed": None}}
    stored = (await a.request({"type": "workspace.list"}))["workspaces"][0]
    assert stored["title"] == "v1" and stored["form_data"] == {"prompt": "sea", "lighting": "night"}
    entries = await history(b, ws["id"])
    assert entries[0]["version"] == 3 and entries[0]["changes"] == heard["changes"]
    for version in (99, 0):
        error = await a.request({"type": "workspace.restore", "workspace_id": ws["id"], "version": version})
        assert error["type"] == "error" and error["code"] == ("not_found" if version else "invalid_message")
    error = await a.request({"type": "workspace.restore", "workspace_id": "0" * 24, "version": 1})
    assert error["code"] == "not_found"


async def test_only_the_newest_entries_beyond_the_bound_are_kept(server: LiveServer) -> None:
    a = await server.connect("bound")
    ws = await a.create(title="t")
    for n in range(240):
        await update(a, ws["id"], form_data={"seed": n})
    kept = server.runtime.workspaces.history
    while kept._trims:  # the trims started after every 25th entry
        await asyncio.gather(*list(kept._trims))
    versions = [d["version"] async for d in kept.collection.find({"workspace_id": ws["id"]}, {"version": 1})]
    assert 200 <= len(versions) < 225 and max(versions) == 241
    assert sorted(versions) == list(range(242 - len(versions), 242))  # the newest, none missing
    error = await a.request({"type": "workspace.restore", "workspace_id": ws["id"], "version": 1})
    assert error["code"] == "not_found"  # no longer kept


async def test_server_owned_changes_make_no_entry_and_rest_reads_history(start_server: Any) -> None:
    server: LiveServer = await start_server(auth_jwt_secret=SECRET)
    editor = await server.connect("a", token=token("editor"))
    ws = await editor.create(title="x")
    await update(editor, ws["id"], title="y")
    await editor.request({"type": "workspace.reorder", "order": [ws["id"]]})  # server-owned: no entry
    async with server.http() as http:
        r = await http.get(f"/api/workspaces/{ws['id']}/history", params={"limit": 5}, headers=bearer(token("viewer")))
        assert r.status_code == 200
        body = r.json()
        assert body["workspace_id"] == ws["id"] and [e["version"] for e in body["entries"]] == [2, 1]
        assert body["entries"][0]["by"] == {"connection_id": editor.ready["connection_id"], "user": "editor-user"}
        other = await http.get(f"/api/workspaces/{ws['id']}/history", headers=bearer(token("viewer", ["b"])))
        assert other.status_code == 404
        bad = await http.get(
            f"/api/workspaces/{ws['id']}/history", params={"limit": 0}, headers=bearer(token("viewer"))
        )
        assert bad.status_code == 400
    viewer = await server.connect("a", token=token("viewer"))
    refused = await viewer.request({"type": "workspace.restore", "workspace_id": ws["id"], "version": 1})
    assert refused["code"] == "forbidden"
    assert len(await history(viewer, ws["id"])) == 2  # a read: viewers may


async def test_history_survives_a_restart(start_server: Any) -> None:
    db = "t_" + uuid.uuid4().hex[:12]
    first: LiveServer = await start_server(mongodb_db=db)
    a = await first.connect("keep")
    ws = await a.create(title="one")
    await update(a, ws["id"], title="two")
    await first.stop()
    second: LiveServer = await start_server(mongodb_db=db)
    b = await second.connect("keep")
    assert [e["changes"] for e in await history(b, ws["id"])] == [{"title": "two"}, {"title": "one"}]
    confirm = await b.request({"type": "workspace.restore", "workspace_id": ws["id"], "version": 1})
    assert confirm["version"] == 3
