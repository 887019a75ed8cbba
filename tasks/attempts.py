"""Crash accounting: which batch an owner takes, and whether an item keeps killing the process.

Before any work on a batch the owner records it (position, end) in a committed transaction. If the
process dies, the next owner finds that record with a dead owner on it: the batch was interrupted.
Its items are then retried one per batch ("suspect" mode), so the one that kills the process shows
up by itself; an item handled alone during which the process died POISON_RESTARTS times is given
up as an error, and the task goes on. Only deaths while the item was handled alone count: three
external kills landing on one item by chance are that much less likely. A clean stop releases the
task, so it never counts as a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.models import Task

POISON_RESTARTS = 3
UNEXPECTED_RESTART = (f"unexpected restart: the process died {POISON_RESTARTS} times while handling "
                      "this item")


@dataclass(frozen=True)
class Attempt:
    position: int  # first queue position of the batch
    end: int  # last position the batch may take
    restarts: int  # times a processor died while handling `position`
    suspect_until: int  # positions up to here are handled one at a time
    restarted: bool  # the previous owner is gone without releasing the task
    died_here: bool  # ... and it died handling this very batch

    @property
    def poisoned(self) -> bool:
        return self.restarts >= POISON_RESTARTS


def plan(task: Task, owner: str, previous_gone: bool) -> Attempt:
    """The attempt `owner` makes on `task` now. `previous_gone`: the task's last processor, another
    process, no longer exists (a restart); it died in this batch when it still held the lease."""
    position = task.handled_upto + 1
    restarted = previous_gone and task.owner not in (None, owner)
    died_here = restarted and task.lease_until is not None and task.attempt_position == position
    if died_here:
        restarts = task.restarts + 1
        suspect_until = max(task.suspect_until, task.attempt_end)
    else:
        suspect_until = task.suspect_until
        restarts = task.restarts if task.attempt_position == position else 0
    end = position if position <= suspect_until else position + task.batch_size - 1
    return Attempt(position, end, restarts, suspect_until, restarted, died_here)
