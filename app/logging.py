"""loguru, configured once: readable console lines plus JSON lines under DATA_DIR/logs (all, and errors),
rotated; the standard library's loggers (uvicorn, pymongo) flow through it.

Every record is redacted before any sink sees it: the message, ``extra`` (nested) and the exception text.
Secrets never reach a sink in the first place where we can stop them earlier: uvicorn's WebSocket lines lose
their query string, and the websockets library's debug dump of the handshake (every request header) is off.
Repeated tracebacks are rate-limited (``TracebackLimiter``) so one failing path cannot flush the error log.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

import websockets
from loguru import logger

MASK = "***"

# Names whose values are secrets, compared lowercased with '-' as '_' (after percent-decoding, for query keys:
# parse_qs decodes them, so ``?%74oken=`` is ``?token=`` to the server).
_SECRET_NAMES = frozenset(
    {"key", "sig", "auth", "authorization", "proxy_authorization", "cookie", "set_cookie", "x_amz_credential"}
)
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "signature", "api_key", "apikey", "access_key")

# key=value in a query string or prose; the key may be percent-encoded.
_PAIR = re.compile(r"(?P<pre>^|[?&;\s\"'(,])(?P<key>(?:[\w.~-]|%[0-9A-Fa-f]{2}|\+){1,64})=(?P<val>[^&\s\"'<>]*)")
# "key": "value" / 'key': 'value' (JSON, dict reprs) / (b'key', b'value') (ASGI header lists).
_QUOTED = re.compile(
    r"(?P<q>[\"'])(?P<key>[\w.-]{1,64})(?P=q)(?P<sep>\s*[:,]\s*b?)(?P<vq>[\"'])(?:\\.|(?!(?P=vq)).)*(?P=vq)"
)
# Header lines: ``authorization: Bearer x``, ``x-api-key: x``, ``cookie: a=b; c=d``.
_HEADER = re.compile(
    r"(?P<key>\b(?:(?:proxy-)?authorization|x-api-(?:token|key)|x-goog-api-key|x-auth-token|api-key))(?P<sep>\s*:\s*)"
    r"(?P<val>(?:(?:bearer|basic|token|digest)\s+)?[^\s,;\"']+)|(?P<ckey>\b(?:set-)?cookie)(?P<csep>\s*:\s*)[^\r\n\"']+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>bearer)\s+(?!\*\*\*)[\w.~+/-]+=*", re.IGNORECASE)
_KEY_LIKE = re.compile(r"\bsk-(?:ant-|proj-)?[\w-]{16,}")  # OpenAI / Anthropic style API keys


def is_secret_name(name: str) -> bool:
    normal = name.strip().lower().replace("-", "_")
    return normal in _SECRET_NAMES or normal.endswith(_SECRET_SUFFIXES)


def _pair(m: re.Match[str]) -> str:
    if not is_secret_name(unquote_plus(m["key"])):
        return m[0]
    return f"{m['pre']}{m['key']}={MASK}"


def _quoted(m: re.Match[str]) -> str:
    if not is_secret_name(m["key"]):
        return m[0]
    return f"{m['q']}{m['key']}{m['q']}{m['sep']}{m['vq']}{MASK}{m['vq']}"


def _header(m: re.Match[str]) -> str:
    if m["ckey"]:
        return f"{m['ckey']}{m['csep']}{MASK}"
    return f"{m['key']}{m['sep']}{MASK}"


def redact(text: str) -> str:
    """Hide secrets in free text: ``token=``/``access_token=``/``X-Amz-Signature=``-like values (also with
    percent-encoded keys), ``Authorization:``/``X-API-Token:``/``api-key:`` header values, ``"api_key": "…"``,
    any ``Bearer …`` credential and ``sk-…`` keys."""
    text = _QUOTED.sub(_quoted, text)
    text = _HEADER.sub(_header, text)
    text = _PAIR.sub(_pair, text)
    text = _BEARER.sub(lambda m: f"{m['scheme']} {MASK}", text)
    return _KEY_LIKE.sub("sk-" + MASK, text)


def redact_value(value: Any, depth: int = 0) -> Any:
    """``redact`` applied to every string in ``value`` (dicts, lists, tuples); values under secret-named keys are
    masked whole. Returns a copy: the caller's objects are never changed."""
    if isinstance(value, str):
        return redact(value)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {k: _masked_item(k, v, depth) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(redact_value(v, depth + 1) for v in value)
    return value


def _masked_item(key: Any, value: Any, depth: int) -> Any:
    if isinstance(key, str) and is_secret_name(key) and value is not None:
        return MASK
    return redact_value(value, depth + 1)


# Exceptions: loguru formats record["exception"] itself, from type(value), str(value) and the chain. We hand it
# a stand-in of the same name whose text is redacted, with the original traceback, cause and context.
_STAND_INS: dict[type[BaseException], type[Exception]] = {}


def _stand_in_type(original: type[BaseException]) -> type[Exception]:
    made = _STAND_INS.get(original)
    if made is None:
        base: type[Exception] = ExceptionGroup if issubclass(original, BaseExceptionGroup) else Exception
        made = type(original.__name__, (base,), {"__module__": original.__module__})
        made.__qualname__ = original.__qualname__
        if len(_STAND_INS) < 512:
            _STAND_INS[original] = made
    return made


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the logging
        return f"<{type(exc).__name__}: str() failed>"


def redact_exception(exc: BaseException, seen: dict[int, BaseException] | None = None) -> BaseException:
    """A copy of ``exc`` (and its cause, context and group members) for display, every message redacted."""
    seen = {} if seen is None else seen
    if id(exc) in seen:
        return seen[id(exc)]
    kind = _stand_in_type(type(exc))
    copy: BaseException
    if isinstance(exc, BaseExceptionGroup):
        members = [redact_exception(e, seen) for e in exc.exceptions]
        copy = kind(redact(exc.message), members)
    else:
        copy = kind(redact(_text(exc)))
    seen[id(exc)] = copy
    copy.__traceback__ = exc.__traceback__
    copy.__suppress_context__ = exc.__suppress_context__
    if exc.__cause__ is not None:
        copy.__cause__ = redact_exception(exc.__cause__, seen)
    if exc.__context__ is not None:
        copy.__context__ = redact_exception(exc.__context__, seen)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        copy.__notes__ = [redact(str(n)) for n in notes]
    return copy


def _redact_record(record: Any) -> None:
    record["message"] = redact(record["message"])
    if record["extra"]:
        record["extra"] = redact_value(record["extra"])
    shown = record["exception"]
    if shown is not None and isinstance(shown.value, BaseException):
        record["exception"] = type(shown)(shown.type, redact_exception(shown.value), shown.traceback)


class Verdict(NamedTuple):
    show: bool  # log the full traceback this time
    suppressed: int  # shown: how many were suppressed before this one; not shown: how many so far, this one too


class TracebackLimiter:
    """At most one full traceback per (exception type, raising location) every ``interval_s``; the rest are
    counted, so each error still gets its one line (with its correlation id) without flooding the logs."""

    def __init__(
        self, interval_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 1024
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str, int], tuple[float, int]] = {}  # key -> (last shown at, suppressed since)
        self._lock = threading.Lock()

    @staticmethod
    def key(exc: BaseException) -> tuple[str, str, int]:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = ("", 0) if tb is None else (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        return (f"{type(exc).__module__}.{type(exc).__qualname__}", *where)

    def check(self, exc: BaseException) -> Verdict:
        key, now = self.key(exc), self.clock()
        with self._lock:
            last = self._seen.pop(key, None)
            if last is not None and now - last[0] < self.interval_s:
                self._seen[key] = (last[0], last[1] + 1)
                return Verdict(False, last[1] + 1)
            self._seen[key] = (now, 0)
            while len(self._seen) > self.max_keys:
                del self._seen[next(iter(self._seen))]  # the least recently seen
            return Verdict(True, 0 if last is None else last[1])


TRACEBACKS = TracebackLimiter()  # process-wide, like the logger itself


def traceback_verdict(exc: BaseException) -> Verdict:
    """Whether to log ``exc``'s traceback now (``TRACEBACKS``, one per type and raising location a minute)."""
    return TRACEBACKS.check(exc)


def _strip_query(arg: object) -> object:
    """uvicorn logs ``"WebSocket /ws?token=…" [accepted]`` (and its access lines) with the raw query: cut it."""
    if isinstance(arg, str) and arg.startswith("/") and "?" in arg:
        return arg.split("?", 1)[0]
    return arg


_WEBSOCKETS_DIR = str(Path(websockets.__file__).resolve().parent)


def _not_a_websockets_dump(record: logging.LogRecord) -> bool:
    """uvicorn hands its own logger to the websockets protocol, which then logs the handshake (every request
    header, tokens included) and every frame at DEBUG, and a line per connection at INFO: drop those."""
    return record.levelno >= logging.WARNING or not record.pathname.startswith(_WEBSOCKETS_DIR)


class InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame: FrameType | None = logging.currentframe()
        depth = 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        if record.name.startswith("uvicorn") and isinstance(record.args, tuple):
            record.args = tuple(_strip_query(a) for a in record.args)
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(level: str, logs_dir: Path | None, *, console: bool = True) -> None:
    logger.remove()
    logger.configure(patcher=_redact_record)  # every sink sees redacted messages, extras and exceptions
    if console:
        logger.add(
            sys.stderr,
            level=level,
            diagnose=False,
            format="<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <7}</level> | {message}",
        )
    if logs_dir is not None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        logger.add(
            logs_dir / "server.jsonl",
            level=level,
            serialize=True,
            rotation="20 MB",
            retention=5,
            diagnose=False,
            enqueue=False,
        )
        logger.add(
            logs_dir / "errors.jsonl",
            level="ERROR",
            serialize=True,
            rotation="20 MB",
            retention=5,
            diagnose=False,
        )
    # Standard-library loggers at the same level: below INFO, uvicorn would wrap the app in its per-message
    # TRACE logger and websockets would format every frame, which costs more than the server's own work.
    std_level = max(logging.getLevelName(level) if isinstance(logging.getLevelName(level), int) else 20, 10)
    logging.basicConfig(handlers=[InterceptHandler()], level=std_level, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "pymongo"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
        std.setLevel(std_level)
    # uvicorn.error is also the websockets protocol's logger, which dumps request headers at DEBUG: uvicorn itself
    # logs nothing there below INFO, so INFO at least (the websockets protocol then skips its debug work), and a
    # filter for whatever level someone sets later.
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.setLevel(max(std_level, logging.INFO))
    uvicorn_error.addFilter(_not_a_websockets_dump)  # added once: logging skips a filter it already has
    # The access log prints query strings (``?token=``): it stays off; see app.middleware for our request log.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("pymongo", "httpx", "httpcore", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
