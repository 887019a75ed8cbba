"""The daemon registry: who is running heartbeats on this state database, and whether each is alive.

Every `heartbeat run` (and every `heartbeat tick`, for cron deployments) registers a row, refreshes
its `last_seen` every few seconds from a thread of its own (heartbeat/ops/presence.py) whatever its
batches are doing, records the start of each tick in `last_tick`, and sets `stopped_at` on a clean
exit. A row is:

| state   | when |
|---------|------|
| alive   | not stopped, and seen within `dead_after` (default 30 s) |
| dead    | not stopped, and not seen for longer: the process is gone, or cut off from this database |
| stopped | it exited cleanly |

A dead row's tasks are taken over by the next claim (TaskStore.claim, tasks/leases.py), on any host.
Rows are kept a while for `heartbeat status`, then pruned (`prune`), never while a task names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.clock import as_utc, iso
from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded
from tasks.rows import naive

D = t.daemons.c
DEAD_AFTER = timedelta(seconds=30)  # the default; [heartbeat] dead_after
KEEP_STOPPED = timedelta(hours=1)  # a cleanly stopped process's row, for `status`
KEEP_DEAD = timedelta(days=7)  # a dead process's row, once no task names it


class DaemonState(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Daemon:
    id: int
    owner: str
    kind: str  # "run" (the daemon) or "tick" (one `heartbeat tick`, e.g. from cron)
    host: str
    pid: int
    version: str
    config_path: str
    started_at: datetime
    last_seen: datetime
    last_tick: datetime | None
    stopped_at: datetime | None
    doing: str | None

    @classmethod
    def from_row(cls, row) -> Daemon:
        m = dict(row._mapping)
        for key in ("started_at", "last_seen", "last_tick", "stopped_at"):
            m[key] = as_utc(m[key])
        return cls(**m)

    def state(self, now: datetime, dead_after: timedelta) -> DaemonState:
        return state_of(self.stopped_at, self.last_seen, now, dead_after)

    def to_json(self, now: datetime, dead_after: timedelta) -> dict[str, Any]:
        state = self.state(now, dead_after)
        return {"id": self.id, "kind": self.kind, "host": self.host, "pid": self.pid,
                "state": state.value, "version": self.version, "config_path": self.config_path,
                "started_at": iso(self.started_at), "last_seen": iso(self.last_seen),
                "last_tick": iso(self.last_tick), "stopped_at": iso(self.stopped_at),
                "doing": self.doing if state is DaemonState.ALIVE else None, "owner": self.owner}


def state_of(stopped_at: datetime | None, last_seen: datetime, now: datetime,
             dead_after: timedelta) -> DaemonState:
    if stopped_at is not None:
        return DaemonState.STOPPED
    return DaemonState.ALIVE if as_utc(now) - as_utc(last_seen) <= dead_after else DaemonState.DEAD


def presence(conn: Connection, owner: str, now: datetime, dead_after: timedelta) -> DaemonState | None:
    """The registry's word on a task's owner, inside the caller's transaction: its newest row's
    state, or None when no row names it (an owner from before the registry, or a pruned row)."""
    row = conn.execute(sa.select(D.stopped_at, D.last_seen).where(D.owner == owner)
                       .order_by(D.id.desc()).limit(1)).first()
    return None if row is None else state_of(row.stopped_at, row.last_seen, now, dead_after)


class Registry:
    """The registry's verbs. Give it an engine of its own (not the tick's): its writes must never
    queue behind a batch's connection in the pool."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def register(self, owner: str, kind: str, host: str, pid: int, version: str, config_path: str,
                 now: datetime) -> int:
        """A new row for this process (alive, not ticked yet); returns its id. Prunes old rows."""
        self.prune(now)
        with self.engine.begin() as conn:
            result = conn.execute(t.daemons.insert().values(
                owner=owner, kind=kind, host=host[:200], pid=pid, version=version[:50],
                config_path=config_path[:1000], started_at=naive(now), last_seen=naive(now),
                doing="starting"))
            return result.inserted_primary_key[0]

    @guarded
    def seen(self, daemon_id: int, now: datetime, doing: str | None = None) -> None:
        """The process is alive at `now` (and doing `doing`, when given)."""
        values: dict[str, Any] = {"last_seen": naive(now)}
        if doing is not None:
            values["doing"] = doing[:255]
        self._update(daemon_id, values)

    @guarded
    def ticked(self, daemon_id: int, now: datetime) -> None:
        """A tick started at `now`."""
        self._update(daemon_id, {"last_seen": naive(now), "last_tick": naive(now)})

    @guarded
    def stopped(self, daemon_id: int, now: datetime) -> None:
        """A clean exit."""
        self._update(daemon_id, {"last_seen": naive(now), "stopped_at": naive(now), "doing": None})

    def _update(self, daemon_id: int, values: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.daemons.update().where(D.id == daemon_id, D.stopped_at.is_(None)).values(**values))

    @guarded
    def daemons(self) -> list[Daemon]:
        """Every row, newest first (pruning keeps them few)."""
        with reading(self.engine) as conn:
            return [Daemon.from_row(r) for r in conn.execute(sa.select(t.daemons).order_by(D.id.desc()))]

    @guarded
    def prune(self, now: datetime) -> int:
        """Forget rows stopped more than KEEP_STOPPED ago, and rows dead for more than KEEP_DEAD that
        no task names as its owner (a takeover needs the row of the owner it takes from). Returns
        how many rows went."""
        owners = sa.select(t.tasks.c.owner).where(t.tasks.c.owner.is_not(None)).distinct()
        with self.engine.begin() as conn:
            stopped = conn.execute(t.daemons.delete().where(
                D.stopped_at < naive(now - KEEP_STOPPED), D.owner.not_in(owners)))
            dead = conn.execute(t.daemons.delete().where(
                D.stopped_at.is_(None), D.last_seen < naive(now - KEEP_DEAD), D.owner.not_in(owners)))
            return stopped.rowcount + dead.rowcount
