"""Crash recovery, all of its rules: which batch an owner takes, when its items are suspect, when one
is poisoned, and when a saved plan covers a batch.

Before any work on a batch the owner records it (position, end, lease) in a committed transaction
(TaskStore.claim). If the process dies, the next owner finds that record with a dead owner on it:
the batch was interrupted, and nobody knows which item, if any, was to blame. Its items become
*suspect*: they are then redone one at a time, each claimed and committed on its own, in a
sacrificial child process (heartbeat.engine.sacrificial) whose end the daemon watches. When that child
dies, the claim it recorded names the item it was handling (`interrupted`), and only such a death
counts against that item (TaskStore.record_crash): a crash or a signal the item brought on. The
next child starts with that item, so its further deaths are its own. The daemon itself being killed
(an operator, an OOM kill of the daemon, a restart loop during an upgrade) never counts, however
often it lands on one item. An item whose child died POISON_RESTARTS times is given up as an error
(UNEXPECTED_RESTART) and the task goes on. A clean stop releases the task, so it is never taken for
a death.

A heartbeat redoes suspect items for about one batch's worth of work (`redo_seconds`, and never more
items than a batch), so recovery keeps the rule of one batch per heartbeat even though an item alone
costs many times its share of a batch.

A batch with effects outside the state database (an import's shop writes) is planned first and its
plan saved before any effect; a redo after a crash applies that same plan (`covers`), even when
suspect mode takes its items one at a time, so it reports and writes exactly what a clean run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tasks.models import Task

POISON_RESTARTS = 3
REDO_SECONDS = 0.5  # a heartbeat's redo of suspect items takes at least this long: it starts a process
UNEXPECTED_RESTART = (f"unexpected restart: its processor died {POISON_RESTARTS} times while handling "
                      "this item alone")


@dataclass(frozen=True)
class Attempt:
    position: int  # first queue position of the batch
    end: int  # last position the batch may take
    restarts: int  # times a sacrificial process died while handling `position` alone
    suspect_until: int  # positions up to here are handled one at a time, in a sacrificial process
    restarted: bool  # the previous owner is gone without releasing the task
    died_here: bool  # ... and it died handling this very batch

    @property
    def suspect(self) -> bool:
        """True when this batch is one suspect item, to handle in a sacrificial process."""
        return self.position <= self.suspect_until

    @property
    def poisoned(self) -> bool:
        """True when this batch's item has killed its process too often: it is given up."""
        return self.restarts >= POISON_RESTARTS


def next_attempt(task: Task, owner: str, previous_gone: bool) -> Attempt:
    """The attempt `owner` makes on `task` now. `previous_gone`: the task's last processor, another
    process, no longer exists (a restart); it died in this batch when it still held the lease.

    A death in a batch puts the rest of that batch under suspicion but counts against no item:
    only `crashed` counts, from a sacrificial process's observed end."""
    position = task.handled_upto + 1
    restarted = previous_gone and task.owner not in (None, owner)
    died_here = restarted and task.lease_until is not None and task.attempt_position == position
    suspect_until = max(task.suspect_until, task.attempt_end) if died_here else task.suspect_until
    restarts = task.restarts if task.attempt_position == position else 0
    end = position if position <= suspect_until else position + task.batch_size - 1
    return Attempt(position, end, restarts, suspect_until, restarted, died_here)


def crashed(attempt: Attempt) -> int:
    """The item's count of deaths once its sacrificial process died handling it alone."""
    if not attempt.suspect:
        raise ValueError("only a suspect item, handled alone, can be blamed for a death")
    return attempt.restarts + 1


def poisoned_batch(attempt: Attempt, positions: Sequence[int]) -> bool:
    """True when the batch is exactly the item that has killed its process too often."""
    return attempt.poisoned and list(positions) == [attempt.position]


def covers(last_planned: int, attempt: Attempt) -> bool:
    """A saved plan (made by an attempt that started at or before this one, up to `last_planned`)
    covers this batch when it reaches its first item: the redo must repeat exactly what was planned."""
    return last_planned >= attempt.position


def plan_goes_on(last_planned: int, attempt: Attempt) -> bool:
    """The saved plan still covers items after this batch (suspect mode took fewer than planned):
    keep it when the batch commits."""
    return last_planned > attempt.end


def redo_seconds(task: Task) -> float:
    """How long one heartbeat redoes the task's suspect items one at a time: about one batch's worth
    of work, as long as its batches take on average, and at least REDO_SECONDS."""
    average = task.work_seconds / task.batches if task.batches else 0.0
    return max(average, REDO_SECONDS)


def suspect_left(suspect_until: int, total: int, handled_upto: int) -> int:
    """How many suspect items are still to redo once the items up to `handled_upto` are handled."""
    return max(0, min(suspect_until, total) - handled_upto)


def interrupted(task: Task, owner: str) -> Attempt | None:
    """The suspect item that `owner`'s sacrificial process was handling when it died, as the
    process's claim recorded it (`task` as it stands after the death). None when the process held
    no item (it died between two), or the task is no longer `owner`'s."""
    position = task.handled_upto + 1
    if (task.owner != owner or task.lease_until is None or task.attempt_position != position
            or position > task.suspect_until):
        return None
    return Attempt(position, task.attempt_end, task.restarts, task.suspect_until, False, False)
