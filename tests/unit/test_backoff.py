"""The one backoff formula (providers/backoff.py) and the loops that use it."""

from __future__ import annotations

from app.db.embedded import Backoff
from providers.backoff import backoff_delay


def test_doubles_from_base_up_to_the_cap() -> None:
    """base, 2*base, 4*base ... never above cap, also after a very long run of failures (no overflow)."""
    assert [backoff_delay(n, base=0.5, cap=30) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(10_000, base=0.1, cap=5) == 5
    assert backoff_delay(0, base=0.25, cap=1) == 0.25  # "no failure yet" is treated as the first


def test_jitter_stays_in_the_upper_half() -> None:
    """With jitter the delay is a point of [d/2, d], chosen by the injected random source."""
    assert backoff_delay(3, base=1, cap=60, jitter=True, rand=lambda: 0.0) == 2
    assert backoff_delay(3, base=1, cap=60, jitter=True, rand=lambda: 1.0) == 4


def test_the_supervisor_backoff_uses_it_and_resets_after_a_stable_run() -> None:
    """The embedded database's restart delays are the same formula, back to the first after a stable run."""
    backoff = Backoff(first=0.5, cap=4, stable_s=60)
    assert [backoff.delay() for _ in range(5)] == [0.5, 1, 2, 4, 4]
    backoff.ran_for(61)
    assert backoff.delay() == 0.5
