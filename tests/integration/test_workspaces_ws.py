"""The workspace messages of PROTOCOL.md 3.1/3.2 over a real WebSocket against the real database."""

from __future__ import annotations

import asyncio

from tests.support import LiveServer


async def test_create_reply_and_broadcast_only_to_others(server: LiveServer) -> None:
    """A create is confirmed to the sender (with reply_to) and announced once to the other tab, not to itself."""
    a, b = await server.connect(), await server.connect()
    reply = await a.request({"type": "workspace.create", "id": "c1", "workspace": {"title": "Opening"}})
    ws = reply["workspace"]
    assert reply["type"] == "workspace.created" and reply["reply_to"] == "c1"
    assert len(ws["id"]) == 24 and ws["title"] == "Opening" and ws["version"] == 1 and ws["project"] == "default"
    assert ws["video"]["status"] == "idle" and ws["ai_collaboration"] == [] and ws["created_at"].endswith("Z")
    event = await b.expect_type("workspace.created")
    assert event["workspace"] == ws and "reply_to" not in event
    assert [m for m in await a.nothing_more() if m["type"] == "workspace.created"] == []


async def test_projects_are_isolated(server: LiveServer) -> None:
    """Events and lists of one project never reach another project's connections."""
    a, other = await server.connect("alpha"), await server.connect("beta")
    await a.create(title="only alpha")
    assert await other.nothing_more() == []
    listed = await other.request({"type": "workspace.list"})
    assert listed["workspaces"] == []


async def test_create_with_position_and_list_order(server: LiveServer) -> None:
    """position inserts into the timeline; workspace.list returns timeline order."""
    c = await server.connect("pos")
    first = await c.create(title="A")
    last = await c.create(title="C")
    reply = await c.request({"type": "workspace.create", "workspace": {"title": "B"}, "position": 1})
    front = await c.request({"type": "workspace.create", "workspace": {"title": "0"}, "position": 0})
    far = await c.request({"type": "workspace.create", "workspace": {"title": "Z"}, "position": 99})
    listed = await c.request({"type": "workspace.list"})
    assert [w["title"] for w in listed["workspaces"]] == ["0", "A", "B", "C", "Z"]
    assert first["order_index"] < reply["workspace"]["order_index"] < last["order_index"]
    assert front["workspace"]["order_index"] < first["order_index"] < far["workspace"]["order_index"]


async def test_update_patches_form_data_and_null_removes(server: LiveServer) -> None:
    """form_data in updates is a partial patch; null removes a key; others get the stored patch."""
    a, b = await server.connect("upd"), await server.connect("upd")
    ws = await a.create(title="t", form_data={"prompt": "kite", "seed": 3, "lighting": "noon"})
    await b.expect_type("workspace.created")
    reply = await a.request(
        {
            "type": "workspace.update",
            "workspace_id": ws["id"],
            "updates": {"title": "t2", "form_data": {"camera_movement": "pan_left", "seed": None}},
        }
    )
    assert reply["type"] == "workspace.sync_confirm" and reply["workspace_id"] == ws["id"]
    assert reply["version"] > ws["version"] and reply["updated_at"].endswith("Z")
    event = await b.expect_type("workspace.updated")
    assert event["changes"] == {"title": "t2", "form_data": {"camera_movement": "pan_left", "seed": None}}
    assert event["version"] == reply["version"] and event["workspace_id"] == ws["id"]
    listed = (await a.request({"type": "workspace.list"}))["workspaces"][0]
    assert listed["form_data"] == {"prompt": "kite", "lighting": "noon", "camera_movement": "pan_left"}
    assert listed["title"] == "t2" and listed["version"] == reply["version"]
    assert [m for m in await a.nothing_more() if m["type"] == "workspace.updated"] == []


async def test_update_unknown_workspace_is_not_found(server: LiveServer) -> None:
    """An update of a workspace that does not exist (or is in another project) answers not_found."""
    a, b = await server.connect("nf1"), await server.connect("nf2")
    ws = await a.create(title="x")
    for client, wid in ((a, "0" * 24), (b, ws["id"])):
        reply = await client.request({"type": "workspace.update", "workspace_id": wid, "updates": {"title": "y"}})
        assert reply["type"] == "error" and reply["code"] == "not_found", reply
    listed = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert listed[0]["title"] == "x" and listed[0]["version"] == 1


async def test_delete_and_existed(server: LiveServer) -> None:
    """Delete answers existed true then false; the other tab hears of it once."""
    a, b = await server.connect("del"), await server.connect("del")
    ws = await a.create(title="gone")
    first = await a.request({"type": "workspace.delete", "workspace_id": ws["id"]})
    second = await a.request({"type": "workspace.delete", "workspace_id": ws["id"]})
    assert first["type"] == "workspace.deleted" and first["existed"] is True
    assert second["existed"] is False
    event = await b.expect_type("workspace.deleted")
    assert event["workspace_id"] == ws["id"] and "reply_to" not in event
    assert [m for m in await b.nothing_more() if m["type"] == "workspace.deleted"] == []


async def test_delete_waits_for_pending_updates(server: LiveServer) -> None:
    """Updates sent before a delete are confirmed before the delete is."""
    c = await server.connect("delwait")
    ws = await c.create()
    for i in range(10):
        await c.send(
            {"type": "workspace.update", "id": f"u{i}", "workspace_id": ws["id"], "updates": {"title": str(i)}}
        )
    await c.send({"type": "workspace.delete", "id": "d", "workspace_id": ws["id"]})
    seen = []
    while "d" not in seen:
        m = await c.recv()
        seen.append(m.get("reply_to"))
        if m.get("reply_to", "").startswith("u"):
            assert m["type"] == "workspace.sync_confirm", m
    assert seen.index("d") == len(seen) - 1 and {f"u{i}" for i in range(10)} <= set(seen)


async def test_reorder_and_conflict(server: LiveServer) -> None:
    """A permutation is confirmed and announced; anything else is conflict with missing/unknown."""
    a, b = await server.connect("ro"), await server.connect("ro")
    ids = [(await a.create(title=str(i)))["id"] for i in range(4)]
    new = [ids[2], ids[0], ids[3], ids[1]]
    reply = await a.request({"type": "workspace.reorder", "order": new})
    assert reply["type"] == "workspace.reorder_confirm" and reply["order"] == new
    event = await b.expect_type("workspace.reordered")
    assert event["order"] == new
    listed = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert [w["id"] for w in listed] == new
    bad = await a.request({"type": "workspace.reorder", "order": [ids[0], ids[1], "f" * 24]})
    assert bad["type"] == "error" and bad["code"] == "conflict"
    assert sorted(bad["details"]["missing"]) == sorted([ids[2], ids[3]]) and bad["details"]["unknown"] == ["f" * 24]
    dup = await a.request({"type": "workspace.reorder", "order": [ids[0], ids[0], ids[1], ids[2], ids[3]]})
    assert dup["code"] == "conflict"
    assert [w["id"] for w in (await a.request({"type": "workspace.list"}))["workspaces"]] == new


async def test_moving_one_card_rewrites_one_document(server: LiveServer) -> None:
    """Moving one card changes the order_index of that card only."""
    c = await server.connect("move")
    ids = [(await c.create(title=str(i)))["id"] for i in range(8)]
    before = {w["id"]: w for w in (await c.request({"type": "workspace.list"}))["workspaces"]}
    order = ids[:2] + ids[3:6] + [ids[2]] + ids[6:]
    await c.request({"type": "workspace.reorder", "order": order})
    after = {w["id"]: w for w in (await c.request({"type": "workspace.list"}))["workspaces"]}
    changed = [i for i in ids if after[i]["order_index"] != before[i]["order_index"]]
    assert changed == [ids[2]] and after[ids[2]]["version"] == before[ids[2]]["version"] + 1


async def test_idempotent_create_by_message_id(server: LiveServer) -> None:
    """A create re-sent with the same id returns the same workspace, also on a new connection."""
    a = await server.connect("idem")
    one = await a.request({"type": "workspace.create", "id": "same", "workspace": {"title": "once"}})
    b = await server.connect("idem")
    two = await b.request({"type": "workspace.create", "id": "same", "workspace": {"title": "twice"}})
    assert one["workspace"]["id"] == two["workspace"]["id"] and two["workspace"]["title"] == "once"
    assert len((await a.request({"type": "workspace.list"}))["workspaces"]) == 1


async def test_concurrent_creates_with_same_id_make_one(server: LiveServer) -> None:
    """Two racing creates with one id still make one workspace."""
    a, b = await server.connect("race"), await server.connect("race")
    replies = await asyncio.gather(
        a.request({"type": "workspace.create", "id": "r", "workspace": {}}),
        b.request({"type": "workspace.create", "id": "r", "workspace": {}}),
    )
    assert replies[0]["workspace"]["id"] == replies[1]["workspace"]["id"]
    assert len((await a.request({"type": "workspace.list"}))["workspaces"]) == 1


async def test_one_create_id_in_two_projects_makes_two_workspaces(server: LiveServer) -> None:
    """Create ids are unique within a project (the workspace's _id is derived from project and id)."""
    a, b = await server.connect("one"), await server.connect("two")
    first = await a.request({"type": "workspace.create", "id": "same", "workspace": {"title": "a"}})
    second = await b.request({"type": "workspace.create", "id": "same", "workspace": {"title": "b"}})
    assert first["workspace"]["id"] != second["workspace"]["id"]
    assert (first["workspace"]["title"], second["workspace"]["title"]) == ("a", "b")
    again = await b.request({"type": "workspace.create", "id": "same", "workspace": {"title": "c"}})
    assert again["workspace"]["id"] == second["workspace"]["id"] and again["workspace"]["title"] == "b"


async def test_per_connection_order_and_versions(server: LiveServer) -> None:
    """Updates from one connection take effect in order; confirmed versions never go down."""
    c = await server.connect("ord")
    ws = await c.create()
    for i in range(50):
        await c.send(
            {"type": "workspace.update", "id": f"u{i}", "workspace_id": ws["id"], "updates": {"form_data": {"n": i}}}
        )
    versions = {}
    while len(versions) < 50:
        m = await c.expect_type("workspace.sync_confirm")
        versions[m["reply_to"]] = m["version"]
    ordered = [versions[f"u{i}"] for i in range(50)]
    assert ordered == sorted(ordered)
    listed = (await c.request({"type": "workspace.list"}))["workspaces"][0]
    assert listed["form_data"]["n"] == 49 and listed["version"] == ordered[-1]
