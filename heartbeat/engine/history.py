"""Removing finished tasks with their files: one rule for `tasks delete`, `tasks prune` and the
daemon's `keep_history` (the loop prunes once a day, beat.py). The rows go in one transaction of the
store; files that cannot be removed afterwards are reported, one line each, never raised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reports import export_file
from tasks.models import Task
from tasks.store import TaskStore


@dataclass(frozen=True)
class Removed:
    """Tasks deleted with their items and logs, and any of their files that could not be removed
    (one line each): the tasks are gone either way."""

    tasks: list[Task]
    problems: list[str] = field(default_factory=list)


def delete(store: TaskStore, task_id: int, now: datetime) -> Removed:
    """The task with its items, action log and export file (killed first if still active)."""
    task = store.delete(task_id, now)
    return Removed([task], export_file.remove_all([task]))


def prune(store: TaskStore, older_than: timedelta, now: datetime,
          statuses: Iterable[str] | None = None) -> Removed:
    """The tasks that finished longer than `older_than` before `now` (only `statuses`, if given)."""
    deleted = store.prune(now - older_than, list(statuses) if statuses else None)
    return Removed(deleted, export_file.remove_all(deleted))
