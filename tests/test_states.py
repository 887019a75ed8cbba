"""The state machine: every allowed and every refused transition, for tasks and items."""

import itertools

import pytest

from core.errors import IllegalTransition
from tasks.states import (
    ITEM_OUTCOMES,
    ITEM_TRANSITIONS,
    ItemStatus,
    TaskStatus,
    can_transition,
    check_task_transition,
)

ALLOWED_TASK = {
    ("pending", "running"), ("pending", "missed"), ("pending", "killed"), ("pending", "error"),
    ("running", "completed"), ("running", "killed"), ("running", "error"),
}
ALLOWED_ITEM = {("pending", "processed"), ("pending", "skipped"), ("pending", "cancelled"),
                ("pending", "error")}


def test_statuses_are_the_seeds_lowercase_names():
    assert [s.value for s in TaskStatus] == ["pending", "missed", "running", "completed", "killed", "error"]
    assert [s.value for s in ItemStatus] == ["pending", "processed", "skipped", "cancelled", "error"]
    assert TaskStatus("running") == "running"


@pytest.mark.parametrize("current,wanted", sorted(ALLOWED_TASK))
def test_allowed_task_transition_passes(current, wanted):
    check_task_transition(1, current, TaskStatus(wanted))
    assert can_transition(TaskStatus(current), TaskStatus(wanted))


REFUSED_TASK = sorted(set(itertools.product([s.value for s in TaskStatus], repeat=2)) - ALLOWED_TASK)


@pytest.mark.parametrize("current,wanted", REFUSED_TASK)
def test_every_other_task_transition_raises(current, wanted):
    with pytest.raises(IllegalTransition) as exc:
        check_task_transition(7, current, TaskStatus(wanted))
    assert str(exc.value).startswith(f"task 7 is {current}; ")


def test_killing_a_finished_task_says_what_can_be_killed():
    with pytest.raises(IllegalTransition) as exc:
        check_task_transition(7, "completed", TaskStatus.KILLED)
    assert str(exc.value) == "task 7 is completed; only pending or running tasks can be killed"


def test_the_item_table_allows_only_pending_to_an_outcome():
    """The store enforces it on every write of outcomes (test_heartbeat: a stale batch rolls back)."""
    allowed = {(a.value, b.value) for a, wanted in ITEM_TRANSITIONS.items() for b in wanted}
    assert allowed == ALLOWED_ITEM
    assert ITEM_OUTCOMES == {ItemStatus.PROCESSED, ItemStatus.SKIPPED, ItemStatus.ERROR}


def test_finished_statuses_are_terminal():
    finished = {s for s in TaskStatus if s.finished}
    assert finished == {TaskStatus.MISSED, TaskStatus.COMPLETED, TaskStatus.KILLED, TaskStatus.ERROR}
