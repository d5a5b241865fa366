"""The project checks of the REST routes (PROTOCOL.md 9.1), in one place: the guard has authenticated the
request and left its ``Principal`` in the scope; a route that touches a project asks here.

A listing of a project the token does not name is 403 ``forbidden``; a workspace or file of such a project is
404, exactly as if it did not exist.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from app.auth import Principal, principal_in
from app.errors import AppError, not_found
from app.runtime import runtime_of
from protocol import codes


def principal_of(conn: HTTPConnection) -> Principal:
    return principal_in(conn.scope)


def visible(conn: HTTPConnection, project: str) -> bool:
    return principal_of(conn).may_open(project)


def require_project(conn: HTTPConnection, project: str) -> None:
    """403 ``forbidden`` unless the token names ``project`` (a listing, an action on the project itself)."""
    if not visible(conn, project):
        raise AppError(codes.FORBIDDEN, f"this token does not name project {project}")


def require_visible(conn: HTTPConnection, project: str, workspace_id: str) -> None:
    """404 unless the token names ``project``, the project of workspace ``workspace_id``."""
    if not visible(conn, project):
        raise not_found(workspace_id)


async def scoped_project(conn: HTTPConnection, project: str | None, workspace_id: str) -> str | None:
    """The project to look ``workspace_id`` up in for this request: ``project`` (the ``?project=`` query, None:
    any) for an all-projects token; else the workspace's own project once the token is seen to name it (404
    otherwise, also for an unknown id)."""
    principal = principal_of(conn)
    if principal.projects is None and principal.only_path is None:
        return project
    workspace = await runtime_of(conn).workspaces.get(project, workspace_id)
    require_visible(conn, workspace.project, workspace_id)
    return workspace.project
