"""``python -m app worker``: a jobs-only process beside socket servers that run no job (``RUN_JOBS=false``), on one
database with ``FANOUT=changestream``; and the settings a worker refuses to start with."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_jobs import STORY, created_event, finished, start
from tests.support import ROOT, LiveServer, WorkerProcess

pytestmark = pytest.mark.slow


async def test_a_worker_runs_the_jobs_of_socket_servers_that_run_none(
    start_server: Any, db_uri: str, tmp_path: Path
) -> None:
    db = "t_" + uuid.uuid4().hex[:12]
    api: LiveServer = await start_server(mongodb_db=db, fanout="changestream", run_jobs=False)
    client = await api.connect("crew")
    job = (await start(client, params={"story": STORY}))["job"]
    assert job["status"] == "queued"
    engine = api.runtime.jobs
    await engine.run_once()  # what the API's own loop does: it claims nothing
    assert engine.running == {}
    worker = WorkerProcess(
        tmp_path / "worker-data",
        env={"MONGODB_URI": db_uri, "MONGODB_DB": db, "FANOUT": "changestream", "JOB_LEASE_S": "3"},
    )
    await worker.start()
    done = await finished(client, job["id"], timeout=30)
    assert done["job"]["status"] == "completed", done
    for workspace_id in done["job"]["result"]["workspace_ids"]:
        await client.expect(created_event(workspace_id))  # the worker's shots, through the API's change stream
    assert f"job {job['id']} (storyboard) claimed" in worker.log()
    assert len((await client.request({"type": "workspace.list"}))["workspaces"]) == 4
    assert await worker.terminate() == 0
    assert "worker stopped" in worker.log()


@pytest.mark.parametrize(
    ("env", "reason"),
    [({"FANOUT": "changestream"}, "MONGODB_URI"), ({"FANOUT": "local", "MONGODB_URI": "mongodb://x"}, "FANOUT")],
)
async def test_a_worker_refuses_settings_it_cannot_work_with(
    tmp_path: Path, env: dict[str, str], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.delenv("FANOUT", raising=False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "worker",
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(tmp_path), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"a worker needs {reason}" in out.decode()
