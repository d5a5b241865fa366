"""Waiting for an asynchronous provider (Runway, fal) inside ``generate()``: poll until a check says done, within
a bounded total wait, with the sleep and clock injectable so tests never wait. On the way out without a picture
(timeout, or the caller cancelled us) the provider's task is cancelled, best effort, so it stops billing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from providers.errors import ProviderError, ProviderTaskFailed

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

DEFAULT_MAX_WAIT = 120.0
DEFAULT_INTERVAL = 2.0


async def poll(
    check: Callable[[], Awaitable[T | None]],
    *,
    provider: str,
    max_wait: float = DEFAULT_MAX_WAIT,
    interval: float = DEFAULT_INTERVAL,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    cancel: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """``check()`` until it returns a value (None: not yet), sleeping ``interval`` between tries. Past
    ``max_wait`` seconds: ``ProviderTaskFailed`` (not retryable: trying again would start, and bill, another
    generation). Errors from ``check`` propagate as they are."""
    deadline = clock() + max_wait
    try:
        while True:
            result = await check()
            if result is not None:
                return result
            if clock() + interval > deadline:
                break
            await sleep(interval)
    except asyncio.CancelledError:
        if cancel is not None:
            await _cancel_quietly(cancel, provider)
        raise
    if cancel is not None:
        await _cancel_quietly(cancel, provider)
    raise ProviderTaskFailed(f"{provider}: the picture was not ready within {max_wait:g} s", provider=provider)


async def _cancel_quietly(cancel: Callable[[], Awaitable[object]], provider: str) -> None:
    try:
        async with asyncio.timeout(10):
            await cancel()
    except (ProviderError, RuntimeError, TimeoutError):  # RuntimeError: the app already closed the client
        log.debug("%s: could not cancel the abandoned task", provider, exc_info=True)
