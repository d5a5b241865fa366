"""Jobs over the wire (PROTOCOL.md 8): the storyboard kind offline and against the fake OpenAI-compatible server
(good, broken and hostile JSON), job.list, cancel mid-way, the REST routes, viewers, two processes on one
database, and a server SIGKILLed while a job runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.base import CAMERA_MOVEMENTS
from tests.fakes.openai import FakeOpenAI
from tests.integration.test_auth_projects import SECRET, bearer, token
from tests.support import LiveServer, Message, ServerProcess, WsClient

STORY = "The sun sets over the sea. A girl walks along the beach. A close look at her face. Night falls."
KNOWN_FORM = {"prompt", "camera_movement", "shot_size", "lighting", "duration_s", "narration"}


def job_event(job_id: str | None = None, status: str | None = None) -> Any:
    def match(m: Message) -> bool:
        if m.get("type") != "job.status_update":
            return False
        return (job_id is None or m["job"]["id"] == job_id) and (status is None or m["job"]["status"] == status)

    return match


def created_event(workspace_id: str) -> Any:
    return lambda m: m.get("type") == "workspace.created" and m["workspace"]["id"] == workspace_id


async def start(client: WsClient, **fields: Any) -> Message:
    return await client.request({"type": "job.start", "kind": "storyboard", **fields})


async def finished(client: WsClient, job_id: str, timeout: float = 20) -> Message:
    final = {"completed", "failed", "cancelled"}
    return await client.expect(lambda m: job_event(job_id)(m) and m["job"]["status"] in final, timeout)


def assert_valid_shot(workspace: Message) -> None:
    assert len(workspace["title"]) <= 200
    form = workspace["form_data"]
    assert set(form) <= KNOWN_FORM, form
    assert form.get("camera_movement", "static") in CAMERA_MOVEMENTS
    assert 1 <= form["duration_s"] <= 30
    assert all(isinstance(form[k], str) and len(form[k]) <= 4000 for k in ("prompt", "narration") if k in form)
    assert all(len(form[k]) <= 100 for k in ("shot_size", "lighting", "camera_movement") if k in form)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def openai_server(start_server: Any, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    server: LiveServer = await start_server(llm_provider="openai")
    return server


def answer(fake: FakeOpenAI, data: Any, pieces: int = 4) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    size = max(1, len(text) // pieces)
    fake.reply_parts = [text[i : i + size] for i in range(0, len(text), size)]


async def test_offline_storyboard_reaches_every_connection_and_appends_the_shots(server: LiveServer) -> None:
    """job.start: the starter's reply (queued), then running and completed to both connections; each shot is
    announced with workspace.created to both, the starter included; the shots are appended in story order."""
    a = await server.connect("sb")
    b = await server.connect("sb")
    assert a.ready["features"] == ["jobs", "presence", "history"]
    existing = await a.create(title="already here")
    await b.expect_type("workspace.created")
    reply = await start(a, params={"story": STORY})
    assert reply["type"] == "job.status_update" and reply["job"]["status"] == "queued"
    job_id = reply["job"]["id"]
    assert reply["job"]["params"] == {"story": STORY, "shots": None, "style": "", "provider": "offline"}
    seen_b = await b.expect(job_event(job_id, "queued"))
    assert "reply_to" not in seen_b
    for client in (a, b):
        done = await finished(client, job_id)
        assert done["job"]["status"] == "completed" and done["job"]["progress"] == 100
        ids = done["job"]["result"]["workspace_ids"]
        assert len(ids) == 4
        created = [await client.expect(created_event(i)) for i in ids]
        assert all("reply_to" not in m for m in created)
        for m in created:
            assert_valid_shot(m["workspace"])
        assert [m["workspace"]["form_data"]["narration"] for m in created] == [
            "The sun sets over the sea.",
            "A girl walks along the beach.",
            "A close look at her face.",
            "Night falls.",
        ]
    listed = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert [w["id"] for w in listed] == [existing["id"], *ids]
    progress = [m["job"]["progress"] for m in b.buffer if job_event(job_id)(m)]
    assert progress == sorted(progress)  # never down
    for client in (a, b):  # each change once per connection (no local copy besides the change stream's)
        rest = await client.nothing_more()  # also what was passed over while waiting above
        assert not [m for m in rest if job_event(job_id, "completed")(m) or m.get("type") == "workspace.created"]
        statuses = [m["job"]["status"] for m in rest if job_event(job_id)(m)]
        assert set(statuses) <= {"running"}
    # and the starter's copy of "queued" was its reply only


async def test_job_list_and_the_errors_of_job_start_and_cancel(server: LiveServer) -> None:
    a = await server.connect("jl")
    other = await server.connect("elsewhere")
    first = (await start(a, params={"story": "One. Two."}))["job"]
    await finished(a, first["id"])
    second = (await start(a, params={"story": "Three.", "shots": 1, "style": "noir"}))["job"]
    await finished(a, second["id"])
    listed = await a.request({"type": "job.list"})
    assert listed["type"] == "job.list_result"
    assert [j["id"] for j in listed["jobs"]] == [second["id"], first["id"]]  # newest first
    only = await a.request({"type": "job.list", "status": ["failed", "queued"]})
    assert only["jobs"] == []
    assert (await other.request({"type": "job.list"}))["jobs"] == []  # another project's jobs are not listed
    for fields in (
        {"kind": "nope", "params": {"story": "x"}},
        {"params": {"story": "x", "temperature": 2}},
        {"params": {}},
        {"params": {"story": "x", "shots": 25}},
        {"workspace_id": "6b04721f56c295fbbd8e27de", "params": {"story": "x"}},  # storyboard takes none
    ):
        error = await a.request({"type": "job.start", "kind": "storyboard", **fields})
        assert (error["type"], error["code"]) == ("error", "invalid_message"), (fields, error)
    finished_cancel = await a.request({"type": "job.cancel", "job_id": first["id"]})
    assert finished_cancel["code"] == "conflict"
    not_theirs = await other.request({"type": "job.cancel", "job_id": first["id"]})
    assert not_theirs["code"] == "not_found"
    unknown = await a.request({"type": "job.cancel", "job_id": "6b04721f56c295fbbd8e27de"})
    assert unknown["code"] == "not_found"
    assert len((await a.request({"type": "workspace.list"}))["workspaces"]) == 3  # the errors changed nothing


async def test_llm_storyboard_with_good_json(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    shots = [
        {"title": "Kite", "prompt": "a red kite", "camera_movement": "crane_up", "shot_size": "wide",
         "lighting": "golden_hour", "duration_s": 5, "narration": "It rises."},
        {"title": "Sea", "prompt": "the sea", "camera_movement": "pan_left", "duration_s": 4, "narration": ""},
    ]  # fmt: skip
    answer(fake, {"shots": shots})
    a = await openai_server.connect("llm")
    job = (await start(a, params={"story": "A kite over the sea.", "style": "watercolour"}))["job"]
    done = await finished(a, job["id"])
    assert done["job"]["status"] == "completed", done
    assert fake.requests[0]["response_format"] == {"type": "json_object"}
    listed = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert [w["title"] for w in listed] == ["Kite", "Sea"]
    assert listed[0]["form_data"]["prompt"] == "a red kite, watercolour"
    assert listed[0]["form_data"]["camera_movement"] == "crane_up" and listed[1]["form_data"]["narration"] == ""


async def test_llm_storyboard_with_broken_json_fails_and_stores_nothing(
    openai_server: LiveServer, fake: FakeOpenAI
) -> None:
    answer(fake, 'Here is your storyboard: {"shots": [{"title": "Kite", "prompt": ')
    a = await openai_server.connect("broken")
    job = (await start(a, params={"story": "A kite."}))["job"]
    done = await finished(a, job["id"])
    assert done["job"]["status"] == "failed" and done["job"]["error"]["code"] == "provider_error"
    assert (await a.request({"type": "workspace.list"}))["workspaces"] == []
    assert not [m for m in await a.nothing_more() if m.get("type") == "workspace.created"]


async def test_llm_storyboard_with_hostile_json_stores_only_valid_shots(
    openai_server: LiveServer, fake: FakeOpenAI
) -> None:
    hostile = {
        "shots": [
            {"title": "T" * 5000, "prompt": "p", "camera_movement": "vertigo dolly zoom 360", "duration_s": -4,
             "$set": {"project": "victim"}, "shot_size": "$ne", "lighting": "L" * 5000},
            {"title": {"$gt": ""}, "prompt": "q", "camera_movement": "cartwheel", "narration": "n" * 10000},
            {"$where": "sleep(1000)"},
            ["not", "a", "shot"],
        ],
        "$unset": {"version": ""},
    }  # fmt: skip
    answer(fake, hostile)
    a = await openai_server.connect("hostile")
    job = (await start(a, params={"story": "Anything."}))["job"]
    done = await finished(a, job["id"])
    assert done["job"]["status"] == "completed", done
    listed = (await a.request({"type": "workspace.list"}))["workspaces"]
    assert len(listed) == 2 and done["job"]["result"]["workspace_ids"] == [w["id"] for w in listed]
    for workspace in listed:
        assert_valid_shot(workspace)
        assert workspace["project"] == "hostile" and workspace["version"] == 1
    assert len(listed[0]["title"]) == 200 and listed[0]["form_data"]["duration_s"] == 1
    assert "camera_movement" not in listed[1]["form_data"] and listed[1]["title"] == "q"


async def test_a_provider_without_a_key_is_unavailable_at_start(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server: LiveServer = await start_server(llm_provider="offline")
    a = await server.connect("nokey")
    for provider in ("openai", "no-such-llm"):
        error = await start(a, params={"story": "x", "provider": provider})
        assert error["code"] == "unavailable", error
    async with server.http() as http:
        r = await http.post("/api/jobs", json={"project": "nokey", "kind": "storyboard",
                                               "params": {"story": "x", "provider": "openai"}})  # fmt: skip
        assert r.status_code == 503
    assert (await a.request({"type": "job.list"}))["jobs"] == []


async def test_cancel_mid_way_changes_nothing(openai_server: LiveServer, fake: FakeOpenAI) -> None:
    answer(fake, {"shots": [{"title": "x", "prompt": "y"}]}, pieces=20)
    fake.delay_s = 0.5  # 10 s of answer: the cancel lands in the middle
    a = await openai_server.connect("cancel")
    b = await openai_server.connect("cancel")
    job = (await start(a, params={"story": "A kite."}))["job"]
    await a.expect(job_event(job["id"], "running"))
    await a.expect(lambda m: job_event(job["id"])(m) and m["job"]["stage"] == "writing the storyboard")
    reply = await a.request({"type": "job.cancel", "job_id": job["id"]})
    assert reply["type"] == "job.status_update" and reply["job"]["status"] == "cancelled"
    assert (await b.expect(job_event(job["id"], "cancelled")))["job"]["finished_at"]
    later = await a.nothing_more(1.5)
    assert not [m for m in later if m.get("type") == "workspace.created" or job_event(job["id"], "completed")(m)]
    assert (await a.request({"type": "workspace.list"}))["workspaces"] == []
    async with openai_server.http() as http:
        stored = (await http.get(f"/api/jobs/{job['id']}")).json()
    assert stored["status"] == "cancelled" and stored["result"] is None


async def test_rest_routes(server: LiveServer) -> None:
    ws = await server.connect("rest")
    async with server.http() as http:
        r = await http.post("/api/jobs", json={"project": "rest", "kind": "storyboard", "params": {"story": STORY}})
        assert r.status_code == 202, r.text
        job = r.json()["job"]
        assert job["status"] == "queued" and job["project"] == "rest"
        done = await finished(ws, job["id"])  # the REST start is heard on the project's sockets too
        assert done["job"]["status"] == "completed"
        got = await http.get(f"/api/jobs/{job['id']}")
        assert got.status_code == 200 and got.json()["result"] == done["job"]["result"]
        listed = await http.get("/api/jobs", params={"project": "rest", "status": "completed,failed"})
        assert [j["id"] for j in listed.json()["jobs"]] == [job["id"]]
        assert (await http.get("/api/jobs", params={"project": "rest", "status": "queued"})).json()["jobs"] == []
        assert (await http.get("/api/jobs", params={"project": "rest", "status": "bogus"})).status_code == 400
        assert (await http.post(f"/api/jobs/{job['id']}/cancel")).status_code == 409
        assert (await http.get("/api/jobs/6b04721f56c295fbbd8e27de")).status_code == 404
        assert (await http.post("/api/jobs/6b04721f56c295fbbd8e27de/cancel")).status_code == 404
        bad = await http.post("/api/jobs", json={"kind": "nope"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_message"
        extra = await http.post("/api/jobs", json={"kind": "storyboard", "params": {"story": "x"}, "x": 1})
        assert extra.status_code == 400
        text = await http.post("/api/jobs", content=b"{}", headers={"content-type": "text/plain"})
        assert text.status_code == 415


async def test_viewers_may_list_jobs_but_not_start_or_cancel_them(start_server: Any) -> None:
    server: LiveServer = await start_server(auth_jwt_secret=SECRET)
    editor = await server.connect("a", token=token("editor"))
    viewer = await server.connect("a", token=token("viewer"))
    job = (await start(editor, params={"story": "One."}))["job"]
    await finished(editor, job["id"])
    denied = await start(viewer, params={"story": "Two."})
    assert denied["code"] == "forbidden"
    malformed = await viewer.request({"type": "job.start"})
    assert malformed["code"] == "forbidden"
    assert (await viewer.request({"type": "job.cancel", "job_id": job["id"]}))["code"] == "forbidden"
    assert [j["id"] for j in (await viewer.request({"type": "job.list"}))["jobs"]] == [job["id"]]
    async with server.http() as http:
        r = await http.post("/api/jobs", json={"project": "a", "kind": "storyboard", "params": {"story": "x"}},
                            headers=bearer(token("viewer")))  # fmt: skip
        assert r.status_code == 403
        r = await http.post("/api/jobs", json={"project": "b", "kind": "storyboard", "params": {"story": "x"}},
                            headers=bearer(token("editor")))  # fmt: skip
        assert r.status_code == 403  # a project the token does not name
        assert (await http.get(f"/api/jobs/{job['id']}", headers=bearer(token("editor", ["b"])))).status_code == 404
    assert len((await editor.request({"type": "workspace.list"}))["workspaces"]) == 1


async def test_two_processes_run_a_job_once_and_both_hear_it(start_server: Any) -> None:
    """Two servers on one database: the job started through one is run once, and the clients of both get its
    status and its shots (with FANOUT=changestream through the change streams, locally otherwise)."""
    db = "t_" + uuid.uuid4().hex[:12]
    one: LiveServer = await start_server(mongodb_db=db, fanout="changestream")
    two: LiveServer = await start_server(mongodb_db=db, fanout="changestream")
    a = await one.connect("pair")
    b = await two.connect("pair")
    job = (await start(a, params={"story": STORY}))["job"]
    for client in (a, b):
        done = await finished(client, job["id"])
        assert done["job"]["status"] == "completed"
        for workspace_id in done["job"]["result"]["workspace_ids"]:
            await client.expect(created_event(workspace_id))
    assert not [m for m in await b.nothing_more() if job_event(job["id"], "completed")(m)]  # once
    raw = await one.runtime.jobs.collection.find_one({})
    assert raw["attempts"] == 1
    assert len((await b.request({"type": "workspace.list"}))["workspaces"]) == 4


async def test_create_many_is_idempotent_per_job(server: LiveServer) -> None:
    """A run interrupted after its write, run again, finds its shots and writes nothing more."""
    workspaces = server.runtime.workspaces
    shots = [{"title": "a", "form_data": {"prompt": "a"}}, {"title": "b", "form_data": {"prompt": "b"}}]
    first = await workspaces.create_many("idem", shots, key="job~x")
    again = await workspaces.create_many("idem", [*shots, *shots], key="job~x")
    assert [w.id for w in again] == [w.id for w in first]
    assert len(await workspaces.list_all("idem")) == 2


async def test_a_killed_server_runs_the_job_again_after_restart(tmp_path: Path, db_uri: str, fake: FakeOpenAI) -> None:
    """SIGKILL while the model is answering: the restarted server claims the job once its lease has expired, runs
    it again and completes it; the job never stays running and its shots exist once."""
    answer(fake, {"shots": [{"title": "one", "prompt": "a"}, {"title": "two", "prompt": "b"}]}, pieces=10)
    fake.delay_s = 0.5
    env = {
        "MONGODB_URI": db_uri,
        "MONGODB_DB": "t_" + uuid.uuid4().hex[:12],
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake.base_url,
        "JOB_LEASE_S": "1.5",
    }
    first = ServerProcess(tmp_path / "data", env=env)
    await first.start()
    client = await first.connect("kill")
    job = (await start(client, params={"story": "One. Two."}))["job"]
    await client.expect(lambda m: job_event(job["id"])(m) and m["job"]["stage"] == "writing the storyboard", 10)
    first.kill()
    fake.delay_s = 0.0
    second = ServerProcess(tmp_path / "data", env=env, port=first.port)
    await second.start()
    again = await second.connect("kill")
    done = await finished(again, job["id"], timeout=30)
    assert done["job"]["status"] == "completed", done
    async with httpx.AsyncClient(base_url=second.base, timeout=5) as http:
        stored = (await http.get(f"/api/jobs/{job['id']}")).json()
        workspaces = (await http.get("/api/workspaces", params={"project": "kill"})).json()["workspaces"]
    assert stored["status"] == "completed"
    assert [w["title"] for w in workspaces] == ["one", "two"]
    assert len(fake.requests) == 2  # asked once per run
    await second.terminate()
