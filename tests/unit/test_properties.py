"""Property-based tests: random input at the parser, random patch sequences through the coalescing writer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from app.writes.coalescing import CoalescingWriter
from protocol import (
    ProtocolError,
    check_form_totals,
    loads,
    merge_form,
    parse_client_message,
    validate_client_message,
)

# The codes of the PROTOCOL.md 3.3 table, as written there.
PROTOCOL_CODES = {
    "invalid_json",
    "unknown_type",
    "invalid_message",
    "forbidden_field",
    "not_found",
    "conflict",
    "rate_limited",
    "unauthorized",
    "provider_error",
    "unavailable",
    "internal",
}
# The ones a frame can draw before any handler runs.
PARSE_CODES = {"invalid_json", "unknown_type", "invalid_message", "forbidden_field"}
TYPES = [
    "ping",
    "workspace.list",
    "workspace.create",
    "workspace.update",
    "workspace.delete",
    "workspace.reorder",
    "video.generate",
    "video.cancel",
    "ai.suggest",
]
WID = "6b04721f56c295fbbd8e27de"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
form_keys = st.sampled_from(
    ["prompt", "duration_s", "seed", "aspect_ratio", "camera_movement", "x", "$set", "a.b", "_x", "k" * 65]
)
form_values = st.recursive(
    json_scalars | st.sampled_from(["16:9", "1:1", 5, 0, 31, -1, "x" * 4001]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(form_keys, children, max_size=3),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "title": st.none() | st.text(max_size=5) | st.just("t" * 201) | st.integers(),
        "image_path": st.sampled_from(["uploads/a.png", "uploads/../x", "/etc/passwd", "uploads/"]) | json_scalars,
        "image_url": st.sampled_from(["/uploads/a.png", "https://h/x", "javascript:1", "//e/x"]) | json_scalars,
        "form_data": st.dictionaries(form_keys, form_values, max_size=4) | json_values,
        "version": json_scalars,
        "video": json_values,
        "order_index": json_scalars,
        "colour": json_scalars,
    },
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*TYPES, "nope"]) | json_scalars},
    optional={
        "id": st.sampled_from(["m1", "", "x" * 65]) | json_scalars,
        "workspace_id": st.sampled_from([WID, WID.upper(), WID + "\n", "nope"]) | json_scalars,
        "updates": fields | json_values,
        "workspace": fields | json_values,
        "order": st.lists(st.sampled_from([WID, "bad"]), max_size=3) | json_values,
        "position": st.integers(-2, 5) | json_scalars,
        "message": st.text(max_size=10) | st.just("x" * 4001) | json_scalars,
        "provider": json_scalars,
        "extra": json_scalars,
    },
)


def check_outcome(value: Any, outcome: Any) -> None:
    """A parse either gives the message of the frame's own type or a well-formed ProtocolError."""
    if isinstance(outcome, ProtocolError):
        assert outcome.code in PROTOCOL_CODES and outcome.code in PARSE_CODES
        assert isinstance(outcome.message, str) and outcome.message
        if outcome.reply_to is not None:
            assert isinstance(value, dict) and outcome.reply_to == value.get("id")
        if outcome.code in {"invalid_message", "forbidden_field"}:
            assert outcome.details and all(isinstance(d["loc"], list) for d in outcome.details)
    else:
        assert isinstance(value, dict) and outcome.type == value["type"]


def outcome_of(call: Any, arg: Any) -> Any:
    try:
        return call(arg)
    except ProtocolError as exc:  # anything else propagates and fails the test
        return exc


# JSON-ish text: mostly structure characters, so that many frames get past the first byte; a lone surrogate too.
jsonish_text = st.text(alphabet=st.sampled_from([*'{}[]":,\\ud80tnle1.-+ ', "\ud800", "é"]), max_size=60)


@FAST
@given(st.text(max_size=300) | jsonish_text | st.binary(max_size=200))
def test_random_frames_raise_only_protocol_errors(frame: str | bytes) -> None:
    """Any text or binary frame is a message or a ProtocolError with a 3.3 code; nothing else escapes."""
    outcome = outcome_of(parse_client_message, frame)
    if isinstance(frame, bytes):
        assert isinstance(outcome, ProtocolError) and outcome.code == "invalid_json"
        return
    decoded = None
    with contextlib.suppress(ValueError):
        decoded = json.loads(frame)
    check_outcome(decoded, outcome)


@FAST
@given(json_values)
def test_random_json_values_raise_only_protocol_errors(value: Any) -> None:
    """Any JSON value, framed or decoded, parses or gives a 3.3-coded ProtocolError, the same both ways."""
    as_frame = outcome_of(parse_client_message, json.dumps(value))
    decoded = outcome_of(validate_client_message, value)
    check_outcome(value, as_frame)
    check_outcome(value, decoded)
    assert type(as_frame) is type(decoded)
    if isinstance(as_frame, ProtocolError):
        assert (as_frame.code, as_frame.message, as_frame.reply_to) == (decoded.code, decoded.message, decoded.reply_to)
    if not isinstance(value, dict):
        assert isinstance(as_frame, ProtocolError) and as_frame.code == "invalid_json"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_like)
def test_random_message_shaped_dicts_raise_only_protocol_errors(value: dict[str, Any]) -> None:
    """Dicts shaped like client messages, with good and bad parts mixed, parse or give a well-formed error."""
    outcome = outcome_of(parse_client_message, json.dumps(value))
    check_outcome(value, outcome)
    if isinstance(outcome, ProtocolError) and outcome.code in {"invalid_message", "forbidden_field"}:
        kind = value["type"]
        assert isinstance(kind, str) and kind in TYPES  # only a known type gets as far as field validation


# ---- PROTOCOL.md 9.5: duplicate keys and integers beyond int64, against plain references -----------------------


class _Repeated(Exception):
    pass


def _every_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _Repeated
    return dict(pairs)


def reference_verdict(text: str) -> str:
    """What plain references say of a text: "bad" when the Rust parser refuses it, "dup" when the stdlib parser
    (which sees every pair) finds an object repeating a key, else "ok"."""
    try:
        from_json(text, allow_inf_nan=False)
    except ValueError:
        return "bad"
    try:
        json.loads(text, object_pairs_hook=_every_key_once)
    except _Repeated:
        return "dup"
    return "ok"


def verdict_of_loads(data: str | bytes) -> str:
    try:
        loads(data)
    except ValueError as exc:
        return "dup" if "duplicate key" in str(exc) else "bad"
    return "ok"


# Keys and strings full of what could fool a count of ':' separators: colons, quotes, backslashes, colon escapes.
tricky = st.sampled_from(["a", "b", ":", "a:b", "é", 'k"', "\\", "x\ny", "16:9", "http://h:1", "\\u003a", ""])
trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | tricky,
    lambda children: (
        st.tuples(st.just("list"), st.lists(children, max_size=4))
        | st.tuples(st.just("object"), st.lists(st.tuples(tricky, children), max_size=4))
    ),
    max_leaves=20,
)


def render(tree: Any, rnd: Any) -> str:
    """JSON text of a tree whose objects are lists of pairs (so keys may repeat); strings are written plainly, with
    \\uXXXX escapes (either case) or non-ASCII as is, at random; a few separators get spaces."""
    if isinstance(tree, tuple) and tree[0] == "object":
        pairs = (render_string(k, rnd) + rnd.choice([":", ":", " : "]) + render(v, rnd) for k, v in tree[1])
        return "{" + ",".join(pairs) + "}"
    if isinstance(tree, tuple):
        return "[" + ", ".join(render(v, rnd) for v in tree[1]) + "]"
    return render_string(tree, rnd) if isinstance(tree, str) else json.dumps(tree)


def render_string(text: str, rnd: Any) -> str:
    if rnd.random() < 0.3:
        return (
            '"'
            + "".join(f"\\u{ord(c):04{rnd.choice('xX')}}" if rnd.random() < 0.5 else json.dumps(c)[1:-1] for c in text)
            + '"'
        )
    return json.dumps(text, ensure_ascii=rnd.random() < 0.5)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.randoms(use_true_random=False))
def test_loads_refuses_exactly_the_texts_that_repeat_a_key(tree: Any, rnd: Any) -> None:
    """On any JSON text, with keys repeated or not, colons and escapes anywhere, loads (str or bytes) refuses a
    repeated key exactly when the stdlib parser sees one, and otherwise decodes what the stdlib parser does."""
    text = render(tree, rnd)
    expected = reference_verdict(text)
    assert verdict_of_loads(text) == verdict_of_loads(text.encode()) == expected, text
    if expected == "ok":
        assert loads(text) == json.loads(text)


INT64 = (-(2**63), 2**63 - 1)
near_the_edges = st.sampled_from([INT64[0], INT64[1]]).flatmap(lambda edge: st.integers(edge - 3, edge + 3))
placements = st.sampled_from(
    [
        (lambda n: {"v": n}, ["v"]),
        (lambda n: {"v": ["a", n]}, ["v", 1]),
        (lambda n: {"v": {"a": {"b": n}}}, ["v", "a", "b"]),
        (lambda n: {"seed": n}, ["seed"]),
        (lambda n: {"duration_s": n}, ["duration_s"]),
    ]
)


@FAST
@given(st.integers() | near_the_edges | st.integers(2**63, 2**200) | st.integers(-(2**200), -(2**63) - 1), placements)
def test_an_integer_is_refused_as_unstorable_exactly_outside_int64(n: int, placement: Any) -> None:
    """Wherever an integer sits in a form, the frame draws the int64 error (located at it) exactly when the
    integer lies outside the signed 64-bit range; within it the other rules decide as before."""
    build, loc = placement
    message = {"type": "workspace.update", "id": "m", "workspace_id": WID, "updates": {"form_data": build(n)}}
    outcome = outcome_of(parse_client_message, json.dumps(message))
    assert type(outcome) is type(outcome_of(validate_client_message, message))
    unstorable = isinstance(outcome, ProtocolError) and outcome.details[0].get("type") == "int64_range"
    assert unstorable == (not INT64[0] <= n <= INT64[1])
    if unstorable:
        assert isinstance(outcome, ProtocolError)
        assert (outcome.code, outcome.reply_to) == ("invalid_message", "m")
        assert outcome.details[0]["loc"] == ["updates", "form_data", *loc]


# ---- the coalescing writer keeps every patch, in order -------------------------------------------------------


class FakeClock:
    """Time moves only on ``advance``; ``sleep`` returns once the clock passed its deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in [e for e in self._sleepers if e[0] <= self.now]:
            self._sleepers.remove(entry)
            entry[1].set_result(None)
        await asyncio.sleep(0)


def merge_changes(into: dict[str, Any], changes: dict[str, Any]) -> None:
    """app/services/workspaces.py ``_merge``: form_data keys accumulate (later wins, None kept), fields replace."""
    for name, value in changes.items():
        if name == "form_data":
            into.setdefault("form_data", {}).update(value)
        else:
            into[name] = value


KEYS = ["a", "b", "c", "d"]
patches = st.fixed_dictionaries(
    {"form_data": st.dictionaries(st.sampled_from(KEYS), st.none() | st.integers(0, 9) | st.text(max_size=3))},
    optional={"title": st.text(max_size=3)},
)
ops = st.lists(
    st.tuples(st.just("submit"), patches)
    | st.tuples(st.just("yield"), st.integers(1, 4))
    | st.tuples(st.just("await"), st.integers(0, 1000))
    | st.tuples(st.just("tick"), st.sampled_from([0.0625, 0.125, 0.5])),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.sampled_from([0.0, 0.25]), st.lists(st.integers(0, 3), min_size=40, max_size=40))
def test_writer_stores_the_sequential_application_of_all_patches(
    script: list[tuple[str, Any]], debounce_s: float, round_trips: list[int]
) -> None:
    """Any interleaving stores the patches applied in submit order; returned versions never go down."""

    async def run() -> None:
        clock = FakeClock()
        stored: dict[str, Any] = {"title": "", "form_data": {}, "version": 1}
        cache = {"form": dict(stored["form_data"])}  # the writer's cached form, as WorkspaceService keeps it

        async def flush(key: str, items: list[dict[str, Any]]) -> list[Any]:
            # Mirror WorkspaceService._flush: merge each patch into the cached form (checking the totals),
            # accumulate the changes, write them at once, and hand every accepted patch the new version.
            form = cache["form"]
            merged: dict[str, Any] = {}
            for patch in items:
                new_form = merge_form(form, patch["form_data"])
                check_form_totals(new_form)
                form = new_form
                merge_changes(merged, patch)
            for _ in range(round_trips[stored["version"] % len(round_trips)]):  # the database round trip
                await asyncio.sleep(0)
            # The database applies $set / $unset of form_data.<key>, $set of the other fields, $inc version.
            stored["form_data"] = merge_form(stored["form_data"], merged.get("form_data", {}))
            stored.update({k: v for k, v in merged.items() if k != "form_data"})
            stored["version"] += 1
            cache["form"] = form
            return [stored["version"]] * len(items)

        writer: CoalescingWriter[str, dict[str, Any], int] = CoalescingWriter(
            flush, debounce_s=debounce_s, max_wait_s=1.0, clock=clock, sleep=clock.sleep
        )
        submitted: list[dict[str, Any]] = []
        futures: list[asyncio.Future[int]] = []

        async def wait_for(future: asyncio.Future[int]) -> None:
            for _ in range(1000):
                if future.done():
                    return
                await clock.advance(0.125)
            raise AssertionError("a submitted patch was never flushed")

        for op, arg in script:
            if op == "submit":
                submitted.append(arg)
                futures.append(writer.submit("w", arg))
            elif op == "yield":
                for _ in range(arg):
                    await asyncio.sleep(0)
            elif op == "await" and futures:
                await wait_for(futures[arg % len(futures)])
            elif op == "tick":
                await clock.advance(arg)
        for future in futures:
            await wait_for(future)

        expected_form: dict[str, Any] = {}
        expected_title = ""
        for patch in submitted:
            expected_form = merge_form(expected_form, patch["form_data"])
            expected_title = patch.get("title", expected_title)
        assert stored["form_data"] == expected_form == cache["form"]
        assert stored["title"] == expected_title
        versions = [f.result() for f in futures]
        assert versions == sorted(versions)
        assert stored["version"] == 1 + writer.flushes and len(set(versions)) == writer.flushes
        for _ in range(5):  # let the writer's task see its queue is empty and forget the key
            await asyncio.sleep(0)
        assert writer.items_written == len(submitted) and writer.busy_keys == 0

    asyncio.run(run())
