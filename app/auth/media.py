"""Which project a media file belongs to, and the ASGI wrapper that checks it before ``/uploads`` or ``/media``
answer (PROTOCOL.md 9.1).

Owners are recorded in the ``media_owners`` collection, ``{_id: "uploads/<name>", project}``, when a file is
stored. An upload with no record belongs to ``default``. A video (``/media/<workspace id>-<hex>.mp4``) with no
record belongs to its workspace's project, and to nobody (only all-projects tokens) when that workspace is gone.
The wrapper sits in front of whatever ``MediaStore.app(kind)`` returns (files, or 307 redirects to a bucket), and
answers a file the principal may not see exactly as a missing one: 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from bson import ObjectId
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.tokens import ANONYMOUS, Principal
from app.media import SERVED_FILE_HEADERS

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase

    from app.runtime import Runtime

OWNERS = "media_owners"
DEFAULT_PROJECT = "default"
_VIDEO_NAME = re.compile(r"([0-9a-f]{24})-[^/]+")


def _owners(database: AsyncDatabase[dict[str, Any]]) -> AsyncCollection[dict[str, Any]]:
    return database[OWNERS]


async def record_owner(runtime: Runtime, path: str, project: str) -> None:
    """``path`` is ``uploads/<name>`` or ``media/<name>``."""
    await remember_owner(runtime.workspaces.collection, path, project)


async def remember_owner(workspaces: AsyncCollection[dict[str, Any]], path: str, project: str) -> None:
    """Record that ``path`` belongs to ``project`` (``media_owners`` is in the database of ``workspaces``)."""
    await _owners(workspaces.database).update_one({"_id": path}, {"$set": {"project": project}}, upsert=True)


async def owner_of(workspaces: AsyncCollection[dict[str, Any]], path: str) -> str | None:
    """The project ``path`` (``uploads/<name>``, ``media/<name>``) belongs to; None: no project (only
    all-projects tokens may see it). ``media_owners`` is in the database of ``workspaces``."""
    found = await _owners(workspaces.database).find_one({"_id": path})
    if found is not None:
        project: str = found["project"]
        return project
    kind, _, name = path.partition("/")
    if kind != "media":
        return DEFAULT_PROJECT
    match = _VIDEO_NAME.fullmatch(name)
    if match is None:
        return None
    workspace = await workspaces.find_one({"_id": ObjectId(match[1])}, {"project": 1})
    return None if workspace is None else str(workspace["project"])


def principal_in(scope: Scope) -> Principal:
    """The principal the guard put in the scope (``ANONYMOUS`` when there is no guard)."""
    principal = scope.get("auth")
    return principal if isinstance(principal, Principal) else ANONYMOUS


class MediaAccess:
    """Checks the principal against the file's project, then hands over to the store's app."""

    def __init__(self, app: ASGIApp, kind: Literal["uploads", "media"]) -> None:
        self.app = app
        self.kind = kind

    async def _allowed(self, scope: Scope) -> bool:
        principal = principal_in(scope)
        path, root = scope["path"], scope.get("root_path", "")
        name = (path[len(root) :] if root and path.startswith(root) else path.rpartition("/")[2]).lstrip("/")
        if principal.only_path is not None:  # a signed URL: exactly its file
            return principal.only_path == f"/{self.kind}/{name}"
        if principal.projects is None:
            return True
        if not name or "/" in name:
            return True  # no file by that name can exist: the store answers 404 itself
        runtime: Runtime = scope["app"].state.runtime
        owner = await owner_of(runtime.workspaces.collection, f"{self.kind}/{name}")
        return owner is not None and owner in principal.projects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not await self._allowed(scope):
            headers = {k.decode(): v.decode() for k, v in SERVED_FILE_HEADERS}
            raise HTTPException(404, "Not Found", headers=headers)
        await self.app(scope, receive, send)
