"""A step that fails the same way at every heartbeat ends its task instead of looping silently.

The heartbeat isolates each task's step (its start, or one batch): an unexpected exception is logged
and the next heartbeat tries again, which is right for a passing fault. But a fault that comes back
every time (a value the code cannot handle, a bug) would leave the task pending or running forever,
with a traceback in the log at each heartbeat. So each such failure is counted on the task row, by
its reason and the position the task had reached: after STEP_FAILURES_ALLOWED heartbeats in a row
with the same one, the task ends in error with the reason. Progress (a new position) or another
reason starts the count again. Outages (the state database, a shop that does not answer) are not
counted here: they are waited out elsewhere.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tasks import tables as t
from tasks.models import Task
from tasks.rows import transition, write_log
from tasks.states import TaskStatus
from tasks.stores.outbox import Subscriptions

STEP_FAILURES_ALLOWED = 5  # heartbeats in a row (docs/reliability.md)
TASK = t.tasks.c


def record(conn: Connection, task: Task, now: datetime, reason: str, notify: Subscriptions) -> Task:
    """Count one failure of `task`'s step (the task row is locked by the caller); the task as it
    now is: in error once the same failure reached STEP_FAILURES_ALLOWED."""
    position, count, last = conn.execute(sa.select(TASK.handled_upto, TASK.step_failures, TASK.step_failure)
                                         .where(TASK.id == task.id)).one()
    key = f"{position}: {reason}"[:500]
    count = count + 1 if last == key else 1
    conn.execute(t.tasks.update().where(TASK.id == task.id).values(step_failures=count, step_failure=key))
    if count < STEP_FAILURES_ALLOWED:
        write_log(conn, task.id, now, f"heartbeat failed ({count} of {STEP_FAILURES_ALLOWED} in a row "
                                      f"before the task ends in error): {reason}", level="warning")
        return task
    message = (f"failed the same way at {STEP_FAILURES_ALLOWED} heartbeats in a row: {reason} "
               "(the daemon's log has the details)")
    failed = transition(conn, task, TaskStatus.ERROR, now, message, notify)
    write_log(conn, task.id, now, message, level="error")
    return failed
