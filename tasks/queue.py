"""Starting a task: building its queue, marking repeated references, and why it may not start.
Functions over a connection in the store's transaction (TaskStore.start)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import driver
from tasks import tables as t
from tasks.models import QueueEntry, Task
from tasks.states import ItemStatus, TaskStatus

QUEUE_CHUNK = 5000
TASK = t.tasks.c
ITEM = t.items.c


def too_late(task: Task, now: datetime, grace: int | None) -> str | None:
    """Why a scheduled task is too late to start (a task queued by hand has no slot to miss)."""
    if grace is None or task.trigger != "schedule":
        return None
    if now - task.scheduled_at <= timedelta(seconds=grace):
        return None
    late = int((now - task.scheduled_at).total_seconds())
    return f"too late for the schedule: {late} s after its slot, misfire_grace is {grace} s"

def running_sibling(conn: Connection, profile: str, task_id: int) -> int | None:
    """The running task of `profile` other than `task_id`, if any (one task of a profile at a time)."""
    return conn.execute(sa.select(TASK.id).where(
        TASK.profile == profile, TASK.status == TaskStatus.RUNNING.value, TASK.id != task_id,
    ).order_by(TASK.id).limit(1)).scalar()


def sibling_running(conn: Connection, task: Task, now: datetime) -> str | None:
    """Why a schedule slot is missed while another task of its profile is running."""
    sibling = running_sibling(conn, task.profile, task.id)
    if sibling is None:
        return None
    return f"task {sibling} of profile {task.profile} was still running at {now:%H:%M} UTC"


def waits_for(sibling: int, profile: str) -> str:
    """The message of a task a person queued while task `sibling` of its profile runs."""
    return f"waiting: task {sibling} of profile {profile} is running; this one starts when it ends"


def pending_twin(conn: Connection, profile: str, options: str) -> int | None:
    """The oldest pending task of `profile` queued by hand with the same `options` (JSON text)."""
    return conn.execute(sa.select(TASK.id).where(
        TASK.profile == profile, TASK.status == TaskStatus.PENDING.value, TASK.triggered_by != "schedule",
        TASK.options == options,
    ).order_by(TASK.id).limit(1)).scalar()


def waited(task: Task, now: datetime) -> str:
    """The log line of a task that started after waiting."""
    seconds = max(0, int((now - task.scheduled_at).total_seconds()))
    return f"started after waiting {seconds // 60} min {seconds % 60} s ({task.message})"

def insert(conn: Connection, task_id: int, entries: Iterable[QueueEntry]) -> int:
    """Bulk-insert the queue in chunks; returns its length. Positions start at 1."""
    total, it = 0, iter(entries)
    pending = ItemStatus.PENDING.value
    columns = ("task_id", "position", "status", *QueueEntry._fields)  # a row: 3 values + the entry
    while chunk := list(islice(it, QUEUE_CHUNK)):
        driver.insert_rows(conn, t.items, columns, [
            (task_id, position, pending) + entry for position, entry in enumerate(chunk, start=total + 1)
        ])
        total += len(chunk)
    return total

def error_entries(conn: Connection, task_id: int) -> Iterator[QueueEntry]:
    """The error items of task `task_id` as a queue, in position order, with their stored payloads
    (an import's feed rows as they were then): what a retry queues, read a chunk at a time on the
    starting transaction's connection. The items are read before the new ones are written, so a
    task's own rows are never read back."""
    after = 0
    while True:
        rows = conn.execute(sa.select(ITEM.position, ITEM.product_id, ITEM.combination_id, ITEM.reference,
                                      ITEM.name, ITEM.payload).where(
            ITEM.task_id == task_id, ITEM.status == ItemStatus.ERROR.value, ITEM.position > after,
        ).order_by(ITEM.position).limit(QUEUE_CHUNK)).all()
        yield from (QueueEntry(r.product_id, r.combination_id, r.reference, r.name, r.payload) for r in rows)
        if len(rows) < QUEUE_CHUNK:
            return
        after = rows[-1].position


def mark_duplicates(conn: Connection, task_id: int, note: Callable[[str | None], str]) -> None:
    """The database finds repeated references (a feed of a million rows need not fit in memory)."""
    firsts = dict(conn.execute(sa.select(ITEM.reference, sa.func.min(ITEM.position)).where(
        ITEM.task_id == task_id, ITEM.reference.is_not(None),
    ).group_by(ITEM.reference).having(sa.func.count() > 1)).all())
    refs = list(firsts)
    for i in range(0, len(refs), 1000):
        chunk = refs[i:i + 1000]
        rows = conn.execute(sa.select(ITEM.position, ITEM.reference, ITEM.payload).where(
            ITEM.task_id == task_id, ITEM.reference.in_(chunk))).all()
        first_payload = {r.reference: r.payload for r in rows if r.position == firsts[r.reference]}
        marks = [{"p": r.position, "d": note(first_payload[r.reference])}
                 for r in rows if r.position != firsts[r.reference]]
        if marks:
            conn.execute(t.items.update().where(
                ITEM.task_id == task_id, ITEM.position == sa.bindparam("p"),
            ).values(detail=sa.bindparam("d")), marks)
