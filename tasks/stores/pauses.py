"""Paused profiles (`heartbeat profiles pause|resume`): a paused profile creates no schedule slots.

The pause is a column of the profile's bookkeeping row (hb_profiles.paused_at), so it survives
restarts and every daemon on the state database sees it. Pausing also forgets the recorded next
slot: no slot passes while paused, so resuming misses none and starts from the schedule's next
slot after `now` (tasks.store.TaskStore.create_scheduled refuses a slot of a paused profile even
when a daemon read the schedule just before the pause).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.clock import as_utc
from tasks import tables as t
from tasks.guard import guarded
from tasks.rows import naive

P = t.profiles.c


class Pauses:
    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def paused(self) -> dict[str, tuple[datetime, str | None]]:
        """Every paused profile: {name: (paused_at UTC, paused_by)}. One short read per heartbeat."""
        query = sa.select(P.name, P.paused_at, P.paused_by).where(P.paused_at.is_not(None))
        with self.engine.connect() as conn:
            return {name: (as_utc(at), by) for name, at, by in conn.execute(query)}

    @guarded
    def pause(self, profile: str, now: datetime, by: str) -> bool:
        """Pause `profile` (its next slot forgotten); False when it was paused already (unchanged)."""
        with self.engine.begin() as conn:
            self._ensure_row(conn, profile, now)
            done = conn.execute(t.profiles.update().where(P.name == profile, P.paused_at.is_(None)).values(
                paused_at=naive(now), paused_by=by[:100], next_slot=None, updated_at=naive(now)))
            return done.rowcount == 1

    @guarded
    def resume(self, profile: str, now: datetime) -> bool:
        """Resume `profile`; the next heartbeat records its first slot after then. False when it was
        not paused (unchanged)."""
        with self.engine.begin() as conn:
            done = conn.execute(t.profiles.update().where(P.name == profile, P.paused_at.is_not(None)).values(
                paused_at=None, paused_by=None, next_slot=None, updated_at=naive(now)))
            return done.rowcount == 1

    @staticmethod
    def _ensure_row(conn, profile: str, now: datetime) -> None:
        if conn.execute(sa.select(P.name).where(P.name == profile)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.profiles.insert().values(name=profile, updated_at=naive(now)))
            except sa.exc.IntegrityError:
                pass  # inserted by another process meanwhile: the row exists
