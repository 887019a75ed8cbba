"""The state machine: every task and item status, and every allowed transition, in one place.

Statuses are `str` enums with the seed's lowercase names and are stored as those strings. Nothing
outside this module decides whether a status may change: callers ask `check_task_transition`, which
raises `IllegalTransition` for anything the table below does not list.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import IllegalTransition


class TaskStatus(StrEnum):
    PENDING = "pending"
    MISSED = "missed"
    RUNNING = "running"
    COMPLETED = "completed"
    KILLED = "killed"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self in FINISHED


class ItemStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    ERROR = "error"


FINISHED = frozenset({TaskStatus.MISSED, TaskStatus.COMPLETED, TaskStatus.KILLED, TaskStatus.ERROR})

TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset(
        {TaskStatus.RUNNING, TaskStatus.MISSED, TaskStatus.KILLED, TaskStatus.ERROR}
    ),
    TaskStatus.RUNNING: frozenset({TaskStatus.COMPLETED, TaskStatus.KILLED, TaskStatus.ERROR}),
    TaskStatus.MISSED: frozenset(),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.KILLED: frozenset(),
    TaskStatus.ERROR: frozenset(),
}

# An item is handled once: pending becomes one of the outcomes, and outcomes are final.
ITEM_TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.PENDING: frozenset(
        {ItemStatus.PROCESSED, ItemStatus.SKIPPED, ItemStatus.CANCELLED, ItemStatus.ERROR}
    ),
    ItemStatus.PROCESSED: frozenset(),
    ItemStatus.SKIPPED: frozenset(),
    ItemStatus.CANCELLED: frozenset(),
    ItemStatus.ERROR: frozenset(),
}

# Outcomes a profile may give an item while processing it (cancelled is only for kills and errors
# of the task). The store writes outcomes only over pending items (tasks.batch), as this table says.
ITEM_OUTCOMES = ITEM_TRANSITIONS[ItemStatus.PENDING] - {ItemStatus.CANCELLED}


def can_transition(current: TaskStatus, wanted: TaskStatus) -> bool:
    return wanted in TASK_TRANSITIONS[TaskStatus(current)]


def check_task_transition(task_id: int, current: TaskStatus | str, wanted: TaskStatus) -> None:
    """Raise IllegalTransition unless the table allows current -> wanted."""
    current = TaskStatus(current)
    if not can_transition(current, wanted):
        hint = ""
        if wanted is TaskStatus.KILLED:
            hint = "only pending or running tasks can be killed"
        raise IllegalTransition(f"task {task_id}", current.value, wanted.value, hint)
