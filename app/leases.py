"""The one lease mechanism: a process owns a document for a while, renews it while it works, and anyone may take
it once the time is up. The video poller's election (one lease document per deployment) and the job engine's
claims (one lease per running job) are both built from it, as their timeouts are from ``overdue``.

Pure: a ``Lease`` makes the filters and ``$set`` fields; the caller runs them (through ``app.writes``) with the
time it passes, so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Lease:
    owner: str  # this process
    ttl: timedelta
    owner_field: str = "owner"
    until_field: str = "lease_expires_at"

    def mine(self) -> dict[str, Any]:
        """Filter: held by this process (a renewal or a write that matches nothing means it was lost)."""
        return {self.owner_field: self.owner}

    def expired(self, now: datetime) -> dict[str, Any]:
        """Filter: the holder's time is up (a process that died, or one that stopped renewing)."""
        return {self.until_field: {"$lt": now}}

    def mine_or_expired(self, now: datetime) -> dict[str, Any]:
        return {"$or": [self.mine(), self.expired(now)]}

    def take(self, now: datetime) -> dict[str, Any]:
        """``$set`` fields that take (or renew) the lease until ``now + ttl``."""
        return {self.owner_field: self.owner, self.until_field: now + self.ttl}

    def renewal(self, now: datetime) -> dict[str, Any]:
        return {self.until_field: now + self.ttl}

    def released(self) -> dict[str, Any]:
        """``$set`` fields of a document nobody holds."""
        return {self.owner_field: None, self.until_field: None}


def overdue(started: datetime | None, limit: timedelta, now: datetime) -> bool:
    """Work started at ``started`` has run longer than ``limit`` (``VIDEO_TIMEOUT_S``, ``JOB_TIMEOUT_S``)."""
    if started is None:
        return False
    if started.tzinfo is None:  # a naive datetime from the database is UTC
        started = started.replace(tzinfo=UTC)
    return now - started >= limit
