"""Property-based tests: random input at the parser, random patch sequences at the coalescing writer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.realtime.writer import CoalescingWriter
from protocol import ProtocolError, codes, merge_form, parse_client_message, validate_client_message

CODES = {codes.INVALID_JSON, codes.UNKNOWN_TYPE, codes.INVALID_MESSAGE, codes.FORBIDDEN_FIELD}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
message_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "ping",
                "workspace.create",
                "workspace.update",
                "workspace.delete",
                "workspace.reorder",
                "video.generate",
                "ai.suggest",
                "nope",
            ]
        )
    },
    optional={
        "id": json_values,
        "workspace_id": st.text(max_size=30) | json_values,
        "updates": json_values,
        "workspace": json_values,
        "order": json_values,
        "position": json_values,
        "message": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=100))
def test_random_frames_raise_only_protocol_errors(frame: str | bytes) -> None:
    """Any text or binary frame is either a message or a ProtocolError with a 3.3 code, nothing else."""
    try:
        parse_client_message(frame)
    except ProtocolError as exc:
        assert exc.code in CODES


@settings(max_examples=300, deadline=None)
@given(json_values | message_like)
def test_random_json_raises_only_protocol_errors(value: Any) -> None:
    """Any JSON value, including message-shaped ones, validates or raises a ProtocolError with a 3.3 code."""
    try:
        validate_client_message(value)
        parse_client_message(json.dumps(value))
    except ProtocolError as exc:
        assert exc.code in CODES


patches = st.lists(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.none() | st.integers(0, 9) | st.text(max_size=3),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patches, st.lists(st.integers(0, 3), min_size=30, max_size=30))
def test_writer_state_equals_sequential_application(seq: list[dict[str, Any]], pauses: list[int]) -> None:
    """Whatever the interleaving, the stored form equals applying every confirmed patch in order, and the versions
    returned to submitters never go down in submit order."""

    async def run() -> None:
        stored: dict[str, Any] = {}
        version = 1

        async def flush(key: str, items: list[dict[str, Any]]) -> list[int | BaseException]:
            nonlocal stored, version
            merged: dict[str, Any] = {}
            for item in items:  # the same merge as WorkspaceService: later keys win, None removes
                merged.update(item)
            await asyncio.sleep(0)  # the database round trip
            stored = merge_form(stored, merged)
            version += 1
            return [version] * len(items)

        writer: CoalescingWriter[str, dict[str, Any], int] = CoalescingWriter(flush)
        futures = []
        for patch, pause in zip(seq, pauses, strict=False):
            futures.append(writer.submit("w", patch))
            for _ in range(pause):
                await asyncio.sleep(0)
        versions = [await f for f in futures]
        expected: dict[str, Any] = {}
        for patch in seq:
            expected = merge_form(expected, patch)
        assert stored == expected
        assert versions == sorted(versions) and writer.flushes <= len(seq)

    asyncio.run(run())
