"""The one uvicorn configuration: our header-timeout HTTP protocol and the websockets-sansio implementation, by
name, whatever uvicorn's "auto" would pick."""

from __future__ import annotations

from pathlib import Path

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.serving import HeaderTimeoutProtocol, uvicorn_config
from app.settings import Settings


def test_config_names_its_protocols(tmp_path: Path) -> None:
    """An old uvicorn's ws="auto" picked the deprecated legacy implementation; ours is named, and the HTTP side is
    the protocol that times out slow headers."""
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    config = uvicorn_config(object(), settings, header_timeout_s=3)
    config.load()  # resolves the protocol classes (the app is not touched until a request)
    assert config.ws_protocol_class is WebSocketsSansIOProtocol
    assert issubclass(config.http_protocol_class, HeaderTimeoutProtocol)
    assert config.http_protocol_class.header_timeout_s == 3
