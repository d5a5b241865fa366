"""``POST /api/upload/audio`` (PROTOCOL.md 8.4) against a real server: real files of every accepted kind made by
ffmpeg, their kind decided by content (never by name or the client's type), their length measured, stored as
``uploads/<hex>.<ext>`` and served back byte for byte; everything else refused with nothing stored; per-project
tokens; the S3 store; and an export that takes the returned ``audio_path`` as its music."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from PIL import Image

from tests.fixtures_s3 import Bucket
from tests.integration.test_auth_projects import ADMIN_KEY, SECRET, bearer, token
from tests.integration.test_jobs import finished
from tests.support import LiveServer

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SECONDS = 1.5

# (ffmpeg encoder and muxer arguments, content type, extension)
KINDS: dict[str, tuple[list[str], str, str]] = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3"], "audio/mpeg", "mp3"),
    "wav": (["-c:a", "pcm_s16le", "-f", "wav"], "audio/wav", "wav"),
    "opus": (["-c:a", "libopus", "-b:a", "48k", "-f", "ogg"], "audio/ogg", "ogg"),
    "vorbis": (["-c:a", "libvorbis", "-f", "ogg"], "audio/ogg", "ogg"),  # accepted too (see app/audio.py)
    "flac": (["-c:a", "flac", "-f", "flac"], "audio/flac", "flac"),
    "m4a": (["-c:a", "aac", "-b:a", "96k", "-f", "ipod"], "audio/mp4", "m4a"),  # brand "M4A "
    "mp4-isom": (["-c:a", "aac", "-b:a", "96k", "-f", "mp4"], "audio/mp4", "m4a"),  # brand "isom", audio only
    "adts": (["-c:a", "aac", "-b:a", "96k", "-f", "adts"], "audio/aac", "aac"),
}


def ffmpeg_file(args: list[str]) -> bytes:
    """What ffmpeg writes with ``args`` (inputs, codecs, muxer), through a file: the MP4 muxers cannot write to
    a pipe without fragmenting."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out"
        subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", *args, str(path)], check=True)
        return path.read_bytes()


def sine(seconds: float = SECONDS, args: list[str] | None = None) -> bytes:
    """A 440 Hz sine of ``seconds`` encoded as ``args`` say (default WAV)."""
    source = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    return ffmpeg_file([*source, *(args or KINDS["wav"][0])])


def mp4_with_video() -> bytes:
    """An ordinary MP4 video (H.264 + AAC, brand isom): not an audio file."""
    return ffmpeg_file(
        ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-f", "lavfi", "-i", "sine=duration=1",
         "-c:v", "libx264", "-c:a", "aac", "-shortest", "-f", "mp4"]
    )  # fmt: skip


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


def stored(server: LiveServer) -> list[str]:
    return sorted(p.name for p in server.settings.uploads_dir.iterdir())


def check_answer(body: dict[str, Any], data: bytes, content_type: str, ext: str) -> None:
    assert set(body) == {"audio_path", "audio_url", "content_type", "duration_s", "size"}
    assert re.fullmatch(rf"uploads/[0-9a-f]{{24}}\.{ext}", body["audio_path"]), body
    assert body["audio_url"] == "/" + body["audio_path"]
    assert body["content_type"] == content_type and body["size"] == len(data)
    assert abs(body["duration_s"] - SECONDS) <= 0.1, body


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_is_recognised_measured_and_served_back(server: LiveServer, kind: str) -> None:
    """Sent as "song.bin" with a generic type, each kind gets its own content type and extension, its measured
    length (1.5 s +- 0.1), its size, and is served back at audio_url byte for byte."""
    args, content_type, ext = KINDS[kind]
    data = sine(args=args)
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"file": ("song.bin", data, "application/octet-stream")})
        assert r.status_code == 201, r.text
        body = r.json()
        check_answer(body, data, content_type, ext)
        served = await http.get(body["audio_url"])
        assert served.status_code == 200 and served.content == data
        assert served.headers["content-type"].startswith("audio/")
        assert served.headers["x-content-type-options"] == "nosniff"
    assert stored(server) == [body["audio_path"].removeprefix("uploads/")]


async def test_the_audio_field_and_a_longer_file(server: LiveServer) -> None:
    """The field may be "audio"; the length is the file's own (4.25 s), not a constant."""
    data = sine(4.25, KINDS["mp3"][0])
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"audio": ("a.wav", data, "audio/wav")})
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "audio/mpeg" and abs(r.json()["duration_s"] - 4.25) <= 0.1


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        (png(), 415, "not audio"),  # a PNG named x.mp3, sent as audio/mpeg
        (b"just some text, no sound at all" * 10, 415, "not audio"),
        (b"RIFF\x10\x00\x00\x00WAVE" + bytes(range(256)) * 8, 415, "cannot read"),  # a WAV by its magic only
        (b"OggS\x00\x02" + b"\x00" * 20 + b"\x01" + b"\x1e" + b"\x01vorbis" + b"\x00" * 64, 415, "cannot read"),
        (b"OggS\x00\x02" + b"\x00" * 20 + b"\x01" + b"\x1e" + b"\x80theora" + b"\x00" * 64, 415, "not audio"),
        (b"", 400, "empty"),
    ],
    ids=["png-named-mp3", "text", "wav-magic-garbage", "ogg-vorbis-garbage", "ogg-theora", "empty"],
)
async def test_refused_by_content_and_nothing_is_stored(
    server: LiveServer, payload: bytes, status: int, words: str
) -> None:
    """What is no accepted audio is 415 (400 when empty), whatever its name and type say; nothing is stored."""
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"audio": ("x.mp3", payload, "audio/mpeg")})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == "invalid_message" and words in r.json()["error"]["message"]
    assert stored(server) == []


async def test_a_video_and_a_wav_without_samples_are_refused(server: LiveServer) -> None:
    """An MP4 video (brand isom, like an M4A) is refused for its video track; so is a WAV cut short of any
    sample; nothing is stored."""
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"audio": ("a.m4a", mp4_with_video(), "audio/mp4")})
        assert r.status_code == 415 and "video track" in r.json()["error"]["message"], r.text
        header_only = sine(args=KINDS["wav"][0])[:44]
        r = await http.post("/api/upload/audio", files={"audio": ("a.wav", header_only, "audio/wav")})
        assert r.status_code == 415, r.text
    assert stored(server) == []


async def test_no_file_a_form_without_one_and_over_the_limit(start_server: Any) -> None:
    """No file is 400 (a form without one, a body that is no form); over MAX_UPLOAD_BYTES is 413, by the declared
    length and by the bytes themselves; a bad project name is 400; nothing is stored."""
    server = await start_server(max_upload_bytes=50_000)
    big = sine(2.0)  # 16-bit 44.1 kHz mono: ~176 kB
    assert len(big) > 50_000
    async with server.http() as http:
        r = await http.post("/api/upload/audio", data={"project": "x"})
        assert r.status_code == 400 and "no file" in r.json()["error"]["message"], r.text
        r = await http.post("/api/upload/audio", files={"picture": ("a.wav", sine(0.3), "audio/wav")})
        assert r.status_code == 400, r.text
        r = await http.post("/api/upload/audio", content=b"not a form", headers={"Content-Type": "text/plain"})
        assert r.status_code == 400, r.text
        r = await http.post("/api/upload/audio", files={"audio": ("big.wav", big, "audio/wav")})
        assert r.status_code == 413 and r.json()["error"]["code"] == "invalid_message", r.text

        async def chunked() -> Any:  # no Content-Length: the limit holds on the bytes read
            body = b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
            yield body + big[:60_000] + b"\r\n--b--\r\n"

        r = await http.post(
            "/api/upload/audio", content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert r.status_code == 413, r.text
        small = sine(0.5)
        r = await http.post(
            "/api/upload/audio", files={"audio": ("a.wav", small, "audio/wav")}, data={"project": "no way"}
        )
        assert r.status_code == 400 and "project" in r.json()["error"]["message"], r.text
    assert stored(server) == []


async def test_per_project_tokens(start_server: Any) -> None:
    """An editor of project a uploads into a and reads it back; a token of project b gets 404 for that file and
    for an upload into a; a viewer of a is refused with 403; no token is 401."""
    server = await start_server(auth_jwt_secret=SECRET, auth_token=ADMIN_KEY)
    data = sine(args=KINDS["flac"][0])
    a, b = bearer(token("editor", ["a"])), bearer(token("editor", ["b"]))
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"audio": ("s", data)}, data={"project": "a"}, headers=a)
        assert r.status_code == 201, r.text
        url = r.json()["audio_url"]
        assert (await http.get(url, headers=a)).content == data
        assert (await http.get(url, headers=b)).status_code == 404
        refused = await http.post("/api/upload/audio", files={"audio": ("s", data)}, data={"project": "a"}, headers=b)
        assert refused.status_code == 404, refused.text
        viewer = bearer(token("viewer", ["a"]))
        r = await http.post("/api/upload/audio", files={"audio": ("s", data)}, data={"project": "a"}, headers=viewer)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await http.post("/api/upload/audio", files={"audio": ("s", data)})).status_code == 401
    assert len(stored(server)) == 1


async def test_the_s3_store_keeps_it_in_the_bucket(start_server: Any, s3_bucket: Bucket, tmp_path: Path) -> None:
    """With MEDIA_STORE=s3 the file goes to the bucket as uploads/<name> (nothing on this disk) and is served by a
    307 to a presigned URL with the content type found by content."""
    server = await start_server(**s3_bucket.settings(), data_dir=tmp_path / "data")
    data = sine(args=KINDS["opus"][0])
    async with server.http() as http:
        r = await http.post("/api/upload/audio", files={"audio": ("voice.mp3", data, "audio/mpeg")})
        assert r.status_code == 201, r.text
        body = r.json()
        check_answer(body, data, "audio/ogg", "ogg")
        assert await s3_bucket.keys() == [body["audio_path"]]
        assert not [p for p in (tmp_path / "data").rglob("*") if p.suffix == ".ogg"]
        redirect = await http.get(body["audio_url"])
        assert redirect.status_code == 307, redirect.text
    async with httpx.AsyncClient() as bare:
        got = await bare.get(redirect.headers["location"])
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "audio/ogg"


@pytest.mark.slow
async def test_an_export_plays_the_uploaded_audio_as_its_music(server: LiveServer) -> None:
    """The audio_path this route answers is what the export's params.music takes: a film of one 2 s still with
    the music under it completes, with a sound track."""
    c = await server.connect("music")
    shot = await c.create(title="Still", form_data={"prompt": "a quiet sea", "duration_s": 2})
    async with server.http() as http:
        r = await http.post("/api/upload/image", files={"image": ("p.png", png())}, data={"workspace_id": shot["id"]})
        assert r.status_code == 201, r.text
        elsewhere = await http.post("/api/upload/audio", files={"audio": ("m.mp3", sine(1.0, KINDS["mp3"][0]))})
        r = await http.post(
            "/api/jobs",
            json={"project": "music", "kind": "export", "params": {"music": elsewhere.json()["audio_path"]}},
        )  # another project's upload (here: default's) is not this project's to use (PROTOCOL.md 9.1)
        refused = await finished(c, r.json()["job"]["id"], timeout=30)
        assert refused["job"]["status"] == "failed" and refused["job"]["error"]["code"] == "invalid_message", refused
        assert "no such upload in this project" in refused["job"]["error"]["message"]
        r = await http.post(
            "/api/upload/audio", files={"audio": ("m.mp3", sine(3.0, KINDS["mp3"][0]))}, data={"project": "music"}
        )
        music = r.json()["audio_path"]
        r = await http.post("/api/jobs", json={"project": "music", "kind": "export", "params": {"music": music}})
        assert r.status_code == 202, r.text
        assert r.json()["job"]["params"]["music"] == music
        done = await finished(c, r.json()["job"]["id"], timeout=90)
        assert done["job"]["status"] == "completed", done
        film = await http.get(done["job"]["result"]["url"])
    assert film.status_code == 200
    probe = subprocess.run([FFMPEG, "-hide_banner", "-i", "pipe:0"], input=film.content, capture_output=True)
    text = probe.stderr.decode()
    assert "Audio: aac" in text and "Video: h264" in text
    assert abs(done["job"]["result"]["duration_s"] - 2.0) <= 0.1
