"""The only source of time. Everything else takes `now` as an argument.

Times are timezone-aware UTC datetimes in memory; the state database stores them as naive UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """Wall clock for the daemon; tests pass a `FrozenClock` instead."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock(Clock):
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime):
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> datetime:
        from datetime import timedelta

        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        return self._now


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes from the database are UTC; attach the zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, seconds precision: the CLI's JSON time format."""
    value = as_utc(value)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
