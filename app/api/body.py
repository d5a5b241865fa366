"""The one reader of REST JSON bodies (PROTOCOL.md 9.5): ``Content-Type: application/json`` only (415), at most
1 MiB (413: refused from ``Content-Length`` before reading, and a chunked body is cut off while it streams in, never
held whole), nesting at most 32 deep (400 ``invalid_message``), strict JSON (400 ``invalid_json``: what
``protocol.loads`` refuses, duplicate keys included), no integer outside int64 (400 ``invalid_message``).

The depth is checked on the raw bytes before parsing: ``loads`` itself refuses nesting past the Rust parser's
recursion limit (~200) as invalid JSON, and a 100,000-deep body must be ``invalid_message`` like a 33-deep one.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from starlette.requests import Request

from app.errors import PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, AppError
from protocol import check_body, codes, loads

MAX_JSON_BYTES: Final = 1024 * 1024
MAX_JSON_DEPTH: Final = 32
_INLINE_SCAN_BYTES: Final = 64 * 1024

# A JSON string (skipped whole, so brackets inside it do not count) or one bracket.
_DEPTH_TOKENS: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENERS: Final = frozenset(b"[{")


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether ``data`` nests arrays/objects deeper than ``limit`` (a top-level object is depth 1).

    Iterative, on the raw bytes and before any parser recurses: a 100,000-deep body costs ``limit`` steps."""
    if data.count(b"[") + data.count(b"{") <= limit:  # the usual body: a flat object, nothing to walk
        return False
    depth = 0
    for token in _DEPTH_TOKENS.finditer(data):
        first = data[token.start()]
        if first in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # '"' starts a string, which nests nothing
            depth -= 1
    return False


def _too_large(limit: int) -> AppError:
    return AppError(PAYLOAD_TOO_LARGE, f"the JSON body is larger than {limit} bytes")


def _check_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise AppError(UNSUPPORTED_MEDIA_TYPE, "send the body as Content-Type: application/json")


async def read_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes, read as a stream (413 as soon as it is known to be larger)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, limit: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The decoded body of a JSON route; ``AppError`` (415, 413, 400) when it is not acceptable."""
    _check_content_type(request)
    data = await read_body(request, limit)
    # A body dense with brackets costs up to ~0.2 s per MiB to walk: off the event loop when it is big.
    too_deep = (
        await asyncio.to_thread(nesting_exceeds, data, max_depth)
        if len(data) > _INLINE_SCAN_BYTES
        else nesting_exceeds(data, max_depth)
    )
    if too_deep:
        raise AppError(codes.INVALID_MESSAGE, f"the body nests deeper than {max_depth} levels")
    try:
        value = loads(data)
    except ValueError as exc:
        raise AppError(codes.INVALID_JSON, f"the body is not valid JSON: {str(exc)[:120]}") from None
    check_body(value, limit=max_depth)  # integers outside int64 (and the depth again, on the decoded value)
    return value
