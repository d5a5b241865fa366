"""Timeline positions: fractional order_index planning (minimal changes) and inserts."""

from __future__ import annotations

import bisect
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.ordering import STEP, plan_reorder, position_for_insert, renumber


def lis_length(values: list[float]) -> int:
    """Length of the longest strictly increasing subsequence (independent of the code under test)."""
    tails: list[float] = []
    for v in values:
        i = bisect.bisect_left(tails, v)
        tails[i : i + 1] = [v]
    return len(tails)


def timeline(values: dict[int, float]) -> list[int]:
    """The timeline order the stored values produce: ascending by order_index."""
    return sorted(values, key=values.__getitem__)


def applied(current: dict[int, float], order: list[int]) -> tuple[dict[int, float], dict[int, float]]:
    changes = plan_reorder(current, order)
    return changes, {**current, **changes}


def test_moving_one_card_in_1000_changes_exactly_one_value() -> None:
    """Moving one card anywhere in a timeline of 1000 rewrites only that card's order_index."""
    current = {i: i * STEP for i in range(1000)}
    for source, target in [(10, 900), (999, 0), (0, 999), (3, 0), (700, 2)]:
        order = list(range(1000))
        order.insert(target, order.pop(source))
        changes, final = applied(current, order)
        assert list(changes) == [source]
        assert timeline(final) == order
    order = list(range(1000))
    order[500], order[501] = 501, 500  # swapping neighbours: moving either one is a single change
    changes, final = applied(current, order)
    assert len(changes) == 1 and set(changes) <= {500, 501} and timeline(final) == order


def test_unchanged_order_changes_nothing() -> None:
    """Submitting the current order plans no writes."""
    current = {i: float(i) for i in range(50)}
    assert plan_reorder(current, list(range(50))) == {}


def test_reversing_sorts_into_the_requested_order() -> None:
    """A full reversal keeps one card where it is and gives the others values that sort in reverse."""
    current = {i: i * STEP for i in range(10)}
    order = list(reversed(range(10)))
    changes, final = applied(current, order)
    assert timeline(final) == order and len(changes) == 9 and len(set(final.values())) == 10


permutations = st.integers(min_value=1, max_value=40).flatmap(lambda n: st.permutations(list(range(n))))


@settings(max_examples=150, deadline=None)
@given(permutations, st.data())
def test_any_permutation_sorts_into_place_with_minimal_changes(order: list[int], data: st.DataObject) -> None:
    """For any permutation of well-spaced cards the values sort into the order and exactly n - LIS change."""
    n = len(order)
    spots = data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=n, max_size=n, unique=True), label="values")
    current = dict(zip(range(n), map(float, sorted(spots)), strict=True))
    changes, final = applied(current, order)
    assert timeline(final) == order
    assert len(set(final.values())) == n and all(math.isfinite(v) for v in final.values())
    assert len(changes) == n - lis_length([current[k] for k in order])


@settings(max_examples=150, deadline=None)
@given(permutations, st.data())
def test_any_permutation_of_any_floats_sorts_into_place(order: list[int], data: st.DataObject) -> None:
    """With any (even adjacent) floats the order comes out right, by n - LIS changes or a full renumbering."""
    n = len(order)
    floats = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
    spots = data.draw(st.lists(floats, min_size=n, max_size=n, unique=True), label="values")
    current = dict(zip(range(n), sorted(spots), strict=True))
    changes, final = applied(current, order)
    assert timeline(final) == order and len(set(final.values())) == n
    assert len(changes) == n - lis_length([current[k] for k in order]) or changes == renumber(order)


@settings(max_examples=100, deadline=None)
@given(st.permutations(list(range(12))), st.sampled_from([1e17, 1e20, -1e20, 2.0**70]))
def test_far_from_zero_values_still_sort_into_place(order: list[int], base: float) -> None:
    """Where STEP is smaller than one ulp the plan falls back to renumbering rather than breaking the order."""
    ulp = math.ulp(base)
    current = {i: base + i * 4 * ulp for i in range(12)}
    _, final = applied(current, order)
    assert timeline(final) == order


def test_floats_exhausted_between_neighbours_renumbers() -> None:
    """When no float fits between two neighbours, every card is renumbered with fresh STEP spacing."""
    a = 1.0
    b = math.nextafter(a, 2.0)  # adjacent floats: nothing fits between them
    current = {0: a, 1: b, 2: 5.0}
    changes = plan_reorder(current, [0, 2, 1])
    assert changes == renumber([0, 2, 1]) == {0: 0.0, 2: STEP, 1: 2 * STEP}
    assert timeline({**current, **changes}) == [0, 2, 1]


def test_duplicate_values_are_separated() -> None:
    """Cards sharing one order_index still end up in the requested order with distinct values."""
    current = {0: 0.0, 1: 0.0, 2: 0.0}
    changes, final = applied(current, [2, 1, 0])
    assert timeline(final) == [2, 1, 0] and len(set(final.values())) == 3 and len(changes) == 2


def test_position_for_insert_into_an_empty_timeline() -> None:
    """The first card gets 0, whatever position was asked for."""
    assert position_for_insert([], None, 0) == 0.0
    assert position_for_insert([], 0, 0) == 0.0
    assert position_for_insert([], 5, 0) == 0.0


def test_position_for_insert_at_the_front_middle_and_end() -> None:
    """A new card sorts before the first card, between its two neighbours, or after the last."""
    assert position_for_insert([5.0], 0, 3) == 5.0 - STEP
    assert position_for_insert([1.0, 2.0], 1, 3) == 1.5
    middle = position_for_insert([1024.0, 2048.0], 2, 4)
    assert middle is not None and 1024.0 < middle < 2048.0
    assert position_for_insert([5.0], None, 3) == 5.0 + STEP
    assert position_for_insert([5.0], 3, 3) == 5.0 + STEP  # position == count: at the end
    assert position_for_insert([5.0], 99, 3) == 5.0 + STEP  # past the end: at the end


def test_position_for_insert_without_room_asks_for_renumbering() -> None:
    """When the neighbours are adjacent floats (or STEP is below one ulp at the ends) the answer is None."""
    assert position_for_insert([1.0, math.nextafter(1.0, 2.0)], 1, 3) is None
    assert position_for_insert([1e20], 0, 1) is None
    assert position_for_insert([1e20], None, 1) is None


def test_renumber_spaces_by_step_in_order() -> None:
    """renumber gives every card a fresh, evenly spaced value in the requested order."""
    assert renumber(["c", "a", "b"]) == {"c": 0.0, "a": STEP, "b": 2 * STEP}
