"""The lifespan owns everything through one exit stack: a failure half-way through start-up closes what was opened,
and a normal shutdown stops and awaits every background task."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import app.assembly as main_module
from app.main import create_app
from tests.conftest import make_settings


async def test_a_failed_start_closes_the_database_client(
    db_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change stream refusing to open (after the client and the providers are up) must not leak them: the
    client is closed and the error reaches the caller (before, a failed fanout.start() left the client open)."""
    closed: list[str] = []
    real_connect = main_module.connect

    async def connect(*args: Any, **kwargs: Any) -> Any:
        client = await real_connect(*args, **kwargs)
        real_close = client.close

        async def close() -> None:
            closed.append("client")
            await real_close()

        client.close = close
        return client

    async def refuse(self: Any) -> None:
        raise RuntimeError("no change streams here")

    monkeypatch.setattr(main_module, "connect", connect)
    monkeypatch.setattr(main_module.ChangeStreamFanout, "start", refuse)
    app = create_app(make_settings(tmp_path / "data", db_uri, fanout="changestream"))
    with pytest.raises(RuntimeError, match="no change streams here"):
        async with app.router.lifespan_context(app):
            pass
    assert closed == ["client"]


async def test_shutdown_awaits_every_background_task(db_uri: str, tmp_path: Path) -> None:
    """After the lifespan exits, none of the tasks it started is still pending."""
    before = set(asyncio.all_tasks())
    app = create_app(make_settings(tmp_path / "data", db_uri, fanout="changestream"))
    async with app.router.lifespan_context(app):
        started = {t for t in asyncio.all_tasks() if t not in before and not t.done()}
        assert {t.get_name() for t in started} >= {"db-health", "the poller", "jobs"}
    assert [t.get_name() for t in started if not t.done()] == []
