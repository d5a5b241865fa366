"""Baseline: a bare Starlette + uvicorn WebSocket server answering each message with a confirmation-shaped
reply (parse, build, encode). The limit of this stack on this machine for the ``updates`` benchmark.

    python -m tests.bench.echo_server --port 8001
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(json.dumps({"type": "connection.ready", "connection_id": "c_echo", "protocol": 1}))
    version = 1
    while True:
        try:
            text = await websocket.receive_text()
        except Exception:
            return
        msg = json.loads(text)
        version += 1
        reply = {
            "reply_to": msg.get("id"),
            "type": "workspace.sync_confirm",
            "workspace_id": msg.get("workspace_id"),
            "version": version,
            "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        try:
            await websocket.send_text(json.dumps(reply))
        except Exception:  # the client left
            return


app = Starlette(routes=[WebSocketRoute("/ws", echo)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws_ping_interval=None)
