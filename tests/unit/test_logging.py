"""Log redaction (message, extras, exception text; every sink setup_logging adds), uvicorn's query-bearing lines,
the websockets handshake dump, and the traceback rate limit (fake clock)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from websockets.server import ServerProtocol

import app.logging as app_logging
from app.errors import to_app_error
from app.logging import TracebackLimiter, redact, redact_value, setup_logging

SECRET = "sk-Secret0123456789abcdef"  # also shaped like a provider key


class Sinks:
    """setup_logging at DEBUG with its real sinks: the console (on a StringIO) and DATA_DIR/logs/*.jsonl."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.console = io.StringIO()

    def text(self) -> str:
        logger.complete()
        return self.console.getvalue() + "".join(p.read_text() for p in sorted(self.logs.glob("*.jsonl")))

    def errors(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.logs / "errors.jsonl").read_text().splitlines()]


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[Sinks]:
    made = Sinks(tmp_path / "logs")
    real, sys.stderr = sys.stderr, made.console
    try:
        setup_logging("DEBUG", made.logs)
    finally:
        sys.stderr = real
    yield made
    setup_logging("WARNING", None)


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("GET /ws?project=p&token={s} HTTP/1.1", "project=p&token=***"),
        ('127.0.0.1:5 - "WebSocket /ws?%74oken={s}" [accepted]', "%74oken=***"),  # parse_qs decodes the key
        ("/ws?to%6Ben={s}&x=1", "&x=1"),
        ("/ws?TOKEN={s}", "TOKEN=***"),
        ("callback?access_token={s}&state=ok", "access_token=***&state=ok"),
        ("GET https://b.example/v.mp4?X-Amz-Credential={s}%2F20260101&X-Amz-Date=1", "X-Amz-Date=1"),
        ("GET https://b.example/v.mp4?X-Amz-Signature={s}", "X-Amz-Signature=***"),
        ("url https://x.example/?api_key={s}", "api_key=***"),
        ("< authorization: Bearer {s}", "< authorization: ***"),
        ("Authorization: Basic {s}", "Authorization: ***"),
        ("< x-api-token: {s}", "x-api-token: ***"),
        ("x-api-key: {s}", "x-api-key: ***"),
        ("api-key:{s}", "api-key:***"),
        ('body {{"api_key": "{s}", "n": 1}}', '"api_key": "***", "n": 1'),
        ("headers {{'Authorization': 'Bearer {s}'}}", "'Authorization': '***'"),
        ("scope headers [(b'x-api-token', b'{s}'), (b'host', b'h')]", "(b'host', b'h')"),
        ("upstream said 401: Bearer {s} rejected", "Bearer *** rejected"),
        ("key {s} used", "key sk-*** used"),
        ("cookie: session={s}; theme=dark", "cookie: ***"),
    ],
)
def test_redact_hides_each_form(line: str, kept: str) -> None:
    """Every way a token or key is written in a log line loses its value; the rest of the line stays."""
    out = redact(line.format(s=SECRET))
    assert SECRET not in out and "Secret0123" not in out
    assert kept in out


@pytest.mark.parametrize(
    "line",
    [
        "ws open c_1 project=default (3 open)",
        "change stream reopened from its resume token",
        "basic validation failed: idempotency_key=abc",
        "GET /api/workspaces 200 1.2ms",
        "task-0123456789abcdefghij done",
    ],
)
def test_redact_leaves_ordinary_lines_alone(line: str) -> None:
    assert redact(line) == line


def test_redact_value_copies_nested_extras() -> None:
    """Strings anywhere in extras are redacted and secret-named keys masked whole; the caller's dict is untouched."""
    extra = {"conn": "c_1", "req": {"headers": ["Bearer " + SECRET], "api_key": SECRET, "n": 3}, "t": ("token=x",)}
    out = redact_value(extra)
    assert out == {"conn": "c_1", "req": {"headers": ["Bearer ***"], "api_key": "***", "n": 3}, "t": ("token=***",)}
    assert extra["req"]["api_key"] == SECRET  # type: ignore[index]


def _fail(message: str) -> None:
    raise ValueError(message)


def test_every_sink_redacts_message_extras_and_exception_text(sinks: Sinks) -> None:
    """Console, server.jsonl and errors.jsonl: no secret from the message, extras, the exception's text or its
    cause; the traceback itself (frames, types, chain) is still there."""
    try:
        try:
            _fail(f"upstream refused Bearer {SECRET}")
        except ValueError as inner:
            raise RuntimeError(f"retry failed: token={SECRET}") from inner
    except RuntimeError as exc:
        with logger.contextualize(request={"authorization": f"Bearer {SECRET}", "path": f"/ws?token={SECRET}"}):
            logger.bind(api_key=SECRET).opt(exception=exc).error("call failed with x-api-key: {}", SECRET)
    out = sinks.text()
    assert SECRET not in out
    assert out.count("Traceback (most recent call last)") == 6  # two per sink: the error and its cause
    assert "in _fail" in out and "ValueError: upstream refused Bearer ***" in out
    assert "RuntimeError: retry failed: token=***" in out
    record = sinks.errors()[-1]["record"]
    assert record["extra"]["request"] == {"authorization": "***", "path": "/ws?token=***"}
    assert record["extra"]["api_key"] == "***"
    assert record["exception"]["type"] == "RuntimeError" and record["exception"]["value"] == "retry failed: token=***"
    assert record["message"] == "call failed with x-api-key: ***"


def test_exception_groups_and_notes_are_redacted(sinks: Sinks) -> None:
    try:
        first = KeyError(f"token={SECRET}")
        first.add_note(f"sent Authorization: Bearer {SECRET}")
        raise ExceptionGroup("two failed", [first, OSError(f"api_key={SECRET}")])
    except ExceptionGroup as exc:
        logger.opt(exception=exc).error("group")
    out = sinks.text()
    assert SECRET not in out
    assert "KeyError: 'token=***'" in out and "OSError: api_key=***" in out and "sent Authorization: ***" in out
    assert "two failed (2 sub-exceptions)" in out


def test_uvicorn_websocket_line_loses_its_query(sinks: Sinks) -> None:
    """uvicorn's accept line carries the raw query (``?%74oken=`` passes auth): it is logged without it."""
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", f"/ws?project=p&%74oken={SECRET}")
    uvicorn_error.info('%s - "WebSocket %s" 403', "127.0.0.1:6", f"/ws?x=%22&TOKEN={SECRET}")
    out = sinks.text()
    assert '127.0.0.1:5 - "WebSocket /ws" [accepted]' in out and '127.0.0.1:6 - "WebSocket /ws" 403' in out
    assert SECRET not in out and "project=p" not in out


def _handshake(protocol: ServerProtocol) -> None:
    protocol.receive_data(
        b"GET /ws?token=" + SECRET.encode() + b" HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Authorization: Bearer " + SECRET.encode() + b"\r\nX-API-Token: " + SECRET.encode() + b"\r\n\r\n"
    )
    protocol.send_response(protocol.accept(protocol.events_received()[0]))  # type: ignore[arg-type]


def test_websockets_handshake_dump_never_reaches_a_sink(sinks: Sinks) -> None:
    """uvicorn gives the websockets protocol its own logger, which dumps every request header at DEBUG: at
    LOG_LEVEL=DEBUG that logger stays at INFO, and even forced to DEBUG the dump is filtered out."""
    uvicorn_error = logging.getLogger("uvicorn.error")
    assert not uvicorn_error.isEnabledFor(logging.DEBUG)
    _handshake(ServerProtocol(logger=uvicorn_error))
    uvicorn_error.setLevel(logging.DEBUG)
    _handshake(ServerProtocol(logger=uvicorn_error))
    uvicorn_error.warning("still logged")
    out = sinks.text()
    assert SECRET not in out and "< authorization" not in out.lower()
    assert "still logged" in out


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _raise(kind: type[Exception]) -> Exception:
    try:
        raise kind("x")
    except Exception as exc:
        return exc


def _raise_elsewhere() -> Exception:
    try:
        raise ValueError("x")
    except Exception as exc:
        return exc


def test_traceback_limiter_one_per_type_and_location_per_interval() -> None:
    clock = FakeClock()
    limiter = TracebackLimiter(60, clock=clock)
    assert limiter.check(_raise(ValueError)) == (True, 0)
    assert limiter.check(_raise(ValueError)) == (False, 1)
    assert limiter.check(_raise(ValueError)) == (False, 2)
    assert limiter.check(_raise(KeyError)).show  # another type at the same place
    assert limiter.check(_raise_elsewhere()).show  # the same type raised elsewhere
    clock.now += 59.9
    assert limiter.check(_raise(ValueError)) == (False, 3)
    clock.now += 0.2
    assert limiter.check(_raise(ValueError)) == (True, 3)  # shown again, telling how many were not
    assert limiter.check(_raise(ValueError)) == (False, 1)


def test_traceback_limiter_forgets_the_least_recent_beyond_max_keys() -> None:
    limiter = TracebackLimiter(60, clock=FakeClock(), max_keys=2)
    a, b, c = _raise(ValueError), _raise(KeyError), _raise(TypeError)
    assert limiter.check(a).show and limiter.check(b).show
    assert not limiter.check(a).show  # a is now the most recent
    assert limiter.check(c).show  # evicts b
    assert limiter.check(b).show and not limiter.check(c).show


def test_to_app_error_logs_one_traceback_but_every_correlation_id(
    sinks: Sinks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 identical internal errors: one traceback a minute, yet each error has its line with its correlation id
    and the count of tracebacks left out."""
    clock = FakeClock()
    monkeypatch.setattr(app_logging, "TRACEBACKS", TracebackLimiter(60, clock=clock))
    ids = [to_app_error(_raise(ZeroDivisionError)).details["correlation_id"] for _ in range(20)]
    clock.now += 61
    ids.append(to_app_error(_raise(ZeroDivisionError)).details["correlation_id"])
    texts = [line["text"] for line in sinks.errors()]
    assert len(texts) == 21 and len(set(ids)) == 21
    assert all(cid in text for cid, text in zip(ids, texts, strict=True))
    assert sum("Traceback (most recent call last)" in t for t in texts) == 2
    assert "traceback of the same error shown recently; 19 suppressed" in texts[19]
    assert "(19 more of the same since its last traceback)" in texts[20] and "Traceback" in texts[20]
