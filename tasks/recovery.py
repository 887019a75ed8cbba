"""Crash recovery, all of its rules: which batch an owner takes, when its items are suspect, when one
is poisoned, and when a saved plan covers a batch.

Before any work on a batch the owner records it (position, end, lease) in a committed transaction
(TaskStore.claim). If the process dies, the next owner finds that record with a dead owner on it:
the batch was interrupted, and nobody knows which item, if any, was to blame. Its items become
*suspect*: they are redone in a sacrificial child process (heartbeat.engine.redo) whose end the
daemon watches, in chunks, each claimed and committed on its own, found by halving (`chunk_end`):

- with no culprit known, a chunk is the rest of the suspect range, at most a batch: a batch whose
  daemon was killed for nothing of its own (an operator, an OOM kill of the daemon, an upgrade)
  costs one child run;
- when a child dies, the claim it recorded names the chunk it held (`interrupted`), and one of those
  items is the culprit (`crashed`): the next chunk is the first half of that range; a half that
  commits moves the range on to the other half. One culprit in a batch of n costs about log2(n)
  child runs;
- a death of a chunk of one item counts against that item (TaskStore.record_crash): a crash or a
  signal the item brought on. The daemon itself being killed never counts, however often it lands on
  one item. An item whose child died POISON_RESTARTS times alone is given up as an error
  (UNEXPECTED_RESTART) and the task goes on. A clean stop releases the task, so it is never taken
  for a death.

A heartbeat's redo commits at most a batch's worth of items (heartbeat.engine.redo), so recovery keeps
the rule of one batch per heartbeat.

A batch with effects outside the state database (an import's shop writes) is planned first and its
plan saved before any effect; a redo after a crash applies that same plan (`covers`), even when
suspect mode takes its items in smaller chunks, so it reports and writes exactly what a clean run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tasks.models import Task

POISON_RESTARTS = 3
UNEXPECTED_RESTART = (f"unexpected restart: its processor died {POISON_RESTARTS} times while handling "
                      "this item alone")


@dataclass(frozen=True)
class Attempt:
    position: int  # first queue position of the batch
    end: int  # last position the batch may take
    restarts: int  # times a sacrificial process died while handling `position` alone
    suspect_until: int  # positions up to here are redone in chunks, in a sacrificial process
    restarted: bool  # the previous owner is gone without releasing the task
    died_here: bool  # ... and it died handling this very batch
    culprit_until: int = 0  # a sacrificial process died holding position..culprit_until (0: none known)

    @property
    def suspect(self) -> bool:
        """True when this batch is a chunk of suspect items, to handle in a sacrificial process."""
        return self.position <= self.suspect_until

    @property
    def alone(self) -> bool:
        """True when this batch is a single item."""
        return self.end == self.position

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
    culprit_until = task.culprit_until if task.culprit_until >= position else 0
    if position <= suspect_until:
        end = chunk_end(position, suspect_until, culprit_until, task.batch_size)
    else:
        end = position + task.batch_size - 1
    return Attempt(position, end, restarts, suspect_until, restarted, died_here, culprit_until)


def chunk_end(position: int, suspect_until: int, culprit_until: int, batch_size: int) -> int:
    """The last item of the next suspect chunk from `position`: the first half of the range known to
    hold a culprit (the item alone once the range is one item), else the rest of the suspect range,
    at most a batch."""
    if culprit_until >= position:
        span = culprit_until - position + 1
        return position + (span + 1) // 2 - 1
    return min(suspect_until, position + batch_size - 1)


def crashed(attempt: Attempt) -> Attempt:
    """The attempt once the sacrificial process handling it died: a chunk of several items becomes
    the range known to hold the culprit; an item alone counts one more death of its own."""
    if not attempt.suspect:
        raise ValueError("only suspect items, handled in a sacrificial process, can be blamed for a death")
    if attempt.alone:
        return replace(attempt, restarts=attempt.restarts + 1, culprit_until=attempt.position)
    return replace(attempt, culprit_until=attempt.end)


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


def suspect_left(suspect_until: int, total: int, handled_upto: int) -> int:
    """How many suspect items are still to redo once the items up to `handled_upto` are handled."""
    return max(0, min(suspect_until, total) - handled_upto)


def interrupted(task: Task, owner: str) -> Attempt | None:
    """The suspect chunk that `owner`'s sacrificial process was handling when it died, as the
    process's claim recorded it (`task` as it stands after the death). None when the process held
    no chunk (it died between two), or the task is no longer `owner`'s."""
    position = task.handled_upto + 1
    if (task.owner != owner or task.lease_until is None or task.attempt_position != position
            or position > task.suspect_until):
        return None
    return Attempt(position, task.attempt_end, task.restarts, task.suspect_until, False, False,
                   task.culprit_until)
