"""What every HTTP LLM adapter shares: one streaming request with retries only before the first token.

An adapter supplies ``open()`` (an async context manager yielding the ``httpx.Response``), ``deltas(response)``
(text deltas parsed from its wire format) and ``error(response)`` (its error body -> our error tree).
Transient errors and 429s are retried with bounded backoff (honouring ``retry-after-ms``/``retry-after``) while
nothing was yielded yet; once a token went out, an error ends the stream as it is. Quota and billing errors are
never retried (``ProviderQuotaExceeded`` is not retryable).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import httpx

from providers.backoff import backoff_delay
from providers.errors import ProviderError, ProviderRateLimited
from providers.http import transport_error

Sleep = Callable[[float], Awaitable[None]]
MAX_RETRY_AFTER_S = 60.0


async def stream_with_retries(
    *,
    provider: str,
    open: Callable[[], AbstractAsyncContextManager[httpx.Response]],
    deltas: Callable[[httpx.Response], AsyncIterator[str]],
    error: Callable[[httpx.Response], Awaitable[ProviderError]],
    attempts: int = 3,
    base_delay: float = 0.5,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[str]:
    for attempt in range(1, attempts + 1):
        sent_any = False
        try:
            async with open() as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise await error(response)
                async for delta in deltas(response):
                    if delta:
                        sent_any = True
                        yield delta
            return
        except httpx.HTTPError as exc:
            failure: ProviderError = transport_error(exc, provider=provider)
            cause: BaseException = exc
        except ProviderError as exc:
            failure, cause = exc, exc
        if sent_any or not failure.retryable or attempt == attempts:
            raise failure from (cause if cause is not failure else None)
        delay = failure.retry_after if isinstance(failure, ProviderRateLimited) else None
        if delay is None:
            delay = backoff_delay(attempt, base=base_delay, cap=MAX_RETRY_AFTER_S, jitter=True)
        if delay > MAX_RETRY_AFTER_S:
            raise failure
        await sleep(delay)
