"""MEDIA_STORE=s3 (PROTOCOL.md 9.2) against a real S3 HTTP API: moto's server in its own thread on loopback,
path-style, a bucket per test (tests/fixtures_s3.py). Every object is listed back with an S3 client, every 307 is
followed to the bucket to show it serves the bytes, and every refused direct upload is shown gone from the bucket.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from PIL import Image

from tests.fixtures_s3 import Bucket
from tests.integration.test_audio_upload import KINDS, sine
from tests.integration.test_scaleout import _env
from tests.integration.test_video import until_status
from tests.support import LiveServer, ServerProcess

CSP = "default-src 'none'"


def png(size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def _s3_server(start_server: Any, bucket: Bucket, **extra: Any) -> LiveServer:
    server: LiveServer = await start_server(**bucket.settings(), **extra)
    return server


def _served_headers(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith(CSP)


async def _follow(r: httpx.Response) -> httpx.Response:
    """Our 307 followed to the bucket by a plain client (no credentials of ours)."""
    assert r.status_code == 307, r.text
    _served_headers(r)
    assert r.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient() as bare:
        return await bare.get(r.headers["location"])


async def test_an_upload_goes_to_the_bucket_and_is_served_by_a_presigned_redirect(
    start_server: Any, s3_bucket: Bucket, tmp_path: Path
) -> None:
    server = await _s3_server(start_server, s3_bucket, data_dir=tmp_path / "data")
    picture = png()
    async with server.http() as http:
        r = await http.post("/api/upload/image", files={"image": ("k.png", picture, "image/png")})
        assert r.status_code == 201, r.text
        name = r.json()["image_path"].removeprefix("uploads/")
        assert await s3_bucket.keys() == [f"uploads/{name}"]
        assert not list((tmp_path / "data").rglob("*.png"))  # nothing of it on this machine's disk

        got = await _follow(await http.get(f"/uploads/{name}"))
        assert got.status_code == 200 and got.content == picture
        assert got.headers["content-type"] == "image/png"  # ours, chosen by content

        missing = await http.get("/uploads/0123456789abcdef01234567.png")
        assert missing.status_code == 404 and "location" not in missing.headers  # ours, not the bucket's
        _served_headers(missing)
        assert (await http.get("/uploads/..%2Fmedia%2Fx.mp4")).status_code == 404
        assert (await http.post(f"/uploads/{name}")).status_code == 405


async def test_a_failed_video_copy_leaves_no_object(start_server: Any, s3_bucket: Bucket) -> None:
    """save_video is all or nothing on S3 too: a source that breaks half-way leaves nothing under its name."""
    server = await _s3_server(start_server, s3_bucket)

    async def broken() -> AsyncIterator[bytes]:
        yield b"\0" * (6 * 1024 * 1024)  # past the first part of a multipart upload
        raise ConnectionError("the provider hung up")

    with pytest.raises(ConnectionError):
        await server.runtime.media.save_video("w-1.mp4", broken())
    assert await s3_bucket.keys() == []
    async with server.http() as http:
        assert (await http.get("/media/w-1.mp4")).status_code == 404

    async def whole() -> AsyncIterator[bytes]:
        yield b"mp4 bytes"

    await server.runtime.media.save_video("w-1.mp4", whole())  # the same name, copied whole: now it is there
    assert await s3_bucket.keys() == ["media/w-1.mp4"]


@pytest.mark.slow
async def test_a_local_render_ends_in_the_bucket(start_server: Any, s3_bucket: Bucket, tmp_path: Path) -> None:
    """The offline renderer gets the picture's bytes (no local file in S3 mode) and its MP4 goes to the bucket;
    /media answers 307 to a URL serving a 1 s 16:9 H.264 clip."""
    server = await _s3_server(start_server, s3_bucket, data_dir=tmp_path / "data")
    c = await server.connect("s3film")
    ws = await c.create(title="offline", form_data={"prompt": "a kite", "duration_s": 1, "aspect_ratio": "16:9"})
    async with server.http() as http:
        r = await http.post(
            "/api/upload/image", files={"image": ("k.png", png(), "image/png")}, data={"workspace_id": ws["id"]}
        )
        assert r.status_code == 201
        r = await http.post("/api/generate/video", json={"workspace_id": ws["id"]})
        assert r.status_code == 202, r.text
        final = (await until_status(c, ws["id"], {"completed", "failed"}, timeout=90))[-1]
        assert final["status"] == "completed", final
        name = final["url"].removeprefix("/media/")
        assert f"media/{name}" in await s3_bucket.keys("media")
        got = await _follow(await http.get(final["url"]))
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    assert not (tmp_path / "data" / "media").exists()  # kept in the bucket only (the renderer's own folder aside)
    out = tmp_path / "got.mp4"
    out.write_bytes(got.content)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    reader.close()
    assert frames == 24 and abs(seconds - 1.0) < 0.1 and tuple(meta["size"]) == (1280, 720)


async def _presign_put(http: httpx.AsyncClient, body: bytes, declared: int | None = None, **fields: Any) -> str:
    r = await http.post(
        "/api/upload/presign",
        json={"kind": "image", "content_type": "image/png", "size": declared or len(body), **fields},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["method"] == "PUT" and answer["path"].startswith("uploads/")
    async with httpx.AsyncClient() as bare:  # straight to the bucket, not through us
        put = await bare.put(answer["upload_url"], content=body, headers=answer["headers"])
    assert put.status_code == 200, put.text
    path: str = answer["path"]
    return path


async def test_presign_put_commit_attaches_like_an_upload(start_server: Any, s3_bucket: Bucket) -> None:
    server = await _s3_server(start_server, s3_bucket)
    a, b = await server.connect("direct"), await server.connect("direct")
    ws = await a.create(title="shot")
    await b.expect_type("workspace.created")
    picture = png((40, 30))
    async with server.http() as http:
        path = await _presign_put(http, picture)
        name = path.removeprefix("uploads/")
        assert (await http.get(f"/{path}")).status_code == 404  # not served before it is checked
        r = await http.post("/api/upload/commit", json={"path": path, "workspace_id": ws["id"]})
        assert r.status_code == 201, r.text
        assert r.json() == {
            "image_path": path,
            "image_url": f"/{path}",
            "content_type": "image/png",
            "width": 40,
            "height": 30,
            "size": len(picture),
        }
        updated = await b.expect_type("workspace.updated")
        assert updated["changes"] == {"image_path": path, "image_url": f"/{path}"}
        assert await s3_bucket.keys() == [path]  # the waiting object is gone, the checked one kept
        got = await _follow(await http.get(f"/uploads/{name}"))
        assert got.content == picture and got.headers["content-type"] == "image/png"
        again = await http.post("/api/upload/commit", json={"path": path})  # a retried commit: same answer
        assert again.status_code == 201 and again.json() == r.json()


async def test_a_direct_upload_that_fails_its_check_is_deleted(start_server: Any, s3_bucket: Bucket) -> None:
    server = await _s3_server(start_server, s3_bucket, max_upload_bytes=50_000)
    c = await server.connect("direct")
    ws = await c.create(title="shot")
    async with server.http() as http:
        html = b"<html><script>alert(1)</script></html>"
        path = await _presign_put(http, html)
        assert len(await s3_bucket.keys("incoming")) == 1
        r = await http.post("/api/upload/commit", json={"path": path, "workspace_id": ws["id"]})
        assert r.status_code == 415 and "not a PNG" in r.json()["error"]["message"]
        assert await s3_bucket.keys() == []

        picture = png()
        path = await _presign_put(http, picture + b"\0" * 1000, declared=len(picture))  # more than it declared
        r = await http.post("/api/upload/commit", json={"path": path})
        assert r.status_code == 413 and "declared" in r.json()["error"]["message"]
        assert await s3_bucket.keys() == []

        r = await http.post("/api/upload/presign", json={"kind": "image", "content_type": "image/png", "size": 50_001})
        assert r.status_code == 413
        r = await http.post("/api/upload/presign", json={"kind": "image", "content_type": "text/html", "size": 10})
        assert r.status_code == 415

        missing = "uploads/0123456789abcdef01234567.png"
        assert (await http.post("/api/upload/commit", json={"path": missing})).status_code == 404
        assert (await http.post("/api/upload/commit", json={"path": "incoming/x/1"})).status_code == 404
        assert (await http.post("/api/upload/commit", content=b"path=x")).status_code == 415  # JSON only
        assert (await http.get(f"/api/workspaces/{ws['id']}?project=direct")).json()["image_path"] is None


async def _put_direct(http: httpx.AsyncClient, content_type: str, data: bytes, **extra: Any) -> str:
    r = await http.post(
        "/api/upload/presign", json={"kind": "audio", "content_type": content_type, "size": len(data), **extra}
    )
    assert r.status_code == 200, r.text
    async with httpx.AsyncClient() as bare:
        assert (await bare.put(r.json()["upload_url"], content=data, headers=r.json()["headers"])).is_success
    path: str = r.json()["path"]
    return path


async def test_audio_goes_straight_to_the_bucket_and_its_commit_answers_as_the_audio_upload(
    start_server: Any, s3_bucket: Bucket
) -> None:
    """PROTOCOL.md 9.2: presign kind audio, PUT, commit -> checked by content and measured, 201 as POST
    /api/upload/audio answers; a commit again gives the same answer; a file that is not the declared audio is 415
    and deleted."""
    server = await _s3_server(start_server, s3_bucket)
    music = sine(2.0, KINDS["mp3"][0])
    async with server.http() as http:
        path = await _put_direct(http, "audio/mpeg", music, project="tunes")
        assert path.endswith(".mp3")
        commit = await http.post("/api/upload/commit", json={"path": path})
        assert commit.status_code == 201, commit.text
        body = commit.json()
        assert body["audio_path"] == path and body["audio_url"] == f"/{path}" and body["size"] == len(music)
        assert body["content_type"] == "audio/mpeg" and abs(body["duration_s"] - 2.0) <= 0.1
        again = await http.post("/api/upload/commit", json={"path": path})
        assert again.status_code == 201 and again.json() == body
        assert await s3_bucket.keys() == [path]
        served = await _follow(await http.get(f"/{path}?project=tunes"))
        assert served.content == music

        wav_as_mp3 = await _put_direct(http, "audio/mpeg", sine(1.0))
        refused = await http.post("/api/upload/commit", json={"path": wav_as_mp3})
        assert refused.status_code == 415 and "not the type declared" in refused.json()["error"]["message"]
        picture = await _put_direct(http, "audio/mpeg", png())
        refused = await http.post("/api/upload/commit", json={"path": picture})
        assert refused.status_code == 415, refused.text
        with_shot = await _put_direct(http, "audio/mpeg", music)
        refused = await http.post("/api/upload/commit", json={"path": with_shot, "workspace_id": "0" * 24})
        assert refused.status_code in (400, 404), refused.text
    # what failed its check is gone; the refused commit changed nothing (its object still waits for a commit)
    keys = await s3_bucket.keys()
    assert [k for k in keys if k.startswith("uploads/")] == [path]
    assert [k for k in keys if not k.startswith("uploads/")] == [k for k in keys if with_shot[8:] in k]


async def test_disk_mode_has_no_direct_uploads(server: LiveServer) -> None:
    async with server.http() as http:
        r = await http.post("/api/upload/presign", json={"kind": "image", "content_type": "image/png", "size": 10})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert (await http.post("/api/upload/commit", json={"path": "uploads/x.png"})).status_code == 404


@pytest.mark.slow
async def test_two_processes_share_media_through_the_bucket_not_a_disk(
    tmp_path: Path, db_uri: str, s3_bucket: Bucket
) -> None:
    """FANOUT=changestream, MEDIA_STORE=s3, a DATA_DIR each: a picture uploaded through A is accepted as
    image_path and served through B."""
    env = {**_env(db_uri, tmp_path), **s3_bucket.env()}
    a, b = ServerProcess(tmp_path / "a", env), ServerProcess(tmp_path / "b", env)
    await asyncio.gather(a.start(), b.start())
    picture = png()
    async with httpx.AsyncClient() as http:
        r = await http.post(
            a.base + "/api/upload/image", files={"image": ("k.png", picture, "image/png")}, data={"project": "scale"}
        )
        assert r.status_code == 201, r.text
        path = r.json()["image_path"]
        served = await http.get(f"{b.base}/{path}")
        assert (await _follow(served)).content == picture
    tab = await b.connect("scale")
    ws = await tab.create(title="on b")
    reply = await tab.request(
        {"type": "workspace.update", "workspace_id": ws["id"], "updates": {"image_path": path, "image_url": f"/{path}"}}
    )
    assert reply["type"] == "workspace.sync_confirm", reply  # B checked the upload in the bucket
    assert not list((tmp_path / "a").rglob("*.png")) and not list((tmp_path / "b").rglob("*.png"))
