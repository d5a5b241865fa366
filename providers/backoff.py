"""The one backoff formula, for every retry loop of the project: provider requests (``providers.http``), the LLM
streams (``providers.llm._streaming``), the poller's status checks, the change-stream watcher and the embedded
database's supervisor (``app/``)."""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_EXPONENT = 32  # 2**32 times any base is past every cap: no float overflow for a long-failing loop


def backoff_delay(
    attempt: int, *, base: float, cap: float, jitter: bool = False, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before try ``attempt + 1`` (``attempt`` >= 1 failures so far): ``base * 2**(attempt - 1)``,
    at most ``cap``. With ``jitter``, a random point in the upper half of that (``[d/2, d]``), so clients that
    failed together do not come back together."""
    delay: float = min(cap, base * 2.0 ** min(max(attempt - 1, 0), _MAX_EXPONENT))
    return delay * (0.5 + rand() / 2) if jitter else delay
