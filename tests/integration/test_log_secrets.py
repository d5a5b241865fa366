"""``python -m app`` with AUTH_TOKEN set, at INFO and at DEBUG: the token, sent every way the server accepts
(and one it refuses), never reaches the console or any file under DATA_DIR/logs, raw or percent-encoded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import ServerProcess

pytestmark = pytest.mark.slow

SECRET = "LeAk/Se+cr3t=Zq9x"  # '/', '+' and '=' are percent-encoded in a query
ENCODED = quote(SECRET, safe="")


def _leaks(text: str) -> list[str]:
    forms = {SECRET, ENCODED, ENCODED.lower(), quote_plus(SECRET), "Zq9x"}
    return [line for line in text.splitlines() if any(form in line for form in forms)]


async def _reply(conn: ClientConnection) -> dict[str, Any]:
    """The next frame that is not presence (an earlier session's presence.left may still be on its way)."""
    while True:
        message: dict[str, Any] = json.loads(await conn.recv())
        if not message["type"].startswith("presence."):
            return message


async def _session(url: str, headers: dict[str, str]) -> bool:
    """Connect; when accepted, make two requests (one answered with an error, logged at DEBUG). False: refused."""
    async with connect(url, additional_headers=headers) as conn:
        try:
            assert json.loads(await conn.recv())["type"] == "connection.ready"
        except ConnectionClosed as refused:
            assert refused.rcvd is not None and refused.rcvd.code == 1008
            return False
        await conn.send(json.dumps({"type": "workspace.list", "id": "l1"}))
        assert (await _reply(conn))["type"] == "workspace.list_result"
        missing = {"type": "workspace.update", "id": "u1", "workspace_id": "0" * 24, "updates": {"title": "x"}}
        await conn.send(json.dumps(missing))
        assert (await _reply(conn))["code"] == "not_found"
        return True


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_token_never_reaches_console_or_log_files(tmp_path: Path, level: str) -> None:
    """The token sent every way: ``?token=``, ``?%74oken=`` (parse_qs decodes the key: accepted today),
    ``?TOKEN=`` (keys are case-sensitive: refused), ``Authorization: Bearer``, ``X-API-Token``, over the WebSocket
    and HTTP. Accepted or refused, uvicorn's lines for them are logged without the query, and the secret is in
    none of the output."""
    proc = ServerProcess(tmp_path / "data", env={"LOG_LEVEL": level, "AUTH_TOKEN": SECRET})
    await proc.start()
    ws = f"ws://127.0.0.1:{proc.port}/ws"
    assert await _session(f"{ws}?project=p&token={ENCODED}", {})
    assert await _session(ws, {"Authorization": f"Bearer {SECRET}"})
    assert await _session(ws, {"X-API-Token": SECRET})
    await _session(f"{ws}?%74oken={ENCODED}", {})
    assert not await _session(f"{ws}?TOKEN={ENCODED}", {})
    async with httpx.AsyncClient(base_url=proc.base) as http:
        for path, headers in [
            (f"/api/workspaces?token={ENCODED}", {}),
            ("/api/workspaces", {"Authorization": f"Bearer {SECRET}"}),
            ("/api/workspaces", {"X-API-Token": SECRET}),
        ]:
            assert (await http.get(path, headers=headers)).status_code == 200, path
        assert (await http.get(f"/api/workspaces?%74oken={ENCODED}&TOKEN={ENCODED}")).status_code in (200, 401)
    assert await proc.terminate() == 0

    console = proc.log()
    files = {p: p.read_text(errors="replace") for p in sorted((proc.data_dir / "logs").rglob("*")) if p.is_file()}
    assert not _leaks(console), _leaks(console)
    for path, text in files.items():
        assert not _leaks(text), (path, _leaks(text))
    assert console.count('- "WebSocket /ws" ') == 5, console[-3000:]  # uvicorn's lines are there, query-less
    assert "GET /api/workspaces 200" in console
    records = [json.loads(line)["record"] for line in files[proc.data_dir / "logs" / "server.jsonl"].splitlines()]
    assert sum('- "WebSocket /ws" ' in r["message"] for r in records) == 5
    if level == "DEBUG":
        assert "| DEBUG   | error not_found detail" in console  # DEBUG was really on
