"""Reads for `heartbeat status`, the Prometheus metrics and the tasks page's timeline: reads over the
whole state database, so every process that asks (the daemon's metrics server, the web page, the
CLI) tells the same truth.
Read-only, each verb one short transaction; nothing here locks a row a batch may hold.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.clock import as_utc
from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded
from tasks.models import Task
from tasks.rows import TASK_COLUMNS, naive
from tasks.states import TaskStatus
from tasks.stores import totals

TASK = t.tasks.c


class Overview:
    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def revision(self) -> str | None:
        """The state database's schema revision (also: the database answers)."""
        with reading(self.engine) as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    @guarded
    def task_counts(self) -> dict[tuple[str, str], int]:
        """{(profile, status): tasks} over every task kept in history."""
        query = sa.select(TASK.profile, TASK.status, sa.func.count()).group_by(TASK.profile, TASK.status)
        with reading(self.engine) as conn:
            return {(p, s): int(n) for p, s, n in conn.execute(query)}

    @guarded
    def last_finished(self, status: TaskStatus) -> dict[str, datetime]:
        """{profile: finished_at of its newest task with `status`} (a finished status)."""
        query = (sa.select(TASK.profile, sa.func.max(TASK.finished_at))
                 .where(TASK.status == status.value).group_by(TASK.profile))
        with reading(self.engine) as conn:
            return {p: as_utc(at) for p, at in conn.execute(query) if at is not None}

    @guarded
    def due(self, now: datetime) -> tuple[int, datetime | None]:
        """(pending tasks whose time has come, the oldest one's scheduled_at)."""
        query = sa.select(sa.func.count(), sa.func.min(TASK.scheduled_at)).where(
            TASK.status == TaskStatus.PENDING.value, TASK.scheduled_at <= naive(now))
        with reading(self.engine) as conn:
            count, oldest = conn.execute(query).one()
        return int(count), as_utc(oldest)

    @guarded
    def totals(self) -> dict[str, dict]:
        """Per profile: items by outcome and the batch duration histogram (tasks.stores.totals.read)."""
        with reading(self.engine) as conn:
            return totals.read(conn)

    @guarded
    def timeline(self, since: datetime, limit: int = 5000) -> list[Task]:
        """Tasks that ran at some time after `since`: started, and running still or finished after
        it; oldest start first, at most `limit` (the newest kept)."""
        query = (sa.select(*TASK_COLUMNS).where(
            TASK.started_at.is_not(None),
            sa.or_(TASK.finished_at >= naive(since), TASK.status == TaskStatus.RUNNING.value),
        ).order_by(TASK.started_at.desc(), TASK.id.desc()).limit(limit))
        with reading(self.engine) as conn:
            return [Task.from_row(r) for r in conn.execute(query)][::-1]
