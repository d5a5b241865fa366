"""The attacks of issue 11 item 1, end to end: a provider's status naming a file of the server, an internal service,
a redirect inward or an endless body. A real server with VIDEO_PROVIDER=runway on the fake Runway API (its base URL
on 127.0.0.1, so its own /files/ URLs are trusted, PROTOCOL.md 9.5); an "internal admin" service on another
loopback port records every connection made to it. Each refused URL fails the generation at once with
provider_error and leaves nothing under /media."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bson import ObjectId
from starlette.responses import RedirectResponse, Response, StreamingResponse

from app.db import free_port, utcnow
from tests.fakes.runway import VIDEO_BYTES, FakeRunway
from tests.integration.test_video import runway_env, shot, until_status
from tests.support import LiveServer

SECRET = "RUNWAY_API_KEY=sk-live-do-not-serve"


class Internal:
    """A service only the server's host can reach (an admin page, a metadata endpoint): counts connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nSECRET-ADMIN")
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunway]:
    server = FakeRunway()
    server.script.states = [{"status": "SUCCEEDED"}]  # done at the first poll: any retry would show as a 2nd poll
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    service = Internal()
    await service.start()
    yield service
    await service.stop()


def media_files(server: LiveServer) -> list[Path]:
    folder = server.settings.media_dir
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def generate(server: LiveServer, project: str) -> tuple[str, dict]:
    c = await server.connect(project)
    wid = await shot(server, c)
    reply = await c.request({"type": "video.generate", "workspace_id": wid})
    assert reply["type"] == "video.status_update", reply
    return wid, (await until_status(c, wid, {"completed", "failed"}))[-1]


def assert_refused(final: dict, server: LiveServer, fake: FakeRunway) -> None:
    assert final["status"] == "failed", final
    assert final["error"]["code"] == "provider_error" and "refused" in final["error"]["message"], final
    assert final["url"] is None and final["source_url"] is None
    assert media_files(server) == []  # nothing of it under /media, not even a partial copy
    assert [task.polls for task in fake.tasks.values()] == [1]  # failed at once, not after download retries


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://{data}/.env",
        "http://127.0.0.1:{internal}/internal-admin",
        "https://127.0.0.1:{internal}/internal-admin",
        "https://localhost:{internal}/internal-admin",
        "https://[::ffff:127.0.0.1]:{internal}/internal-admin",
        "https://2130706433:{internal}/internal-admin",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    ],
)
async def test_a_provider_cannot_make_the_server_fetch_its_own_files_or_services(
    start_server, fake, internal, monkeypatch, tmp_path, url
) -> None:
    """The status names a file of the server or an internal service: the generation fails with provider_error,
    the file is not served, and the internal service is never even connected to."""
    runway_env(fake, monkeypatch)
    data = tmp_path / "d"
    data.mkdir()
    (data / ".env").write_text(SECRET)
    fake.script.output_url = url.format(data=data, internal=internal.port)
    server = await start_server(video_provider="runway", data_dir=data)
    _, final = await generate(server, "pm")
    assert_refused(final, server, fake)
    assert internal.connections == 0
    async with server.http() as http:
        assert (await http.get(f"/api/workspaces/{_}")).json()["video"] == final


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{internal}/internal-admin",
        "https://localhost:{internal}/internal-admin",
        "file:///etc/passwd",
    ],
)
async def test_a_redirect_from_the_trusted_base_inward_is_refused(
    start_server, fake, internal, monkeypatch, location
) -> None:
    """The provider's own (trusted) file URL redirects to loopback on another port: that hop is checked and refused."""
    runway_env(fake, monkeypatch)
    target = location.format(internal=internal.port)
    fake.script.files["hop.mp4"] = lambda: RedirectResponse(target, status_code=302)
    fake.script.output_url = f"{fake.base_url}/files/hop.mp4"
    server = await start_server(video_provider="runway")
    _, final = await generate(server, "pmr")
    assert_refused(final, server, fake)
    assert ("GET", "/files/hop.mp4") in [(m, p) for m, p, _ in fake.requests]  # the first hop was fetched
    assert internal.connections == 0


async def test_redirects_within_the_trusted_base_still_work(start_server, fake, monkeypatch) -> None:
    """Redirects are followed by hand: a chain within the provider's own origin ends in the downloaded video."""
    runway_env(fake, monkeypatch)
    fake.script.files["a.mp4"] = lambda: RedirectResponse("/files/b.mp4", status_code=301)
    fake.script.files["b.mp4"] = lambda: RedirectResponse(f"{fake.base_url}/files/c.mp4", status_code=307)
    fake.script.output_url = f"{fake.base_url}/files/a.mp4"
    server = await start_server(video_provider="runway")
    _, final = await generate(server, "pmok")
    assert final["status"] == "completed", final
    assert final["source_url"] == fake.script.output_url
    async with server.http() as http:
        assert (await http.get(final["url"])).content == VIDEO_BYTES
    hops = [p for _, p, _ in fake.requests if p.startswith("/files/")]
    assert hops == ["/files/a.mp4", "/files/b.mp4", "/files/c.mp4"]


async def test_an_endless_chunked_body_is_cut_at_the_cap(start_server, fake, monkeypatch) -> None:
    """A chunked body (no Content-Length) that never ends: refused once the cap is passed, no partial file kept.
    (Without a cap counted as bytes arrive, the download would never end and the test would time out.)"""
    runway_env(fake, monkeypatch)
    done = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while not done.is_set():
            yield b"v" * (64 * 1024)
            await asyncio.sleep(0)

    fake.script.files["big.mp4"] = lambda: StreamingResponse(endless(), media_type="video/mp4")
    fake.script.output_url = f"{fake.base_url}/files/big.mp4"
    server = await start_server(video_provider="runway")
    server.runtime.poller.fetcher.max_bytes = 256 * 1024
    try:
        _, final = await generate(server, "pmbig")
    finally:
        done.set()
    assert_refused(final, server, fake)
    assert "larger than" in final["error"]["message"]


async def test_a_content_length_over_the_cap_is_refused_without_reading_the_body(
    start_server, fake, monkeypatch
) -> None:
    """Content-Length: 10 GiB and a body that never comes: refused from the headers, not after a read timeout."""
    runway_env(fake, monkeypatch)
    never = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"v" * 1024
        await never.wait()

    def huge() -> Response:
        return StreamingResponse(body(), media_type="video/mp4", headers={"content-length": str(10 * 1024**3)})

    fake.script.files["huge.mp4"] = huge
    fake.script.output_url = f"{fake.base_url}/files/huge.mp4"
    server = await start_server(video_provider="runway")
    server.runtime.poller.fetcher.max_bytes = 256 * 1024
    try:
        _, final = await generate(server, "pmhuge")
    finally:
        never.set()
    assert_refused(final, server, fake)
    assert "Content-Length" in final["error"]["message"]


async def test_the_local_provider_cannot_hand_over_a_file_outside_its_render_directory(start_server, tmp_path) -> None:
    """A finished local render whose video.mp4 is a symlink to a secret: the file it resolves to is outside the
    render directory, so it is refused and not copied under /media."""
    data = tmp_path / "d"
    (data / "render" / "local_0badc0ffee").mkdir(parents=True)
    (data / ".env").write_text(SECRET)
    (data / "render" / "local_0badc0ffee" / "video.mp4").symlink_to(data / ".env")
    server = await start_server(video_provider="local", data_dir=data)
    c = await server.connect("pml")
    wid = await shot(server, c)
    now = utcnow()
    video = {"status": "generating", "provider": "local", "task_id": "local_0badc0ffee", "progress": 10}
    video |= {"url": None, "source_url": None, "error": None, "updated_at": now, "started_at": now}
    await server.runtime.poller.workspaces.update_one({"_id": ObjectId(wid)}, {"$set": {"video": video}})
    final = (await until_status(c, wid, {"completed", "failed"}))[-1]
    assert final["status"] == "failed" and final["error"]["code"] == "provider_error", final
    assert "outside" in final["error"]["message"] and final["url"] is None
    assert media_files(server) == []
