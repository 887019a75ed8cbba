"""Row operations on a task inside a transaction the store opened: read it, log a line, change its
status. The store and the batch it hands out share them; nothing above `tasks/` calls them.

`transition` is the only place a task's status changes: it asks the state machine first, cancels
what a task that ends leaves pending, and writes the notifications the change asks for
(tasks.stores.outbox), all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import driver
from core.errors import MAX_ID, Refused, TaskNotFound
from tasks import tables as t
from tasks.models import Task
from tasks.states import ItemStatus, TaskStatus, check_task_transition
from tasks.stores.outbox import Subscriptions

TASK = t.tasks.c
ITEM = t.items.c
# a task row as Task needs it: without the saved plan, a large text only Planning.saved_plan() reads
TASK_COLUMNS = [c for c in t.tasks.c if c.name != "plan"]
# statements every batch runs, built once (building a select of 30 columns costs more than running it)
_TASK = sa.select(*TASK_COLUMNS).where(TASK.id == sa.bindparam("id"))
_TASK_LOCKED = _TASK.with_for_update()
_TASK_LOCKED_SKIP = _TASK.with_for_update(skip_locked=True)
_LOG_LINE = t.log.insert()


def naive(value: datetime | None) -> datetime | None:
    """UTC datetimes are stored naive (portable across SQLite and MySQL)."""
    return value.replace(tzinfo=None) if value is not None and value.tzinfo else value


def read_task(conn: Connection, task_id: int, lock: bool = False, skip_locked: bool = False) -> Task:
    """The task row; with `lock`, locked FOR UPDATE (skipping a row another transaction holds, with
    `skip_locked`: then TaskNotFound). Raises TaskNotFound."""
    if not 0 < task_id <= MAX_ID:  # no such row; and the driver would overflow, not say so
        raise TaskNotFound(task_id)
    query = _TASK_LOCKED_SKIP if lock and skip_locked else _TASK_LOCKED if lock else _TASK
    row = conn.execute(query, {"id": task_id}).first()
    if row is None:
        raise TaskNotFound(task_id)
    return Task.from_row(row)


def lock_task(conn: Connection, task_id: int, skip_locked: bool = True) -> Task | None:
    """The task row locked for this transaction; None when it is gone (or, with `skip_locked`,
    locked by another transaction)."""
    try:
        return read_task(conn, task_id, lock=True, skip_locked=skip_locked)
    except TaskNotFound:
        return None


def write_log(conn: Connection, task_id: int, now: datetime, message: str, level: str = "info") -> None:
    conn.execute(_LOG_LINE, {"task_id": task_id, "logged_at": naive(now), "level": level,
                             "message": message})


def write_logs(conn: Connection, task_id: int, now: datetime, lines: list[str | tuple[str, str]]) -> None:
    """Log lines (text, or (level, text)) in one multi-row insert."""
    at = naive(now)
    driver.insert_rows(conn, t.log, ("task_id", "logged_at", "level", "message"), [
        (task_id, at, *(line if isinstance(line, tuple) else ("info", line))) for line in lines])


def transition(conn: Connection, task: Task, wanted: TaskStatus, now: datetime,
               message: str | None, notify: Subscriptions) -> Task:
    """The only place a task's status changes. Raises IllegalTransition for a change the state
    machine does not allow, Refused when the row changed under us. Returns the task as it now is.

    A task that reaches a final state keeps no pending item: in the same transaction they become
    cancelled, with `cancelled_because(wanted, message)` as their detail (a kill, an error). The
    deliveries `notify` asks for are written in the same transaction too (tasks.stores.outbox)."""
    check_task_transition(task.id, task.status, wanted)
    values = {"status": wanted.value, "message": message}
    if wanted is TaskStatus.RUNNING:
        values["started_at"] = naive(now)
    if wanted.finished:
        values.update(finished_at=naive(now), owner=None, lease_until=None)
        cancelled = conn.execute(t.items.update().where(
            ITEM.task_id == task.id, ITEM.position > task.handled_upto,
            ITEM.status == ItemStatus.PENDING.value,
        ).values(status=ItemStatus.CANCELLED.value, detail=cancelled_because(wanted, message))).rowcount
        if cancelled:
            values.update(cancelled=TASK.cancelled + cancelled, pending=TASK.pending - cancelled,
                          handled_upto=task.progress.total)
    updated = conn.execute(t.tasks.update().where(
        TASK.id == task.id, TASK.status == task.status.value).values(**values))
    if updated.rowcount != 1:
        raise Refused(f"task {task.id} changed while it was being updated; try again")
    changed = read_task(conn, task.id)
    notify.record(conn, changed, now)
    return changed


def wait(conn: Connection, task: Task, now: datetime, message: str) -> Task:
    """A pending task that cannot start yet stays pending, its `message` saying what it waits for
    (not a status change: the state machine has no pending -> pending). The reason is logged once,
    when it first waits or what it waits for changes. Returns the task as it now is."""
    if task.message != message:
        conn.execute(t.tasks.update().where(TASK.id == task.id, TASK.status == task.status.value)
                     .values(message=message))
        write_log(conn, task.id, now, message)
    return read_task(conn, task.id)


def cancelled_because(status: TaskStatus, message: str | None) -> str:
    """The detail of an item cancelled because its task ended: a kill's reason ("killed by user"),
    else "task ended in error: <message>"."""
    if status is TaskStatus.KILLED:
        return message or "killed"
    return f"task ended in {status.value}" + (f": {message}" if message else "")
