"""Edge cases of the ``export`` job (PROTOCOL.md 8.1, 8.2, 8.3 ``export``) through a real server and the WebSocket:
shots with nothing usable fail with invalid_message; shots of other shapes are fitted and padded black, never
stretched; a finished video whose file is gone becomes its picture (``missing: still``) or is left out (``skip``);
a cancel mid-render kills ffmpeg and leaves no file; and a server killed with SIGKILL mid-render has its export
claimed again and finished by the next server on the same DATA_DIR, the stray ffmpeg of the dead run killed.

(test_export.py already covers an empty timeline failing with invalid_message; here the timeline has shots.)
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import numpy as np
import opentimelineio as otio  # type: ignore[import-untyped]
import pytest
from PIL import Image

from tests.film.conftest import frame, streams
from tests.integration.test_jobs import finished
from tests.integration.test_video import until_status
from tests.support import LiveServer, Message, ServerProcess, WsClient

pytestmark = pytest.mark.slow

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
BRIGHT, RED, BLUE, GREEN = (230, 230, 230), (220, 30, 30), (30, 30, 220), (30, 200, 30)


def solid_png(w: int, h: int, rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), rgb).save(buf, "PNG")
    return buf.getvalue()


async def add_shot(
    client: WsClient,
    http: httpx.AsyncClient,
    title: str,
    picture: tuple[int, int, tuple[int, int, int]] | None = None,
    *,
    video: bool = False,
    **form: Any,
) -> Message:
    """A shot with ``form`` as its form_data, ``picture`` (w, h, colour) uploaded to it, and with ``video`` a clip
    made from it by the local renderer (waited for). Returns the workspace as it is then."""
    shot = await client.create(
        title=title, form_data={"prompt": title, "camera_movement": "static", "duration_s": 1, **form}
    )
    if picture is not None:
        w, h, rgb = picture
        files = {"image": (f"{title}.png", solid_png(w, h, rgb), "image/png")}
        r = await http.post("/api/upload/image", files=files, data={"workspace_id": shot["id"]})
        assert r.status_code == 201, r.text
    if video:
        r = await http.post("/api/generate/video", json={"workspace_id": shot["id"]})
        assert r.status_code == 202, r.text
        seen = await until_status(client, shot["id"], {"completed", "failed"}, timeout=60)
        assert seen[-1]["status"] == "completed", seen[-1]
    listed = (await client.request({"type": "workspace.list"}))["workspaces"]
    return next(w for w in listed if w["id"] == shot["id"])


async def export(client: WsClient, timeout: float = 120, **params: Any) -> dict[str, Any]:
    """Start an export with ``params`` and return the job once it ended."""
    started = await client.request({"type": "job.start", "kind": "export", "params": params})
    assert started["type"] == "job.status_update", started
    done = await finished(client, started["job"]["id"], timeout=timeout)
    return dict(done["job"])


async def download(http: httpx.AsyncClient, url: str, folder: Path) -> Path:
    response = await http.get(url)
    assert response.status_code == 200, url
    path = folder / Path(url).name
    path.write_bytes(response.content)
    return path


def scratch_dirs(job_id: str, tmp: Path | None = None) -> list[Path]:
    """The export's scratch folders (app/jobs/export.py makes them under the temp dir, named after the job)."""
    return sorted(Path(tmp or tempfile.gettempdir()).glob(f"export-{job_id}-*"))


def ffmpegs(marker: str, parent: int | None = None) -> list[int]:
    """Live ffmpeg processes (Linux /proc) whose command line mentions ``marker``, children of ``parent`` if given."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if stat[0] == "Z" or argv[0] != FFMPEG or not any(marker in a for a in argv):
            continue
        if parent is None or int(stat[1]) == parent:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """The process exists and is no zombie (an orphan's zombie waits for whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def job_update(job_id: str, pred: Any) -> Any:
    return lambda m: m.get("type") == "job.status_update" and m["job"]["id"] == job_id and pred(m["job"])


def rendering(job: dict[str, Any]) -> bool:
    """ffmpeg has written part of the film: progress past the 9 of "rendering shot 1 of N" before it starts."""
    return job["status"] == "running" and job["progress"] > 9 and (job["stage"] or "").startswith("rendering")


def bright_columns(picture: np.ndarray) -> np.ndarray:
    """Per column of the frame's middle rows, whether it shows the picture (not the black padding)."""
    h = picture.shape[0]
    shown: np.ndarray = picture[h // 3 : 2 * h // 3].mean(axis=(0, 2)) > 60
    return shown


# 1 ----------------------------------------------------------------------------------------------------------


async def test_shots_with_nothing_usable_fail_with_invalid_message(server: LiveServer) -> None:
    """Shots with neither video nor picture, and shots with only a picture under ``missing: skip``: nothing to
    export, so the job fails with invalid_message (not internal), and leaves no file and no scratch folder."""
    a = await server.connect("nothing")
    async with server.http() as http:
        await add_shot(a, http, "words only")
        await add_shot(a, http, "more words", aspect_ratio="9:16")
        bare = await export(a, timeout=30)
        assert bare["status"] == "failed" and bare["error"]["code"] == "invalid_message", bare
        assert "nothing to export" in bare["error"]["message"] and bare["result"] is None
        await add_shot(a, http, "a picture", (64, 36, RED))
        skipped = await export(a, timeout=30, missing="skip")
        assert skipped["status"] == "failed" and skipped["error"]["code"] == "invalid_message", skipped
        assert skipped["params"]["missing"] == "skip"
        still = await export(a, timeout=60, missing="still")  # the same timeline does hold a film
        assert still["status"] == "completed" and still["result"]["shots"] == 1, still
    media = server.settings.media_dir
    for job in (bare, skipped):
        assert not [p for p in media.iterdir() if job["id"] in p.name] and scratch_dirs(job["id"]) == []


# 2 ----------------------------------------------------------------------------------------------------------


async def test_mixed_aspect_ratios_are_fitted_and_padded_never_stretched(server: LiveServer, tmp_path: Path) -> None:
    """16:9 and 1:1 pictures, a 9:16 picture and a 9:16 clip in a 16:9 720p film: 1280x720, the 16:9 shot fills the
    frame, the others keep their shape (about 405 and 720 columns wide, centred) with black left and right."""
    a = await server.connect("aspects")
    async with server.http() as http:
        await add_shot(a, http, "wide", (160, 90, GREEN), aspect_ratio="16:9")
        await add_shot(a, http, "tall clip", (90, 160, BRIGHT), aspect_ratio="9:16", video=True)
        await add_shot(a, http, "square", (100, 100, BRIGHT), aspect_ratio="1:1")
        await add_shot(a, http, "tall still", (90, 160, BRIGHT), aspect_ratio="9:16")
        job = await export(a, aspect_ratio="16:9", resolution="720p")
        assert job["status"] == "completed", job
        assert job["result"]["shots"] == 4 and abs(job["result"]["duration_s"] - 4.0) <= 0.05, job["result"]
        film = await download(http, job["result"]["url"], tmp_path)
    info = streams(film)
    assert info.size == (1280, 720) and info.video == "h264" and info.pix_fmt == "yuv420p"
    assert abs(info.duration - 4.0) <= 0.1
    wide = frame(film, 0.5)
    assert bright_columns(wide).all()  # no border at all
    assert abs(int(wide[360, 640, 1]) - GREEN[1]) < 30 and wide[360, 640, 0] < 80
    for seconds, width in ((1.5, 405), (2.5, 720), (3.5, 405)):  # the 9:16 clip, the square, the 9:16 still
        picture = frame(film, seconds)
        shown = np.flatnonzero(bright_columns(picture))
        assert abs(len(shown) - width) <= 6, (seconds, len(shown))
        assert shown.max() - shown.min() + 1 == len(shown)  # one run of columns, no holes
        assert abs((shown.min() + shown.max()) / 2 - 639.5) <= 3, (seconds, shown.min(), shown.max())
        edge = 640 - width // 2 - 20  # columns well inside the padding, left and right
        assert picture[:, :edge].max() < 30 and picture[:, 1280 - edge :].max() < 30, seconds
        assert picture[360, 640].min() > 180, (seconds, picture[360, 640])  # the centre is the bright picture


# 3 ----------------------------------------------------------------------------------------------------------


async def test_a_finished_video_whose_file_is_gone_becomes_its_picture_or_is_skipped(
    server: LiveServer, tmp_path: Path
) -> None:
    """The first shot's finished clip is deleted from DATA_DIR/media (and its duration_s set to 2 afterwards, so
    the picture's length tells it from the clip's): ``still`` shows its red picture for 2 s, the OTIO clip pointing
    at the picture; ``skip`` leaves it out. Neither fails."""
    a = await server.connect("gone")
    async with server.http() as http:
        lost = await add_shot(a, http, "lost", (160, 90, RED), video=True)
        kept = await add_shot(a, http, "kept", (160, 90, BLUE), video=True)
        clip = server.settings.media_dir / Path(lost["video"]["url"]).name
        assert clip.is_file() and (server.settings.media_dir / Path(kept["video"]["url"]).name).is_file()
        clip.unlink()
        changed = await a.request(
            {"type": "workspace.update", "workspace_id": lost["id"], "updates": {"form_data": {"duration_s": 2}}}
        )
        assert changed["type"] == "workspace.sync_confirm", changed
        still = await export(a, missing="still")
        assert still["status"] == "completed", still
        assert still["result"]["shots"] == 2 and abs(still["result"]["duration_s"] - 3.0) <= 0.05, still["result"]
        film = await download(http, still["result"]["url"], tmp_path)
        timeline = otio.adapters.read_from_string((await http.get(still["result"]["otio_url"])).text)
        skipped = await export(a, missing="skip")
        assert skipped["status"] == "completed", skipped
        assert skipped["result"]["shots"] == 1 and abs(skipped["result"]["duration_s"] - 1.0) <= 0.05
        short = await download(http, skipped["result"]["url"], tmp_path)
    assert abs(streams(film).duration - 3.0) <= 0.1 and abs(streams(short).duration - 1.0) <= 0.1
    for picture, rgb in ((frame(film, 1.0), RED), (frame(film, 2.5), BLUE), (frame(short, 0.5), BLUE)):
        assert np.abs(picture[360, 640].astype(int) - rgb).max() < 50, (picture[360, 640], rgb)
    clips = list(timeline.video_tracks()[0].find_clips())
    assert [c.name for c in clips] == ["lost", "kept"]
    assert clips[0].metadata["film"]["kind"] == "still"
    assert clips[0].media_reference.target_url == f"/{lost['image_path']}"  # the picture shown, not the lost clip
    assert clips[1].media_reference.target_url == kept["video"]["url"]


# 4 ----------------------------------------------------------------------------------------------------------


async def test_cancel_mid_render_kills_ffmpeg_and_leaves_no_file(server: LiveServer) -> None:
    """A 1080p crossfade export of three 10 s stills is cancelled once ffmpeg reports progress: the reply is
    ``cancelled``, the render's ffmpeg (a child of this process: the server runs in it) is gone, and neither
    DATA_DIR/media nor the temp dir holds anything of the export; the job stays cancelled."""
    a = await server.connect("cancel")
    async with server.http() as http:
        for n, rgb in enumerate((RED, GREEN, BLUE)):
            await add_shot(a, http, f"s{n}", (160, 90, rgb), duration_s=10, camera_movement="push_in")
    before = set(server.settings.media_dir.iterdir())
    started = await a.request(
        {"type": "job.start", "kind": "export", "params": {"resolution": "1080p", "transition": "crossfade"}}
    )
    job_id = started["job"]["id"]
    seen = await a.expect(job_update(job_id, rendering), timeout=60)
    pids = ffmpegs(f"export-{job_id}-", parent=os.getpid())
    assert len(pids) == 1, pids  # the render, its probes done
    task = server.runtime.jobs.running[job_id].task
    assert task is not None and len(scratch_dirs(job_id)) == 1
    reply = await a.request({"type": "job.cancel", "job_id": job_id})
    assert reply["type"] == "job.status_update" and reply["job"]["status"] == "cancelled", reply
    assert reply["job"]["progress"] >= seen["job"]["progress"] and reply["job"]["finished_at"]
    a.buffer.clear()  # what came before the reply
    await asyncio.wait_for(asyncio.shield(task), 10)  # the run ends: ffmpeg killed and waited for, files removed
    assert not alive(pids[0]) and ffmpegs(f"export-{job_id}-") == []
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # reaped, not left a zombie
    assert set(server.settings.media_dir.iterdir()) == before and scratch_dirs(job_id) == []
    async with server.http() as http:
        stored = (await http.get(f"/api/jobs/{job_id}")).json()
    assert stored["status"] == "cancelled" and stored["result"] is None and stored["error"] is None
    later = [m for m in await a.nothing_more(0.3) if m.get("job", {}).get("id") == job_id]
    assert all(m["job"]["status"] == "cancelled" for m in later), later


# 5 ----------------------------------------------------------------------------------------------------------


async def test_an_export_killed_with_its_server_is_claimed_again_and_completes(tmp_path: Path, db_uri: str) -> None:
    """``python -m app`` is SIGKILLed while its export renders. Its ffmpeg outlives it (an orphan; frozen here
    with SIGSTOP so it is surely still there when the next server comes). The next server on the same DATA_DIR
    and database claims the export once its lease (JOB_LEASE_S=2) is over, kills the stray ffmpeg of the dead
    run, removes its scratch folder, and completes the film: a playable MP4 of the planned length."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        "MONGODB_URI": db_uri,
        "MONGODB_DB": "t_" + uuid.uuid4().hex[:12],
        "JOB_LEASE_S": "2",
        "TMPDIR": str(scratch),  # the export's scratch folders, where the test can see them
    }
    first = ServerProcess(tmp_path / "data", env)
    await first.start()
    a = await first.connect("crash")
    stray: list[int] = []
    try:
        async with httpx.AsyncClient(base_url=first.base, timeout=10) as http:
            for n, rgb in enumerate((RED, GREEN, BLUE)):
                await add_shot(a, http, f"s{n}", (100, 100, rgb), duration_s=3, camera_movement="push_in")
        started = await a.request(
            {"type": "job.start", "kind": "export", "params": {"aspect_ratio": "1:1", "transition": "crossfade"}}
        )
        job_id = started["job"]["id"]
        await a.expect(job_update(job_id, rendering), timeout=60)
        assert first.proc is not None
        stray = ffmpegs(f"export-{job_id}-", parent=first.proc.pid)
        assert len(stray) == 1 and len(scratch_dirs(job_id, scratch)) == 1
        os.kill(stray[0], signal.SIGSTOP)
        first.kill()
        assert alive(stray[0])  # nothing killed it with its server
        second = ServerProcess(tmp_path / "data", env)
        await second.start()
        b = await second.connect("crash")
        async with httpx.AsyncClient(base_url=second.base, timeout=10) as http:
            job = (await http.get(f"/api/jobs/{job_id}")).json()
            if job["status"] not in ("completed", "failed", "cancelled"):
                job = (await finished(b, job_id, timeout=120))["job"]
            assert job["status"] == "completed", (job, second.log()[-3000:])
            result = job["result"]
            assert result["shots"] == 3 and abs(result["duration_s"] - 8.0) <= 0.05, result  # 3 x 3 s - 2 x 0.5 s
            film = await download(http, result["url"], tmp_path)
        info = streams(film)
        assert info.size == (720, 720) and info.video == "h264" and info.audio == "aac"
        assert abs(info.duration - 8.0) <= 0.1
        assert f"job {job_id} (export) claimed, run 2" in second.log()
        assert not alive(stray[0]), "the stray ffmpeg of the dead run was left running"
        assert scratch_dirs(job_id, scratch) == []
        made = sorted(p.name for p in (tmp_path / "data" / "media").iterdir() if job_id in p.name)
        assert made == sorted(Path(result[k]).name for k in ("otio_url", "url"))  # one film, no partial file
        await b.close()
        assert await second.terminate() == 0
    finally:
        for pid in stray:  # whatever happened: no ffmpeg of this test outlives it
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in stray) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
