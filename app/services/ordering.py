"""Timeline positions: fractional ``order_index`` values, so moving one card rewrites one document.

Pure functions, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

STEP = 1024.0  # spacing of fresh positions; leaves room for many inserts between two cards


def _between(low: float | None, high: float | None) -> float | None:
    """A value strictly between ``low`` and ``high`` (either may be open), or None when floats ran out."""
    if low is None and high is None:
        return 0.0
    if low is None:
        assert high is not None
        below = high - STEP
        return below if below < high else None  # far from 0, STEP can be below one ulp
    if high is None:
        above = low + STEP
        return above if above > low else None
    mid = (low + high) / 2
    return mid if low < mid < high else None


def position_for_insert(neighbours: Sequence[float], position: int | None, count: int) -> float | None:
    """The order_index for a new card at ``position`` (None: at the end), given the sorted order_index values
    ``neighbours`` of the cards at ``position - 1`` and ``position`` (as far as they exist). None: renumber."""
    if position is None or position >= count:
        return _between(neighbours[-1] if neighbours else None, None)
    if position == 0:
        return _between(None, neighbours[0] if neighbours else None)
    low, high = neighbours[0], neighbours[1] if len(neighbours) > 1 else None
    return _between(low, high)


def _longest_increasing(values: Sequence[float]) -> set[int]:
    """Indices of one longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list[float] = []
    tail_idx: list[int] = []
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        j = bisect.bisect_left(tails, v)
        if j == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[j] = v
            tail_idx[j] = i
        parent[i] = tail_idx[j - 1] if j > 0 else -1
    keep: set[int] = set()
    i = tail_idx[-1] if tail_idx else -1
    while i != -1:
        keep.add(i)
        i = parent[i]
    return keep


def plan_reorder(current: dict[K, float], order: Sequence[K]) -> dict[K, float]:
    """New order_index values for the cards that must move so the timeline reads ``order``.

    The cards on a longest increasing run keep their values; the others get values spread in the gaps.
    Moving one card changes one value. When floats run out in a gap, everything is renumbered."""
    values = [current[k] for k in order]
    keep = _longest_increasing(values)
    changes: dict[K, float] = {}
    i = 0
    n = len(order)
    while i < n:
        if i in keep:
            i += 1
            continue
        j = i
        while j < n and j not in keep:
            j += 1
        low = values[i - 1] if i > 0 else None  # kept (or already re-planned) neighbour on the left
        high = values[j] if j < n else None
        gap = j - i
        for step in range(gap):
            if low is None and high is None:
                value = float(step) * STEP
            elif low is None:
                assert high is not None
                value = high - STEP * (gap - step)
            elif high is None:
                value = low + STEP * (step + 1)
            else:
                value = low + (high - low) * (step + 1) / (gap + 1)
            previous = values[i + step - 1] if i + step > 0 else None  # ``low``, or the value planned just before
            if (previous is not None and value <= previous) or (high is not None and value >= high):
                return renumber(order)  # floats ran out (or STEP is below one ulp of these values)
            values[i + step] = value
            changes[order[i + step]] = value
        i = j
    return changes


def renumber(order: Sequence[K]) -> dict[K, float]:
    return {key: index * STEP for index, key in enumerate(order)}
