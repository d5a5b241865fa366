"""/metrics (issue 15.9): one prefix for all our metrics, counters for what only grows, the process collector,
HTTP requests by route template, and the update-to-confirm latency histogram."""

from __future__ import annotations

import re

from tests.support import LiveServer


def _samples(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:]+(?:\{.*\})?) ([0-9.eE+-]+)$", line)  # label values may hold braces
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


async def test_metrics_are_prefixed_typed_and_cover_http_and_confirmations(server: LiveServer) -> None:
    """Our metrics all start workspace_server_; what only grows is a counter (_total, TYPE counter), open file
    descriptors are exported, each request is counted under its route template (not its raw path, which would
    make one series per id), and every confirmed update lands in the confirmation latency histogram."""
    c = await server.connect()
    ws = await c.create(title="m")
    for i in range(3):
        reply = await c.request({"type": "workspace.update", "workspace_id": ws["id"], "updates": {"title": f"t{i}"}})
        assert reply["type"] == "workspace.sync_confirm"
    async with server.http() as http:
        assert (await http.get(f"/api/workspaces/{ws['id']}")).status_code == 200
        assert (await http.get("/api/workspaces/" + "0" * 24)).status_code == 404
        text = (await http.get("/metrics")).text
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    ours = [name for name in types if not name.startswith(("process_", "python_"))]
    assert ours and all(name.startswith("workspace_server_") for name in ours), ours
    assert types["workspace_server_db_workspace_write_commands_total"] == "counter"  # a gauge before
    samples = _samples(text)
    assert samples["process_open_fds"] > 0
    assert samples["workspace_server_db_workspace_write_commands_total"] >= 1
    route = 'route="/api/workspaces/{workspace_id}"'
    assert samples[f'workspace_server_http_requests_total{{method="GET",{route},status="200"}}'] == 1
    assert samples[f'workspace_server_http_requests_total{{method="GET",{route},status="404"}}'] == 1
    assert not [k for k in samples if "0" * 24 in k or ws["id"] in k]  # no raw ids as labels
    assert samples["workspace_server_update_confirm_seconds_count"] == 3
