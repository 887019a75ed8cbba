"""Removing finished tasks with their files: one rule for `tasks delete`, `tasks prune` and the
daemon's `keep_history` (the loop prunes once a day, beat.py). The rows go in one transaction of the
store; files that cannot be removed afterwards are reported, one line each, never raised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.actor import DAEMON
from reports import export_file
from tasks.models import Task
from tasks.store import TaskStore


@dataclass(frozen=True)
class Removed:
    """Tasks deleted with their items and logs, and any of their files that could not be removed
    (one line each): the tasks are gone either way."""

    tasks: list[Task]
    problems: list[str] = field(default_factory=list)


def delete(store: TaskStore, task_id: int, now: datetime,
           reason: str = "killed by user before deletion") -> Removed:
    """The task with its items, action log and export file (killed first, with `reason`, if still active)."""
    task = store.delete(task_id, now, reason)
    return Removed([task], export_file.remove_all([task]))


def prune(store: TaskStore, older_than: timedelta, now: datetime,
          statuses: Iterable[str] | None = None) -> Removed:
    """The tasks that finished longer than `older_than` before `now` (only `statuses`, if given)."""
    deleted = store.prune(now - older_than, list(statuses) if statuses else None)
    return Removed(deleted, export_file.remove_all(deleted))


def keep_history(store: TaskStore, days: int, now: datetime) -> Removed:
    """`[heartbeat] keep_history`: the tasks that finished more than `days` days ago, the audit
    entries older than that, and login sessions idle as long; the daemon's pruning is itself
    recorded in the audit trail when it removed tasks."""
    removed = prune(store, timedelta(days=days), now)
    store.audit.prune(now - timedelta(days=days))
    store.users.forget_idle(now - timedelta(days=days))
    if removed.tasks:
        ids = [t.id for t in removed.tasks]
        store.audit.record(now, DAEMON.name, DAEMON.via, None, "task.prune", f"tasks:{len(ids)}",
                           f"keep_history {days} days: tasks {_ranges(ids)}")
    return removed


def _ranges(ids: list[int]) -> str:
    """"3-7, 9" for [3, 4, 5, 6, 7, 9]."""
    parts, start = [], None
    for i, n in enumerate(sorted(ids)):
        if start is None:
            start = prev = n
        elif n != prev + 1:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = n
        prev = n
        if i == len(ids) - 1:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(parts)
