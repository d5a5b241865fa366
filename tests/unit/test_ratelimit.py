"""The per-connection token bucket (WS_RATE, WS_BURST) with an injected clock."""

from __future__ import annotations

from app.realtime.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal() -> None:
    """A full bucket lets exactly `burst` messages through at once, then refuses."""
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=5, clock=clock)
    assert [bucket.take() for _ in range(5)] == [True] * 5
    assert bucket.take() is False
    assert bucket.take() is False


def test_refill_at_rate() -> None:
    """Tokens come back at `rate` per second: one message per 1/rate seconds after the burst is spent."""
    clock = Clock()
    bucket = TokenBucket(rate=4.0, burst=2, clock=clock)
    assert bucket.take() and bucket.take() and not bucket.take()
    clock.now += 0.125  # half a token
    assert bucket.take() is False
    clock.now += 0.125  # the other half: one token
    assert bucket.take() is True
    assert bucket.take() is False
    clock.now += 1.0  # four tokens' worth, but the bucket holds two
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_refused_messages_do_not_spend_tokens() -> None:
    """A refusal costs nothing: after waiting 1/rate one message passes, however many were refused meanwhile."""
    clock = Clock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.take()
    for _ in range(8):
        clock.now += 0.0625
        assert not bucket.take()
    clock.now += 0.5
    assert bucket.take() is True


def test_sustained_rate_matches_configuration() -> None:
    """Over a long run at a high offered load, the accepted count is burst + rate * elapsed."""
    clock = Clock()
    bucket = TokenBucket(rate=10.0, burst=3, clock=clock)
    accepted = 0
    for _ in range(1000):  # 100 offers per second for 10 s
        accepted += bucket.take()
        clock.now += 0.01
    assert 3 + 99 <= accepted <= 3 + 100
