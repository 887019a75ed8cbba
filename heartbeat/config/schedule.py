"""Cron slots: when a profile's schedule is next due, and how many slots a pause swallowed.

APScheduler's CronTrigger does the calendar arithmetic; this module only asks it questions with an
explicit `now`, so it is as testable as the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a schedule is first evaluated: most commands never need it
    from apscheduler.triggers.cron import CronTrigger

MAX_COUNTED_SLOTS = 100_000  # counting missed slots stops here (a minutely cron over ~69 days)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DueSlot:
    """The slot a new task is scheduled at, how many slots it stands for, and the one after."""

    slot: datetime
    missed: int  # slots coalesced into this one, besides itself
    first: datetime
    next_slot: datetime


def trigger(expression: str, timezone: str | None = None) -> CronTrigger:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone=timezone or "UTC")


def of_profile(profile) -> CronTrigger:
    return trigger(profile.schedule, profile.timezone)


def key(profile) -> str:
    """What identifies a profile's schedule: when it changes, the next slot is worked out anew."""
    return f"{profile.schedule} @ {profile.timezone}"


def next_after(cron: CronTrigger, moment: datetime) -> datetime:
    """The first slot strictly after `moment`, in UTC."""
    fire = cron.get_next_fire_time(None, moment + _TICK)
    return fire.astimezone(UTC)


def first_slot(cron: CronTrigger, now: datetime) -> datetime:
    """A newly seen schedule starts with its next slot: adding a profile never runs it at once."""
    return next_after(cron, now)


def due(cron: CronTrigger, next_slot: datetime, now: datetime) -> DueSlot | None:
    """None while `next_slot` is in the future; else the latest due slot, the slots before it that
    coalesce into it, and the slot after `now`."""
    if next_slot > now:
        return None
    slot, missed = next_slot, 0
    while missed < MAX_COUNTED_SLOTS:
        following = next_after(cron, slot)
        if following > now:
            return DueSlot(slot, missed, next_slot, following)
        slot, missed = following, missed + 1
    return DueSlot(slot, missed, next_slot, next_after(cron, now))


def upcoming(cron: CronTrigger, start: datetime, count: int) -> list[datetime]:
    """The `count` slots from `start` on (`start` itself when it is one), in UTC: "the next 5 runs"."""
    slots, moment = [], start - _TICK
    for _ in range(count):
        moment = next_after(cron, moment)
        slots.append(moment)
    return slots
