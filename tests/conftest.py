"""Session fixtures: one real database for the whole run (the embedded SecantusDB, started by the same
launcher the app uses, or ``MONGODB_URI``), and a factory of live servers on free ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.db import EmbeddedDatabase, free_port
from app.logging import setup_logging
from app.settings import Settings
from tests.support import LiveServer, ServerProcess

pytest_plugins = ["tests.fixtures_s3"]  # issue 14.2: moto's S3 server and a bucket per test

ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture(scope="session")
async def db_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    root = tmp_path_factory.mktemp("embedded")
    database = EmbeddedDatabase(root / "db", log_file=root / "db.log")
    uri = await database.start()
    yield uri
    await database.stop()


@pytest.fixture(scope="session", autouse=True)
def _quiet_logs() -> None:
    setup_logging(os.environ.get("TEST_LOG_LEVEL", "WARNING"), None)


def make_settings(data_dir: Path, db_uri: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "data_dir": data_dir,
        "mongodb_uri": SecretStr(db_uri),
        "mongodb_db": "t_" + uuid.uuid4().hex[:12],
        "ws_ping_interval_s": 0,
        "poll_interval_s": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def start_server(db_uri: str, tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Factory: ``await start_server(**settings)`` gives a started LiveServer; all are stopped afterwards."""
    servers: list[LiveServer] = []

    async def factory(**overrides: Any) -> LiveServer:
        data_dir = overrides.pop("data_dir", tmp_path / f"data{len(servers)}")
        server = LiveServer(make_settings(data_dir, db_uri, **overrides))
        await server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.stop()


@pytest.fixture(autouse=True)
def reap_processes() -> Iterator[None]:
    """No ``python -m app`` child outlives its test, even when the test failed half-way."""
    yield
    while ServerProcess.alive:
        ServerProcess.alive.pop().reap()


@pytest.fixture
async def server(start_server: ServerFactory) -> LiveServer:
    return await start_server()
