"""``GET /api/projects`` and ``GET /api/projects/{project}/timeline.otio`` (PROTOCOL.md 8.4) against a real server:
projects listed with their shot counts, most recently changed first, only the token's own with per-project tokens
(9.1); the timeline as it is now read back with OpenTimelineIO, one clip per shot in timeline order pointing at
its finished video or its picture, for the video's measured length or the shot's duration."""

from __future__ import annotations

import io
import re
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]
import pytest
from PIL import Image

from tests.fixtures_s3 import Bucket
from tests.integration.test_auth_projects import ADMIN_KEY, SECRET, bearer, token
from tests.integration.test_video import until_status
from tests.support import LiveServer, WsClient

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 120, 30)).save(buf, "PNG")
    return buf.getvalue()


async def listed(server: LiveServer, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    async with server.http() as http:
        r = await http.get("/api/projects", headers=headers or {})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"projects"}
    return list(body["projects"])


async def latest(server: LiveServer, project: str) -> str:
    async with server.http() as http:
        shots = (await http.get("/api/workspaces", params={"project": project})).json()["workspaces"]
    return max(s["updated_at"] for s in shots)


async def test_projects_with_their_counts_most_recently_changed_first(server: LiveServer) -> None:
    """Two projects with 1 and 3 shots: the one changed last comes first, with its count and the latest
    updated_at of its shots; an update of the other's shot puts it first; a project whose shots are all
    deleted is no longer listed."""
    assert await listed(server) == []
    old = await server.connect("old")
    first = await old.create(title="one")
    new = await server.connect("new")
    for n in range(3):
        await new.create(title=f"shot {n}")
    projects = await listed(server)
    assert [(p["name"], p["shots"]) for p in projects] == [("new", 3), ("old", 1)]
    assert all(ISO.match(p["updated_at"]) for p in projects), projects
    assert projects[0]["updated_at"] == await latest(server, "new")
    assert projects[1]["updated_at"] == first["updated_at"]

    reply = await old.request({"type": "workspace.update", "workspace_id": first["id"], "updates": {"title": "1!"}})
    assert reply["type"] == "workspace.sync_confirm", reply
    projects = await listed(server)
    assert [(p["name"], p["shots"]) for p in projects] == [("old", 1), ("new", 3)]
    assert projects[0]["updated_at"] == await latest(server, "old") > projects[1]["updated_at"]

    gone = await old.request({"type": "workspace.delete", "workspace_id": first["id"]})
    assert gone["type"] == "workspace.deleted", gone
    assert [p["name"] for p in await listed(server)] == ["new"]


async def test_a_project_token_sees_only_its_projects(start_server: Any) -> None:
    """Projects a, b and c: a token naming a and c lists those two; one naming only b, b; "*" and AUTH_TOKEN list
    all three; a token naming no project with shots lists nothing; no token is 401."""
    server = await start_server(auth_jwt_secret=SECRET, auth_token=ADMIN_KEY)
    for project, shots in (("a", 1), ("b", 2), ("c", 3)):
        client = await server.connect(project, token=ADMIN_KEY)
        for n in range(shots):
            await client.create(title=f"{project}{n}")
    assert [p["name"] for p in await listed(server, bearer(ADMIN_KEY))] == ["c", "b", "a"]
    assert [p["name"] for p in await listed(server, bearer(token("viewer", ["*"])))] == ["c", "b", "a"]
    two = await listed(server, bearer(token("viewer", ["a", "c", "zzz"])))
    assert [(p["name"], p["shots"]) for p in two] == [("c", 3), ("a", 1)]
    assert [p["name"] for p in await listed(server, bearer(token("editor", ["b"])))] == ["b"]
    assert await listed(server, bearer(token("editor", ["nothing-here"]))) == []
    async with server.http() as http:
        assert (await http.get("/api/projects")).status_code == 401


async def timeline(server: LiveServer, project: str, headers: dict[str, str] | None = None) -> Any:
    async with server.http() as http:
        r = await http.get(f"/api/projects/{project}/timeline.otio", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert f'filename="{project}.otio"' in r.headers["content-disposition"]
    return otio.adapters.read_from_string(r.text, "otio_json")


def clips(tl: Any) -> list[Any]:
    tracks = tl.video_tracks()
    assert len(tracks) == 1
    return [item for item in tracks[0] if isinstance(item, otio.schema.Clip)]


async def picture_shot(
    client: WsClient, server: LiveServer, title: str, seconds: float, headers: dict[str, str] | None = None, **form: Any
) -> Any:
    shot = await client.create(title=title, form_data={"prompt": f"{title} at dusk", "duration_s": seconds, **form})
    async with server.http(headers=headers or {}) as http:
        r = await http.post("/api/upload/image", files={"image": ("p.png", png())}, data={"workspace_id": shot["id"]})
    assert r.status_code == 201, r.text
    return {**shot, "image_url": r.json()["image_url"]}


async def test_an_empty_project_is_an_empty_timeline(server: LiveServer) -> None:
    """No shots (or none with a picture or video): a valid timeline named after the project, with one empty
    video track."""
    tl = await timeline(server, "nothing")
    assert tl.name == "nothing" and clips(tl) == [] and tl.duration().to_seconds() == 0
    c = await server.connect("bare")
    await c.create(title="no picture yet")
    tl = await timeline(server, "bare")
    assert clips(tl) == []


@pytest.mark.slow
async def test_the_timeline_has_one_clip_per_shot_in_timeline_order(server: LiveServer) -> None:
    """Four shots, put in another order than they were made: a still (3 s), a finished local video (2 s, its
    own measured length), a picture from an https URL (4 s) and a shot with nothing to show (left out, as the
    export leaves it out). The clips follow the timeline order, point at /media/... for the video and at the
    pictures' URLs, and last what the export would give them (the clip its measured length, not the 6 s its form
    asks for now); asking again gives the same timeline."""
    c = await server.connect("cut")
    still = await picture_shot(c, server, "Harbour", 3, camera_movement="push_in")
    moving = await picture_shot(c, server, "Kite", 2, aspect_ratio="16:9")
    external = await c.create(
        title="Hill", form_data={"prompt": "a hill", "duration_s": 4}, image_url="https://example.com/hill.png"
    )
    empty = await c.create(title="Later", form_data={"prompt": "not painted yet"})
    async with server.http() as http:
        r = await http.post("/api/generate/video", json={"workspace_id": moving["id"]})
        assert r.status_code == 202, r.text
    final = (await until_status(c, moving["id"], {"completed", "failed"}, timeout=90))[-1]
    assert final["status"] == "completed", final
    # asked for 6 s now: the finished clip still plays its own measured 2 s
    changed = {"type": "workspace.update", "workspace_id": moving["id"], "updates": {"form_data": {"duration_s": 6}}}
    assert (await c.request(changed))["type"] == "workspace.sync_confirm"
    order = [moving["id"], empty["id"], external["id"], still["id"]]
    reply = await c.request({"type": "workspace.reorder", "order": order})
    assert reply["type"] == "workspace.reorder_confirm", reply

    tl = await timeline(server, "cut")
    got = clips(tl)
    assert [clip.name for clip in got] == ["Kite", "Hill", "Harbour"]
    urls = [clip.media_reference.target_url for clip in got]
    assert urls == [final["url"], "https://example.com/hill.png", still["image_url"]]
    assert urls[0].startswith("/media/") and urls[2].startswith("/uploads/")
    seconds = [clip.source_range.duration.to_seconds() for clip in got]
    assert abs(seconds[0] - 2.0) <= 0.05 and seconds[1:] == [4.0, 3.0], seconds
    assert [clip.metadata["film"]["kind"] for clip in got] == ["video", "still", "still"]
    assert abs(tl.duration().to_seconds() - 9.0) <= 0.05
    again = await timeline(server, "cut")
    assert [c.media_reference.target_url for c in clips(again)] == urls


async def test_timeline_access_per_project(start_server: Any) -> None:
    """A token for project a reads a's timeline; b's is 403 (as b's listing is); no token is 401; a bad project
    name is 400."""
    server = await start_server(auth_jwt_secret=SECRET, auth_token=ADMIN_KEY)
    admin = await server.connect("b", token=ADMIN_KEY)
    await picture_shot(admin, server, "B", 2, bearer(ADMIN_KEY))
    a = bearer(token("viewer", ["a"]))
    assert clips(await timeline(server, "a", a)) == []
    async with server.http() as http:
        r = await http.get("/api/projects/b/timeline.otio", headers=a)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        assert (await http.get("/api/projects/b/timeline.otio")).status_code == 401
        r = await http.get("/api/projects/bad%20name/timeline.otio", headers=bearer(ADMIN_KEY))
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message", r.text
    assert [c.name for c in clips(await timeline(server, "b", bearer(ADMIN_KEY)))] == ["B"]


@pytest.mark.slow
async def test_the_timeline_with_the_s3_store(start_server: Any, s3_bucket: Bucket) -> None:
    """With MEDIA_STORE=s3 the video's length is measured from the bucket's copy and the picture is seen there."""
    server = await start_server(**s3_bucket.settings())
    c = await server.connect("s3cut")
    shot = await picture_shot(c, server, "Bucket", 2)
    still = await picture_shot(c, server, "Pail", 3)
    async with server.http() as http:
        assert (await http.post("/api/generate/video", json={"workspace_id": shot["id"]})).status_code == 202
    final = (await until_status(c, shot["id"], {"completed", "failed"}, timeout=90))[-1]
    assert final["status"] == "completed", final
    assert f"media/{final['url'].removeprefix('/media/')}" in await s3_bucket.keys("media")
    got = clips(await timeline(server, "s3cut"))
    assert [clip.media_reference.target_url for clip in got] == [final["url"], still["image_url"]]
    assert abs(got[0].source_range.duration.to_seconds() - 2.0) <= 0.05
    assert got[1].source_range.duration.to_seconds() == 3.0
