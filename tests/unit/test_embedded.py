"""The embedded database's port choice keeps off ports promised to someone else (the server's own)."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import embedded


class _FakeSocket:
    ports = iter([40001, 40002])

    def __enter__(self) -> _FakeSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = next(self.ports)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_a_port_promised_to_the_server_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may hand out the server's port again before the server binds it (seen as a CI flake: the server
    then failed with 'address already in use'); free_port asks again."""
    monkeypatch.setattr(embedded.socket, "socket", _FakeSocket)
    assert embedded.free_port(avoid={40001}) == 40002
