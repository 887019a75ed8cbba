"""The delivery state of export files uploaded to an http target: the store's verbs for it.

A delivery is created pending in the transaction that completes its export task (`schedule`, called
by tasks.batch), so a completed task with an http target always has one. Each attempt is claimed
first (committed: the attempt is counted and a lease names the process making it, so two processes
never upload one file at once and a process that dies mid-attempt is noticed), then the upload runs
outside any transaction, then `record` writes its outcome and the action-log line together.

Statuses and their changes live here: pending -> delivered | failed (gave up), failed -> pending
(tried again by hand); delivered is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.clock import as_utc, iso
from core.errors import IllegalTransition, Refused
from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded
from tasks.leases import busy, owner_gone
from tasks.rows import naive, write_log

D = t.deliveries.c


class UploadStatus(StrEnum):
    PENDING = "pending"  # an attempt is due at next_at (or one is in progress: a lease is held)
    DELIVERED = "delivered"  # the target answered 2xx
    FAILED = "failed"  # given up (attempts used up, or refused for good); `tasks deliver` reopens it


_ALLOWED = {
    UploadStatus.PENDING: {UploadStatus.PENDING, UploadStatus.DELIVERED, UploadStatus.FAILED},
    UploadStatus.FAILED: {UploadStatus.PENDING},
    UploadStatus.DELIVERED: set(),
}


def _check(task_id: int, current: UploadStatus, wanted: UploadStatus) -> None:
    if wanted not in _ALLOWED[current]:
        raise IllegalTransition(f"task {task_id}'s delivery", current.value, wanted.value)


@dataclass(frozen=True)
class ExportUpload:
    task_id: int
    connection: str
    status: UploadStatus
    attempts: int
    next_at: datetime | None
    owner: str | None
    lease_until: datetime | None
    sha256: str | None
    http_status: int | None
    seconds: float | None
    outcome: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    interrupted: bool = False  # (claim only) the previous attempt's process died before recording it

    @classmethod
    def from_row(cls, row, interrupted: bool = False) -> ExportUpload:
        m = row._mapping
        return cls(m["task_id"], m["connection"], UploadStatus(m["status"]), m["attempts"],
                   as_utc(m["next_at"]), m["owner"], as_utc(m["lease_until"]), m["sha256"], m["http_status"],
                   m["seconds"], m["outcome"], as_utc(m["created_at"]), as_utc(m["updated_at"]),
                   as_utc(m["delivered_at"]), interrupted)

    def to_json(self) -> dict[str, Any]:
        """The `delivery` object of `tasks show --json` (docs/task-manager.md)."""
        return {"connection": self.connection, "status": self.status.value, "attempts": self.attempts,
                "next_attempt_at": iso(self.next_at) if self.status is UploadStatus.PENDING else None,
                "delivered_at": iso(self.delivered_at), "http_status": self.http_status,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "sha256": self.sha256, "outcome": self.outcome}


def schedule(conn: Connection, task_id: int, connection: str, now: datetime) -> None:
    """A pending delivery of task_id's export file to `connection`, due at once; called inside the
    transaction that completes the task."""
    at = naive(now)
    conn.execute(t.deliveries.insert().values(task_id=task_id, connection=connection,
                                              status=UploadStatus.PENDING.value, attempts=0,
                                              next_at=at, created_at=at, updated_at=at))


_ROW = sa.select(t.deliveries).where(D.task_id == sa.bindparam("id"))


def _lock(conn: Connection, task_id: int, skip_locked: bool) -> Any:
    return conn.execute(_ROW.with_for_update(skip_locked=skip_locked), {"id": task_id}).first()


class UploadStore:
    """The delivery verbs (the task store's `deliveries`); driver errors become StateDatabaseError."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def get(self, task_id: int) -> ExportUpload | None:
        with reading(self.engine) as conn:
            row = conn.execute(_ROW, {"id": task_id}).first()
        return None if row is None else ExportUpload.from_row(row)

    @guarded
    def recent(self, limit: int = 20) -> list[ExportUpload]:
        """The newest deliveries (by task id), for the Configure page."""
        query = sa.select(t.deliveries).order_by(D.task_id.desc()).limit(limit)
        with reading(self.engine) as conn:
            return [ExportUpload.from_row(row) for row in conn.execute(query)]

    @guarded
    def due(self, now: datetime, limit: int = 100) -> list[int]:
        """Task ids of pending deliveries whose next attempt is due, the longest waiting first."""
        query = (sa.select(D.task_id).where(D.status == UploadStatus.PENDING.value, D.next_at <= naive(now))
                 .order_by(D.next_at, D.task_id).limit(limit))
        with reading(self.engine) as conn:
            return list(conn.execute(query).scalars())

    @guarded
    def claim(self, task_id: int, owner: str, now: datetime, lease: timedelta) -> ExportUpload | None:
        """Take a due pending delivery for one attempt, counted and committed before the upload.
        None when it is not due, not pending, gone, or another live process is attempting it. The
        ExportUpload returned says `interrupted` when the previous attempt's process died before
        recording it (its upload may have reached the target: the next one carries the same key)."""
        with self.engine.connect() as conn, conn.begin():
            row = _lock(conn, task_id, skip_locked=True)
            if row is None or row.status != UploadStatus.PENDING.value or as_utc(row.next_at) > now:
                return None
            interrupted = False
            if row.lease_until is not None:  # an attempt was in progress
                lease_until = as_utc(row.lease_until)
                alive = busy(lease_until, now) and not owner_gone(row.owner, lease_until, now)
                if row.owner != owner and alive:
                    return None
                interrupted = True
            conn.execute(t.deliveries.update().where(D.task_id == task_id).values(
                attempts=D.attempts + 1, owner=owner, lease_until=naive(now + lease), updated_at=naive(now)))
            return ExportUpload.from_row(conn.execute(_ROW, {"id": task_id}).one(), interrupted)

    @guarded
    def record(self, task_id: int, owner: str, now: datetime, status: UploadStatus, *,
               next_at: datetime | None, http_status: int | None, seconds: float | None,
               sha256: str | None, outcome: str, line: str, level: str = "info") -> ExportUpload | None:
        """The outcome of the attempt `owner` claimed, with its action-log `line`, in one transaction;
        the lease is dropped. None when the attempt is no longer ours (the task was deleted, or
        another process took the delivery over)."""
        with self.engine.connect() as conn, conn.begin():
            row = _lock(conn, task_id, skip_locked=False)
            if row is None or row.owner != owner or row.lease_until is None:
                return None
            _check(task_id, UploadStatus(row.status), status)
            values = dict(status=status.value, next_at=naive(next_at), owner=None, lease_until=None,
                          http_status=http_status, seconds=seconds, outcome=outcome, updated_at=naive(now))
            if sha256:
                values["sha256"] = sha256
            if status is UploadStatus.DELIVERED:
                values["delivered_at"] = naive(now)
            conn.execute(t.deliveries.update().where(D.task_id == task_id).values(**values))
            write_log(conn, task_id, now, line, level)
            return ExportUpload.from_row(conn.execute(_ROW, {"id": task_id}).one())

    @guarded
    def reopen(self, task_id: int, connection: str, now: datetime, line: str) -> ExportUpload:
        """Make task_id's delivery due now, by hand: a failed one gets a fresh count of attempts, a
        task without one (completed before its profile delivered over http) gets one; `line` goes
        to the action log. Refused when it was delivered already."""
        with self.engine.connect() as conn, conn.begin():
            row = _lock(conn, task_id, skip_locked=False)
            if row is None:
                schedule(conn, task_id, connection, now)
            else:
                current = UploadStatus(row.status)
                if current is UploadStatus.DELIVERED:
                    raise Refused(f"task {task_id} was delivered already: {row.outcome}")
                _check(task_id, current, UploadStatus.PENDING)
                values = dict(status=UploadStatus.PENDING.value, next_at=naive(now), updated_at=naive(now))
                if current is UploadStatus.FAILED:
                    values["attempts"] = 0
                conn.execute(t.deliveries.update().where(D.task_id == task_id).values(**values))
            write_log(conn, task_id, now, line)
            return ExportUpload.from_row(conn.execute(_ROW, {"id": task_id}).one())


def delete_rows(conn: Connection, task_ids: list[int]) -> None:
    """The deliveries of deleted tasks (TaskStore's delete and prune)."""
    conn.execute(t.deliveries.delete().where(D.task_id.in_(task_ids)))
