"""How uvicorn serves the app: one ``uvicorn.Config`` for ``python -m app`` and the tests, and a header timeout.

uvicorn times out idle keep-alive connections (``timeout_keep_alive``) but not a request whose headers never
finish: a client that opens a connection and sends a header line every few seconds (slowloris) holds a socket,
and 400 of them held 400. ``HeaderTimeoutProtocol`` closes a connection whose request line and headers are not
complete ``header_timeout_s`` after it opened (or after the next request on it began). Bodies and WebSockets are
not timed by it: they are bounded elsewhere (``MAX_UPLOAD_BYTES``, JSON body caps, ping timeouts). A reverse
proxy in front (nginx's ``client_header_timeout``/``client_body_timeout``, see ecosystem/deploy/) is still the
place to shed a flood of connections; this only keeps one process from being held open by a handful.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5.0


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose request headers take longer than
    ``header_timeout_s``."""

    header_timeout_s = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self.logger.info("closing a connection whose request headers took over %.0f s", self.header_timeout_s)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_config(app: Any, settings: Settings, *, header_timeout_s: float | None = None) -> uvicorn.Config:
    """The one uvicorn configuration (``python -m app`` and the tests' live servers); the header timeout is
    ``HTTP_HEADER_TIMEOUT_S`` unless given."""
    timeout = header_timeout_s if header_timeout_s is not None else settings.http_header_timeout_s
    protocol = type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": timeout})
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        http=protocol,
        ws="websockets-sansio",  # named, not "auto": an old uvicorn's auto picked the deprecated legacy one
        timeout_keep_alive=int(KEEP_ALIVE_S),
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=settings.ws_ping_interval_s or None,
        ws_ping_timeout=settings.ws_ping_timeout_s or None,
        # permessage-deflate keeps two zlib contexts per socket (most of an idle connection's memory) to
        # shrink frames that are small JSON anyway; see the idle benchmark in the README.
        ws_per_message_deflate=settings.ws_compression,
        timeout_graceful_shutdown=15,
        lifespan="on",
    )
