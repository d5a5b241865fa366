"""A fake Runway API (PROVIDERS.md section 1) on a real port: tasks walk PENDING -> RUNNING -> SUCCEEDED the
way the real API does, with scriptable failures (500s, 429s, FAILED, never finishing) and scriptable media (the URL
a finished task names, and what ``/files/<name>`` answers: redirects, huge or endless bodies)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeServer

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"fake-mp4-payload" * 64


@dataclass
class FakeTask:
    id: str
    body: dict[str, Any]
    polls: int = 0
    cancelled: bool = False


@dataclass
class Script:
    """What the fake does: the sequence of states a task walks through, one per GET, and extra trouble."""

    states: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"status": "PENDING"},
            {"status": "RUNNING", "progress": 0.3},
            {"status": "RUNNING", "progress": 0.7},
            {"status": "SUCCEEDED"},
        ]
    )
    errors_at: dict[int, tuple[int, dict[str, str]]] = field(default_factory=dict)  # poll number -> (status, headers)
    submit_error: tuple[int, dict[str, Any]] | None = None
    output_url: str | None = None  # what a SUCCEEDED task names instead of this fake's own /files/<id>.mp4
    files: dict[str, Callable[[], Response]] = field(default_factory=dict)  # /files/<name> -> its answer


class FakeRunway(FakeServer):
    def __init__(self) -> None:
        self.script = Script()
        self.tasks: dict[str, FakeTask] = {}
        self.requests: list[tuple[str, str, float]] = []  # (method, path, time)
        super().__init__(
            [
                Route("/v1/image_to_video", self.submit, methods=["POST"]),
                Route("/v1/tasks/{task_id}", self.task, methods=["GET", "DELETE"]),
                Route("/files/{name}", self.file, methods=["GET"]),
            ]
        )

    def _log(self, request: Request) -> None:
        self.requests.append((request.method, request.url.path, time.monotonic()))

    async def submit(self, request: Request) -> Response:
        self._log(request)
        if request.headers.get("x-runway-version") != "2024-11-06" or not request.headers.get(
            "authorization", ""
        ).startswith("Bearer "):
            return JSONResponse({"error": "missing version or key"}, status_code=401)
        if self.script.submit_error is not None:
            status, body = self.script.submit_error
            return JSONResponse(body, status_code=status)
        body = await request.json()
        task = FakeTask(str(uuid.uuid4()), body)
        self.tasks[task.id] = task
        return JSONResponse({"id": task.id})

    async def task(self, request: Request) -> Response:
        self._log(request)
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return JSONResponse({"error": "Task not found"}, status_code=404)
        if request.method == "DELETE":
            task.cancelled = True
            return Response(status_code=204)
        task.polls += 1
        if task.polls in self.script.errors_at:
            status, headers = self.script.errors_at[task.polls]
            return JSONResponse({"error": "try later"}, status_code=status, headers=headers)
        if task.cancelled:
            return JSONResponse({"id": task.id, "status": "CANCELLED", "createdAt": "2026-11-24T10:00:00.000Z"})
        state = dict(self.script.states[min(task.polls - 1, len(self.script.states) - 1)])
        if state["status"] == "SUCCEEDED":
            state["output"] = [self.script.output_url or f"{self.base_url}/files/{task.id}.mp4?_jwt=abc"]
        return JSONResponse({"id": task.id, "createdAt": "2026-11-24T10:00:00.000Z", **state})

    async def file(self, request: Request) -> Response:
        self._log(request)
        answer = self.script.files.get(request.path_params["name"])
        return answer() if answer is not None else Response(VIDEO_BYTES, media_type="video/mp4")
