"""The layout's rules (DESIGN.md, STYLE.md 2), checked on the import statements of every module: protocol/ imports
nothing of ours, providers/ never imports app/, and inside app/ dependencies point one way: the realtime layer
(endpoint, connection, hub, fanout delivery) and the web routes call services; services, jobs, the write path and
the database layer never import them back. Modules stay under 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package (as a path prefix) -> the packages of ours it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "protocol": ("app", "providers"),
    "providers": ("app",),
    "app/writes": ("app.realtime", "app.api", "app.services", "app.jobs", "app.main", "app.assembly", "app.poller"),
    "app/db": ("app.realtime", "app.api", "app.services", "app.jobs", "app.main", "app.assembly", "app.writes"),
    "app/services": ("app.realtime", "app.api", "app.main", "app.assembly", "app.jobs", "app.runtime"),
    "app/jobs": ("app.realtime", "app.api", "app.main", "app.assembly", "app.runtime"),
    "app/poller.py": ("app.realtime", "app.api", "app.main", "app.assembly", "app.runtime"),
    "app/leases.py": ("app",),
    # the film renderer: ffmpeg and files only, nothing of the app but itself
    "app/film": tuple(
        f"app.{p.stem}" for p in sorted((ROOT / "app").iterdir()) if p.stem not in ("film", "__init__", "__pycache__")
    ),
}


def modules() -> list[Path]:
    return sorted(p for top in ("app", "protocol", "providers") for p in (ROOT / top).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    where = str(path.relative_to(ROOT))
    for prefix, banned in FORBIDDEN.items():
        if where == prefix or where.startswith(prefix + "/"):
            bad = sorted(n for n in imported(path) for b in banned if n == b or n.startswith(b + "."))
            assert not bad, f"{where} imports {bad}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 400
