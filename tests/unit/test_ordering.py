"""Fractional order_index planning."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.ordering import STEP, plan_reorder, position_for_insert


def lis_length(values: list[float]) -> int:
    import bisect

    tails: list[float] = []
    for v in values:
        i = bisect.bisect_left(tails, v)
        tails[i : i + 1] = [v]
    return len(tails)


def apply(current: dict[int, float], order: list[int]) -> dict[int, float]:
    result = dict(current)
    result.update(plan_reorder(current, order))
    return result


def test_moving_one_card_in_1000_changes_one_value() -> None:
    """Moving a single card rewrites exactly that card's order_index."""
    current = {i: i * STEP for i in range(1000)}
    order = list(range(1000))
    order.insert(900, order.pop(10))
    changes = plan_reorder(current, order)
    assert list(changes) == [10]
    final = apply(current, order)
    assert sorted(final, key=final.__getitem__) == order


def test_reverse() -> None:
    """A full reversal keeps one card and re-plans the rest, in the requested order."""
    current = {i: i * STEP for i in range(10)}
    order = list(reversed(range(10)))
    final = apply(current, order)
    assert sorted(final, key=final.__getitem__) == order and len(plan_reorder(current, order)) == 9


@settings(max_examples=150, deadline=None)
@given(st.permutations(list(range(30))), st.integers(min_value=0, max_value=10))
def test_any_permutation_sorts_into_place_with_minimal_changes(order: list[int], seed: int) -> None:
    """For any permutation the new values sort into the requested order, changing n - LIS documents."""
    rng = random.Random(seed)
    values = sorted(rng.uniform(-1e6, 1e6) for _ in range(30))
    current = dict(zip(range(30), values, strict=True))
    changes = plan_reorder(current, order)
    final = {**current, **changes}
    assert sorted(final, key=final.__getitem__) == order
    assert len(set(final.values())) == 30
    assert len(changes) == 30 - lis_length([current[k] for k in order])


def test_floats_running_out_renumbers() -> None:
    """When two neighbours are adjacent floats, the plan falls back to renumbering everything."""
    a = 1.0
    b = float.__next__(a) if hasattr(float, "__next__") else a + 2.220446049250313e-16
    current = {0: a, 1: b, 2: 5.0}
    changes = plan_reorder(current, [0, 2, 1])
    final = {**current, **changes}
    assert sorted(final, key=final.__getitem__) == [0, 2, 1]


def test_position_for_insert() -> None:
    """Insert at the front, between two cards, at the end, and into an empty timeline."""
    assert position_for_insert([], None, 0) == 0.0
    assert position_for_insert([5.0], None, 1) == 5.0 + STEP
    assert position_for_insert([5.0], 0, 1) == 5.0 - STEP
    assert position_for_insert([1.0, 2.0], 1, 3) == 1.5
    assert position_for_insert([1.0, float.fromhex("0x1.0000000000001p+0")], 1, 3) is None
