"""The notification outbox: deliveries written in the transaction that changes a task's status.

A status change a [[notify]] entry asks about (`Subscriptions.record`, called by
tasks.rows.transition and nothing else) inserts one pending delivery per entry in that same
transaction: if the change commits, its deliveries exist; if it rolls back (a crash, a lost
database), neither does. So a crash never loses a notification nor invents one.

Senders (heartbeat.engine.notify) take due deliveries one at a time (`Outbox.take`): the take moves the
delivery's next attempt past the attempt's timeout first, in a committed conditional update, so two
senders never attempt one delivery at once, and one that dies mid-attempt leaves it to be tried
again later. Delivery is at least once: a sender that dies after the receiver got the message but
before `delivered` committed sends it again; the delivery id lets the receiver drop the repeat.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.clock import as_utc, iso
from core.errors import HeartbeatError, Refused
from tasks import tables as t
from tasks.guard import guarded
from tasks.models import Task
from tasks.states import FINISHED, TaskStatus

N = t.notifications.c
TASK = t.tasks.c
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# statuses an entry may ask about (a task never becomes pending again)
EVENTS = tuple(s.value for s in TaskStatus if s is not TaskStatus.PENDING)


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True)
class Subscription:
    """A [[notify]] entry as the outbox sees it: its name and the statuses it asks about."""

    target: str
    on: frozenset[str]


class Subscriptions:
    """Which status changes write deliveries, and for whom."""

    def __init__(self, entries: Iterable[Subscription] = ()):
        self.entries = tuple(entries)

    @classmethod
    def of(cls, notify: Iterable[Any]) -> Subscriptions:
        """From the config's [[notify]] entries (core.config.Notify: name, on)."""
        return cls(Subscription(n.name, frozenset(n.on)) for n in notify)

    def record(self, conn: Connection, task: Task, now: datetime) -> int:
        """In the transaction that just gave `task` its status: a pending delivery for each entry
        asking about that status ("missed" only for the second missed task of its profile in a
        row). Returns how many were written."""
        targets = [s.target for s in self.entries if task.status.value in s.on]
        if not targets:
            return 0
        if task.status is TaskStatus.MISSED and not second_missed_in_a_row(conn, task):
            return 0
        snapshot = json.dumps(task.to_json(), ensure_ascii=False)  # in the --json order
        at = _naive(now)
        conn.execute(t.notifications.insert(), [
            {"task_id": task.id, "target": target, "event": f"task.{task.status.value}", "task": snapshot,
             "status": PENDING, "created_at": at, "next_attempt_at": at, "attempts": 0}
            for target in targets])
        return len(targets)


NOBODY = Subscriptions()


def second_missed_in_a_row(conn: Connection, task: Task) -> bool:
    """Whether `task` (just missed) is its profile's second missed task in a row: the profile's
    latest other finished task was missed, and the one before that was not (or there is none).
    A third one in a row says nothing new and is not notified; a task that ends otherwise starts
    the count again."""
    finished = [s.value for s in FINISHED]
    earlier = conn.execute(
        sa.select(TASK.status).where(TASK.profile == task.profile, TASK.id != task.id,
                                     TASK.status.in_(finished))
        .order_by(TASK.finished_at.desc(), TASK.id.desc()).limit(2)).scalars().all()
    missed = TaskStatus.MISSED.value
    return len(earlier) >= 1 and earlier[0] == missed and (len(earlier) == 1 or earlier[1] != missed)


class NotificationNotFound(HeartbeatError):
    def __init__(self, delivery_id: int):
        super().__init__(f"notification {delivery_id} not found")


@dataclass(frozen=True)
class Notification:
    """One notification to send: to the [[notify]] entry `target`, about `event` of a task as it
    was then (`task`: its --json object)."""

    id: int
    task_id: int
    target: str
    event: str
    task: dict
    status: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    last_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row) -> Notification:
        m = row._mapping
        return cls(id=m["id"], task_id=m["task_id"], target=m["target"], event=m["event"],
                   task=json.loads(m["task"]), status=m["status"], created_at=as_utc(m["created_at"]),
                   next_attempt_at=as_utc(m["next_attempt_at"]), attempts=m["attempts"],
                   last_attempt_at=as_utc(m["last_attempt_at"]), last_error=m["last_error"],
                   delivered_at=as_utc(m["delivered_at"]))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "task_id": self.task_id, "target": self.target, "event": self.event,
                "status": self.status, "created_at": iso(self.created_at), "attempts": self.attempts,
                "last_attempt_at": iso(self.last_attempt_at), "last_error": self.last_error,
                "next_attempt_at": iso(self.next_attempt_at) if self.status == PENDING else None,
                "delivered_at": iso(self.delivered_at)}


class Outbox:
    """The outbox's verbs for senders and readers (the task store's `outbox`)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def due(self, now: datetime, limit: int = 20) -> list[Notification]:
        """Pending deliveries whose next attempt has come, oldest first."""
        query = (sa.select(t.notifications).where(N.status == PENDING, N.next_attempt_at <= _naive(now))
                 .order_by(N.next_attempt_at, N.id).limit(limit))
        with self.engine.connect() as conn:
            return [Notification.from_row(r) for r in conn.execute(query)]

    @guarded
    def take(self, delivery_id: int, now: datetime, until: datetime) -> Notification | None:
        """Take a due delivery for one attempt (committed before the attempt): its next attempt
        moves to `until`, the end of the attempt's time. None when it is no longer due (delivered,
        or taken by another sender)."""
        with self.engine.begin() as conn:
            taken = conn.execute(t.notifications.update().where(
                N.id == delivery_id, N.status == PENDING, N.next_attempt_at <= _naive(now),
            ).values(next_attempt_at=_naive(until), attempts=N.attempts + 1, last_attempt_at=_naive(now)))
            if taken.rowcount != 1:
                return None
            row = conn.execute(sa.select(t.notifications).where(N.id == delivery_id)).one()
            return Notification.from_row(row)

    @guarded
    def delivered(self, delivery_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.notifications.update().where(N.id == delivery_id, N.status == PENDING).values(
                status=DELIVERED, delivered_at=_naive(now), last_error=None))

    @guarded
    def failed(self, delivery_id: int, error: str, retry_at: datetime | None) -> None:
        """An attempt failed with `error`: try again at `retry_at`, or give up (None)."""
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_at is None:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = _naive(retry_at)
        with self.engine.begin() as conn:
            conn.execute(t.notifications.update().where(N.id == delivery_id, N.status == PENDING)
                         .values(**values))

    @guarded
    def list(self, status: str | None = None, task_id: int | None = None,
             limit: int = 50) -> list[Notification]:
        """Deliveries newest first."""
        query = sa.select(t.notifications).order_by(N.id.desc()).limit(limit)
        if status:
            query = query.where(N.status == status)
        if task_id is not None:
            query = query.where(N.task_id == task_id)
        with self.engine.connect() as conn:
            return [Notification.from_row(r) for r in conn.execute(query)]

    @guarded
    def retry(self, delivery_id: int, now: datetime) -> Notification:
        """Send a given-up or failing delivery again at the sender's next round: pending, due `now`,
        its attempts counted from zero again (a given-up one gets all its attempts back). Refused
        for a delivered one; NotificationNotFound for an unknown id."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.notifications).where(N.id == delivery_id)).first()
            if row is None:
                raise NotificationNotFound(delivery_id)
            if row.status == DELIVERED:
                raise Refused(f"notification {delivery_id} was delivered; there is nothing to retry")
            conn.execute(t.notifications.update().where(N.id == delivery_id, N.status != DELIVERED).values(
                status=PENDING, next_attempt_at=_naive(now), attempts=0))
            return Notification.from_row(conn.execute(sa.select(t.notifications)
                                                      .where(N.id == delivery_id)).one())

    @guarded
    def problems(self, late: datetime) -> list[Notification]:
        """Deliveries an operator should hear of, oldest first: given up (failed), failing (pending
        after a failed attempt), or pending and due since before `late` (no sender is running)."""
        query = (sa.select(t.notifications).where(sa.or_(
            N.status == FAILED,
            sa.and_(N.status == PENDING, N.last_error.is_not(None)),
            sa.and_(N.status == PENDING, N.next_attempt_at < _naive(late)),
        )).order_by(N.id))
        with self.engine.connect() as conn:
            return [Notification.from_row(r) for r in conn.execute(query)]


def forget_finished(conn: Connection, task_ids: list[int]) -> None:
    """With deleted tasks: their deliveries that are done (delivered or given up). Pending ones
    stay: the event happened, and the receiver is still told."""
    conn.execute(t.notifications.delete().where(N.task_id.in_(task_ids), N.status != PENDING))
