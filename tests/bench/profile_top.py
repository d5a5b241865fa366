"""Summarise a py-spy profile in collapsed-stack form (``BENCH_PROFILE=dir make bench`` writes them).

    .venv/bin/python -m tests.bench.profile_top prof/server-<port>.txt [--top 25]

Prints the share of samples per function: *self* (the function was on top of the stack) and *total* (it was
anywhere on the stack, counted once per sample). Idle samples (the event loop waiting in ``select``/``epoll``) are
reported separately and left out of the shares, so the table shows where the busy time went.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_IDLE = re.compile(r"^(\w+\.)?(select|poll|run_forever|_run_once) \((selectors|asyncio\/base_events|uvloop\/\S*)\.py")
_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    """``name (path/to/module.py:123)`` -> ``name (module.py)``: one row per function, not per line."""
    name, _, where = raw.partition(" (")
    path = _LINE.sub("", where).rstrip(")")
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({short})"


def summarise(path: Path, top: int) -> str:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    busy = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if "(" in f]
        n = int(count)
        if frames and _IDLE.match(frames[-1]):
            idle += n
            continue
        busy += n
        names = [_frame(f) for f in frames]
        if names:
            own[names[-1]] += n
        for name in set(names):
            anywhere[name] += n
    total = busy + idle
    out = [f"{path.name}: {total} samples, {busy} busy ({100 * busy / max(total, 1):.0f}%), {idle} idle"]
    out.append("\n  self   total  function (share of busy samples)")
    for name, n in own.most_common(top):
        out.append(f"  {100 * n / max(busy, 1):5.1f}%  {100 * anywhere[name] / max(busy, 1):5.1f}%  {name}")
    out.append("\n  total  function (anywhere on the stack)")
    for name, n in anywhere.most_common(top):
        out.append(f"  {100 * n / max(busy, 1):5.1f}%  {name}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.profiles:
        print(summarise(path, args.top))


if __name__ == "__main__":
    main()
