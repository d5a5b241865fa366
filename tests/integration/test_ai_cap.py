"""The stored AI conversation is capped: a workspace keeps the newest ``KEEP_ENTRIES`` entries of
``ai_collaboration``, so an endless conversation cannot grow the document towards MongoDB's 16 MB limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from app.services.ai import KEEP_ENTRIES
from tests.support import LiveServer


async def test_conversation_keeps_the_newest_entries(server: LiveServer) -> None:
    """A workspace one entry short of the cap (as after ~100 exchanges, seeded in the database: sending them one by
    one takes far longer) takes two more exchanges: the stored list is exactly KEEP_ENTRIES long, the oldest entries
    are gone, the newest are the last ones asked, and each event still carries only its two new entries."""
    assert KEEP_ENTRIES == 200
    c, other = await server.connect("cap"), await server.connect("cap")
    ws = await c.create(title="long talk")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    old = [
        {"role": ("user", "assistant")[i % 2], "content": f"old {i}", "provider": None, "model": None}
        | {"created_at": start + timedelta(seconds=i)}
        for i in range(KEEP_ENTRIES - 1)
    ]
    seeded = await server.runtime.ai.collection.update_one(
        {"_id": ObjectId(ws["id"])}, {"$set": {"ai_collaboration": old}}
    )
    assert seeded.modified_count == 1
    async with server.http() as http:
        for question in ("newer question", "newest question"):
            r = await http.post("/api/ai/suggest", json={"workspace_id": ws["id"], "message": question})
            assert r.status_code == 200, r.text
            event = await other.expect_type("workspace.updated")
            assert [e["content"] for e in event["changes"]["ai_collaboration"]] == [
                question,
                r.json()["suggestion"]["content"],
            ]
        stored = (await http.get(f"/api/workspaces/{ws['id']}")).json()["ai_collaboration"]
    assert len(stored) == KEEP_ENTRIES
    contents = [e["content"] for e in stored]
    # 199 old + 4 new = 203: the three oldest were dropped, the rest kept in order
    assert contents[: KEEP_ENTRIES - 4] == [f"old {i}" for i in range(3, KEEP_ENTRIES - 1)]
    assert contents[-4] == "newer question" and contents[-2] == "newest question"
    assert [e["role"] for e in stored[-4:]] == ["user", "assistant", "user", "assistant"]
    assert stored[-1] == r.json()["suggestion"]
