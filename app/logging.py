"""loguru, configured once: readable console lines plus JSON lines under DATA_DIR/logs (all, and errors),
rotated; the standard library's loggers (uvicorn, pymongo) flow through it."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from loguru import logger

_SECRET_QUERY = re.compile(r"((?:^|[?&\s])(?:token|api_key|key)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """Hide ``token=...`` (and key-like) query values: uvicorn logs WebSocket paths with their query string."""
    return _SECRET_QUERY.sub(r"\1***", text)


def _redact_record(record: Any) -> None:
    record["message"] = redact(record["message"])


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
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(level: str, logs_dir: Path | None, *, console: bool = True) -> None:
    logger.remove()
    logger.configure(patcher=_redact_record)  # every sink sees redacted messages
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
    # The access log prints query strings (``?token=``): it stays off; see app.middleware for our request log.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("pymongo", "httpx", "httpcore", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
