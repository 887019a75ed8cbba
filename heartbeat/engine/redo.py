"""Crash recovery's process side: suspect items redone in a sacrificial child, by halving.

The rules (which chunk comes next, when a death counts against an item, when it is given up) are
tasks.recovery's; this module runs them. A heartbeat's redo of a task is one sacrificial child
(sacrificial.py) that claims and commits suspect chunks one after another through the runner's
one-batch function, until the suspect range is done, a batch's worth of items is committed, the
daemon is asked to stop, or the task is no longer ours. A death of the child is recorded against the
chunk its last claim names (TaskStore.record_crash): the next heartbeat's child tries its first
half. What the child's work raised comes back to the daemon as if it had been raised there, so the
runner's failure policy (runner.py) applies to a redo as to any batch.

A batch whose daemon was killed for nothing of its own costs one child run; a batch with one item
that kills its process costs about log2(batch size) runs, plus that item's own deaths.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from core.clock import Clock
from core.config import Profile
from core.errors import FatalTaskError, Outage, StateDatabaseError, TaskNotFound, first_line
from heartbeat.engine import sacrificial
from profiles.base import Worker
from reports import action_log
from tasks import recovery
from tasks.batch import Batch
from tasks.models import Outcome, Task
from tasks.recovery import Attempt
from tasks.states import ItemStatus
from tasks.store import TaskStore

log = structlog.get_logger("heartbeat")


class ChildFailed(Exception):
    """A sacrificial child's work raised something unexpected (the child logged its traceback)."""


@dataclass
class Redo:
    """A heartbeat's redo of suspect items, in its sacrificial child: chunks one after another until
    the suspect range is done, `limit` items (a batch's size) are, or `stopping()` (the daemon was
    asked to stop). Its chunks count as one batch, and the commit of its last chunk carries its one
    action-log line."""

    first: int
    limit: int
    stopping: Callable[[], bool]
    number: int = 0  # its batch number, once its first chunk is done
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    ended: bool = False

    def add(self, batch: Batch, outcomes: list[Outcome], seconds: float) -> str | None:
        """Count the chunk of `batch`; the redo's line if it ends here."""
        task, attempt = batch.task, batch.attempt
        self.number = self.number or task.batches + 1
        self.counts.update(ItemStatus(o.status).value for o in outcomes)
        self.seconds += seconds
        last = attempt.position + len(outcomes) - 1
        left = 0 if batch.last else recovery.suspect_left(attempt.suspect_until, task.progress.total, last)
        self.ended = not left or sum(self.counts.values()) >= self.limit or self.stopping()
        if not self.ended:
            return None
        return action_log.redone(self.number, self.first, last, self.counts, self.seconds, left)


# (task id, worker, claimed attempt, now, the redo it is a chunk of) -> the task after its commit,
# None when the task is no longer ours: the runner's one batch (runner.Runner.batch).
OneBatch = Callable[[int, Worker, Attempt, datetime, Redo], Task | None]


class Redoer:
    """Runs a task's suspect chunks in a sacrificial child, one child per heartbeat."""

    def __init__(self, store: TaskStore, clock: Clock, owner: str, stop: threading.Event,
                 lease: timedelta, one_batch: OneBatch, new_worker: Callable[[Profile], Worker]):
        self.store, self.clock, self.owner, self.stop, self.lease = store, clock, owner, stop, lease
        self.one_batch, self.new_worker = one_batch, new_worker

    def run(self, task_id: int, profile: Profile, attempt: Attempt, now: datetime) -> Task | None:
        """The suspect chunks from the claimed `attempt` on, in one sacrificial child. A death of the
        child is recorded against the chunk it held; what its work raised is raised here. Returns the
        task after the child's last commit or the recorded death, None when neither happened."""
        before = self.store.get(task_id)

        def work(stopping) -> dict:
            self.store.forget_inherited_connections()  # the child opens connections of its own...
            worker = self.new_worker(profile)
            redo = Redo(attempt.position, before.batch_size, stopping)
            try:
                self._chunks(task_id, worker, attempt, now, redo)
            except Outage as exc:
                return {"raised": "unavailable", "reason": str(exc)}
            except (FatalTaskError, OSError) as exc:
                return {"raised": "fatal", "reason": first_line(exc)}
            except StateDatabaseError as exc:
                return {"raised": "state", "reason": exc.reason}
            except Exception as exc:
                log.exception("batch.failed", task_id=task_id, profile=profile.name, redo=attempt.position)
                return {"raised": "unexpected", "reason": f"{type(exc).__name__}: {first_line(exc)}"}
            finally:  # ... and closes them (never the daemon's)
                worker.close()
                self.store.close()
            return {"summarised": redo.ended}

        # each chunk gets the lease's time, however late in the redo it starts; a redo takes about
        # log2(batch size) chunks at most
        timeout = self.lease.total_seconds() * (2 + before.batch_size.bit_length())
        try:
            end = sacrificial.run(work, timeout, self.stop.is_set)
        except OSError as exc:  # no process to spare (fork refused): retried as an unexpected failure
            raise ChildFailed(f"cannot start a process for items from {attempt.position}: {exc}") from exc
        try:
            after = self.store.get(task_id)
        except TaskNotFound:  # deleted meanwhile: nothing to say, nobody to blame
            return None
        summarised = bool(end.message and end.message.get("summarised"))
        done = after if self._summarise(before, after, summarised) else None
        if end.died:
            return self._died(after, profile.name, end.how) or done
        raised = {"unavailable": Outage, "fatal": FatalTaskError, "state": StateDatabaseError,
                  "unexpected": ChildFailed}.get(end.message.get("raised"))
        if raised is not None:
            raise raised(end.message["reason"])
        return done

    def _chunks(self, task_id: int, worker: Worker, attempt: Attempt, now: datetime, redo: Redo) -> None:
        """In the sacrificial child: the suspect chunks, each claimed and committed on its own (so a
        death is pinned on the chunk claimed), until `redo` ends or the task is no longer ours."""
        while self.one_batch(task_id, worker, attempt, now, redo) is not None and not redo.ended:
            now = self.clock.now()
            attempt = self.store.claim(task_id, self.owner, now, self.lease)
            if attempt is None or not attempt.suspect:
                return

    def _summarise(self, before: Task, after: Task, summarised: bool) -> bool:
        """Whether a redo committed items (`before` and `after` it). The last commit of a redo that
        ends as planned carries its action-log line (`summarised`); for one cut short (its child
        died or failed, or the task was taken from it) the line is written here, from the counters."""
        p, q = before.progress, after.progress
        counts = Counter(processed=q.processed - p.processed, skipped=q.skipped - p.skipped,
                         error=q.error - p.error)
        items = sum(counts.values())
        if items and not summarised:
            last = before.handled_upto + items
            left = 0 if after.status.finished else recovery.suspect_left(after.suspect_until, q.total, last)
            line = action_log.redone(after.batches, before.handled_upto + 1, last, counts,
                                     after.work_seconds - before.work_seconds, left)
            self.store.note(after.id, self.clock.now(), line)
        return items > 0

    def _died(self, task: Task, profile: str, how: str) -> Task | None:
        """A redo's child died: count it against the chunk it held, if it held one."""
        held = recovery.interrupted(task, self.owner)
        if held is None:  # between two chunks: nothing to blame
            log.warning("redo.died", task_id=task.id, profile=profile, how=how)
            return None
        log.warning("item.crashed", task_id=task.id, profile=profile, position=held.position,
                    end=held.end, how=how)
        return self.store.record_crash(task.id, self.owner, held, self.clock.now(), how)
