"""How often a running job's stage and progress are written and announced (PROTOCOL.md 8.2).

Pure: the caller passes the time. Progress never goes down (a lower report keeps the higher value). A report is
*significant* when its stage changed or its progress moved at least ``step`` points since the last write; a
significant report is written at once unless the last write was less than ``interval_s`` ago, in which case it
waits as the pending one (a later report replaces it: the latest wins) until ``due``. Smaller moves are only
remembered, and go out with the next write (a status change takes ``latest`` with it).
"""

from __future__ import annotations

from typing import Final

INTERVAL_S: Final = 0.2  # at most 5 writes a second per job
STEP: Final = 5  # at least every 5 points


class Throttle:
    def __init__(
        self, progress: int = 0, stage: str | None = None, *, interval_s: float = INTERVAL_S, step: int = STEP
    ) -> None:
        self.interval_s = interval_s
        self.step = step
        self.progress = progress  # the latest reported (never lower than what was written)
        self.stage = stage
        self.written: tuple[int, str | None] = (progress, stage)
        self.last_write: float | None = None
        self.pending = False

    @property
    def latest(self) -> tuple[int, str | None]:
        return self.progress, self.stage

    def offer(self, progress: int, stage: str | None, now: float) -> tuple[int, str | None] | None:
        """A report from the kind; what to write now, or None (pending, or too small to announce yet)."""
        self.progress = max(self.progress, min(max(int(progress), 0), 100))
        self.stage = stage
        written_progress, written_stage = self.written
        if self.stage == written_stage and self.progress - written_progress < self.step:
            return None
        self.pending = True
        return self.due(now)

    def due(self, now: float) -> tuple[int, str | None] | None:
        """The pending report, if its time has come (then it counts as written)."""
        if not self.pending or (self.last_write is not None and now - self.last_write < self.interval_s):
            return None
        return self.mark_written(now)

    def wait_s(self, now: float) -> float | None:
        """Seconds until the pending report is due (None: nothing pending)."""
        if not self.pending:
            return None
        if self.last_write is None:
            return 0.0
        return max(0.0, self.interval_s - (now - self.last_write))

    def mark_written(self, now: float) -> tuple[int, str | None]:
        """The latest state is being written (a progress write, or a status change that takes it along)."""
        self.written = self.latest
        self.last_write = now
        self.pending = False
        return self.written
