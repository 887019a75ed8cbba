"""Batches of running tasks: claim, plan, do the work, commit, through the store's batch verbs.

One `run(task_id, profile)` per running task per heartbeat. A batch with effects outside the state
database (an import's shop writes) is planned and its plan saved before any effect (tasks.recovery
says when a saved plan covers a batch); the work then appends the export file's bytes and hands the
store a BatchResult to commit. Suspect items (their batch was interrupted by a death) are redone in
a sacrificial child process (heartbeat.engine.sacrificial), one claim and one commit per item, so that the
child's death is pinned on the item it held; a heartbeat's redo is about one batch's worth of work,
ends between two items when the daemon is asked to stop, and writes one action-log line.

Failures are isolated per task: an outage (a shop that went away, a full disk) keeps the task's
place and is retried with a back-off; a fatal error ends the task; anything unexpected is retried a
few times before it does.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from core.clock import Clock
from core.config import Config, Profile
from core.errors import (
    DiskFull,
    FatalTaskError,
    Outage,
    ProfileNotFound,
    StateDatabaseError,
    TaskNotFound,
)
from heartbeat.engine import sacrificial
from profiles import worker_for
from profiles.base import Processed, Worker, delivery_target
from reports import action_log, export_file
from tasks import recovery
from tasks.batch import Batch, BatchResult, Planning, SyncUpdate
from tasks.models import Outcome, Task
from tasks.recovery import Attempt
from tasks.states import ItemStatus
from tasks.store import TaskStore

log = structlog.get_logger("heartbeat")
MAX_BACKOFF = 300.0  # seconds between retries of a task whose shop is unreachable, at most
MAX_UNEXPECTED = 5  # unexpected failures of a task's batch in a row before it becomes error
_KEPT: list = []  # in a sacrificial child: the daemon's connection pools, never used nor closed


class ChildFailed(Exception):
    """A sacrificial child's work raised something unexpected (the child logged its traceback)."""


@dataclass(frozen=True)
class Plan:
    """A batch's plan: what to do, when it was made, and whether it covers items after the batch."""

    processed: Processed
    made_at: str
    goes_on: bool = False


@dataclass
class Redo:
    """A heartbeat's redo of suspect items, in its sacrificial child: one item per commit until the
    suspect range is done, `limit` items (a batch's size) are, the clock's monotonic time reaches
    `deadline`, or `stopping()` (the daemon was asked to stop). Its items count as one batch, and
    the commit of its last item carries its one action-log line."""

    first: int
    limit: int
    deadline: float
    stopping: Callable[[], bool]
    number: int = 0  # its batch number, once its first item is done
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    ended: bool = False

    def add(self, batch: Batch, outcomes: list[Outcome], seconds: float, at: float) -> str | None:
        """Count the item of `batch` (done at monotonic time `at`); the redo's line if it ends here."""
        task, attempt = batch.task, batch.attempt
        self.number = self.number or task.batches + 1
        self.counts.update(ItemStatus(o.status).value for o in outcomes)
        self.seconds += seconds
        left = 0 if batch.last else recovery.suspect_left(attempt.suspect_until, task.progress.total,
                                                           attempt.position)
        self.ended = (not left or sum(self.counts.values()) >= self.limit or at >= self.deadline
                      or self.stopping())
        if not self.ended:
            return None
        return action_log.redone(self.number, self.first, attempt.position, self.counts, self.seconds, left)


class Runner:
    def __init__(self, config: Config, store: TaskStore, clock: Clock, owner: str, stop: threading.Event,
                 lease: timedelta):
        self.config, self.store, self.clock = config, store, clock
        self.owner, self.stop, self.lease = owner, stop, lease
        self.made_worker = False  # since the caller last looked: the process's long-lived objects grew
        self._workers: dict[str, Worker] = {}
        self._retry: dict[int, tuple[int, datetime, str]] = {}  # task id -> (failures, next try, what)
        self._unexpected_failures: dict[int, int] = {}  # task id -> unexpected failures in a row

    def worker(self, profile: Profile) -> Worker:
        """The profile's worker, made once per process (it keeps its connections)."""
        if profile.name not in self._workers:
            self._workers[profile.name] = worker_for(profile, self.config, self.store)
            self.made_worker = True
        return self._workers[profile.name]

    def close(self) -> None:
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()

    # -- one task's turn, with its failure policy ----------------------------------------------------

    def run(self, task_id: int, profile_name: str) -> Task | None:
        """This heartbeat's batch of a running task (suspect items: a redo of them one at a time).
        Returns the task after its last commit, None when nothing was committed."""
        now = self.clock.now()
        failures, retry_at, what = self._retry.get(task_id, (0, now, ""))
        if retry_at > now:
            return None
        try:
            profile = self.config.profile(profile_name)
        except ProfileNotFound:
            self.store.fail_running(task_id, now, f"profile {profile_name!r} is no longer configured")
            return None
        try:
            done = self._batches(task_id, profile, now)
        except Outage as exc:  # the shop went away, a disk is full: keep our place, try again later
            self.store.unclaim(task_id, self.owner)
            self._back_off(task_id, profile_name, failures, exc, now)
            return None
        except (FatalTaskError, OSError) as exc:  # e.g. a shop without a column we need, a full disk
            self.store.fail_running(task_id, self.clock.now(), _reason(exc))
            log.error("task.error", task_id=task_id, profile=profile_name, reason=_reason(exc))
            return None
        except StateDatabaseError:
            raise  # the state database itself: the heartbeat logs it, the next tick tries again
        except Exception as exc:
            self.store.unclaim(task_id, self.owner)
            self._unexpected(task_id, profile_name, exc)
            return None
        self._unexpected_failures.pop(task_id, None)
        if done is not None and failures:
            del self._retry[task_id]
            self.store.note(task_id, self.clock.now(), action_log.outage_over(what, failures))
        return done

    def _back_off(self, task_id: int, profile: str, failures: int, exc: Exception, now: datetime) -> None:
        """Retry after interval x 2^failures, at most every MAX_BACKOFF; the first failure of an
        outage goes to the action log, every one to the daemon log."""
        failures += 1
        delay = min(self.config.interval * 2 ** (failures - 1), MAX_BACKOFF)
        self._retry[task_id] = (failures, now + timedelta(seconds=delay), _wanting(exc))
        log.warning("batch.retry", task_id=task_id, profile=profile, reason=str(exc),
                    failures=failures, retry_in=delay)
        if failures == 1:
            self.store.note(task_id, now, f"{exc}; the batch will be retried", level="warning")

    def _unexpected(self, task_id: int, profile: str, exc: Exception) -> None:
        """A batch failed in a way nobody planned for (a bug, a value no code expected): log it,
        retry on the next ticks, and end the task after MAX_UNEXPECTED failures in a row rather
        than retrying forever."""
        count = self._unexpected_failures.get(task_id, 0) + 1
        self._unexpected_failures[task_id] = count
        log.exception("batch.failed", task_id=task_id, profile=profile, failures=count)
        if count >= MAX_UNEXPECTED:
            del self._unexpected_failures[task_id]
            reason = f"failed {count} times in a row: {type(exc).__name__}: {_reason(exc)}"
            if isinstance(exc, ChildFailed):
                reason = f"failed {count} times in a row: {exc}"
            self.store.fail_running(task_id, self.clock.now(), reason)

    # -- batches ---------------------------------------------------------------------------------------

    def _batches(self, task_id: int, profile: Profile, now: datetime) -> Task | None:
        """This heartbeat's batch of the task: a plain one, or while its items are suspect, a redo
        of them one at a time in a sacrificial child (about one batch's worth of work)."""
        attempt = self.store.claim(task_id, self.owner, now, self.lease)
        if attempt is None:
            return None
        if attempt.suspect:
            return self._alone(task_id, profile, attempt, now)
        return self._batch(task_id, self.worker(profile), attempt, now)

    def _alone(self, task_id: int, profile: Profile, attempt: Attempt, now: datetime) -> Task | None:
        """Suspect items from `attempt` on, in one sacrificial child that claims and commits them one
        at a time (`_redo`) for tasks.recovery.redo_seconds, and ends early when we are asked to
        stop. A death of the child is recorded against the item it held; what its work raised is
        raised here, as if the work had run in this process. Returns the task after the child's
        last commit or the recorded death, None when neither happened."""
        before = self.store.get(task_id)
        seconds = recovery.redo_seconds(before)

        def work(stopping) -> dict:
            _KEPT.append(self.store.engine.pool)
            self.store.engine.dispose(close=False)  # the child opens connections of its own...
            worker = worker_for(profile, self.config, self.store)
            redo = Redo(attempt.position, before.batch_size, self.clock.monotonic() + seconds, stopping)
            try:
                self._redo(task_id, worker, attempt, now, redo)
            except Outage as exc:
                return {"raised": "unavailable", "reason": str(exc)}
            except (FatalTaskError, OSError) as exc:
                return {"raised": "fatal", "reason": _reason(exc)}
            except StateDatabaseError as exc:
                return {"raised": "state", "reason": exc.reason}
            except Exception as exc:
                log.exception("batch.failed", task_id=task_id, profile=profile.name, alone=attempt.position)
                return {"raised": "unexpected", "reason": f"{type(exc).__name__}: {_reason(exc)}"}
            finally:  # ... and closes them (never the daemon's)
                worker.close()
                self.store.engine.dispose()
            return {"summarised": redo.ended}

        try:  # each item gets the lease's time, however late in the redo it starts
            end = sacrificial.run(work, seconds + self.lease.total_seconds(), self.stop.is_set)
        except OSError as exc:  # no process to spare (fork refused): retried as an unexpected failure
            raise ChildFailed(f"cannot start a process for item {attempt.position}: {exc}") from exc
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

    def _redo(self, task_id: int, worker: Worker, attempt: Attempt, now: datetime, redo: Redo) -> None:
        """In the sacrificial child: the suspect items one at a time, from the claimed `attempt` on,
        each claimed and committed on its own (so a death is pinned on the item claimed), until
        `redo` ends or the task is no longer ours."""
        while self._batch(task_id, worker, attempt, now, redo) is not None and not redo.ended:
            now = self.clock.now()
            attempt = self.store.claim(task_id, self.owner, now, self.lease)
            if attempt is None:
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
        """A redo's child died: count it against the item it held, if it held one."""
        held = recovery.interrupted(task, self.owner)
        if held is None:  # between two items: no item to blame
            log.warning("redo.died", task_id=task.id, profile=profile, how=how)
            return None
        log.warning("item.crashed", task_id=task.id, profile=profile, position=held.position, how=how)
        return self.store.record_crash(task.id, self.owner, held, self.clock.now(), how)

    def _batch(self, task_id: int, worker: Worker, attempt: Attempt, now: datetime,
               redo: Redo | None = None) -> Task | None:
        """Plan (if the work has effects), then work and commit (as an item of `redo`, if given).
        None if the task is no longer ours."""
        plan, items, started = None, None, self.clock.monotonic()
        if worker.has_side_effects:  # a poisoned item is never planned again, only given up
            plan_new = not attempt.poisoned
            planned = self.store.plan(task_id, self.owner, attempt,
                                      lambda planning: self._plan(planning, worker, now, plan_new))
            if planned is None:
                return None
            plan, items = planned.value, planned.items
        return self.store.commit_batch(task_id, self.owner, attempt, now,
                                       lambda batch: self._work(batch, worker, plan, started, redo), items)

    def _plan(self, planning: Planning, worker: Worker, now: datetime, plan_new: bool) -> Plan | None:
        """The plan saved by an earlier attempt when it covers this batch (a redo after a crash must
        repeat exactly what was planned, though suspect mode may take its items one at a time),
        else a new one, saved before any effect is applied."""
        attempt, saved = planning.attempt, planning.saved_plan()
        if saved is not None:
            processed, made_at = Processed.from_plan_json(saved)
            last = processed.outcomes[-1].position if processed.outcomes else 0
            if recovery.covers(last, attempt):
                return Plan(processed.only(attempt.position, attempt.end), made_at,
                            recovery.plan_goes_on(last, attempt))
        if not plan_new:
            return None
        processed = worker.process(planning.task, planning.items(), {})
        made_at = now.isoformat()
        planning.save(processed.plan_json(made_at))
        return Plan(processed, made_at)

    def _work(self, batch: Batch, worker: Worker, plan: Plan | None, started: float,
              redo: Redo | None) -> BatchResult:
        """The batch's outcomes, its export-file bytes (appended and made durable before the commit)
        and its action-log lines."""
        task, keep_plan, previous = batch.task, False, {}
        if batch.poisoned:
            [item] = batch.items
            given_up = Outcome(item.position, ItemStatus.ERROR, "none", recovery.UNEXPECTED_RESTART)
            result = Processed([given_up])
            keep_plan = bool(plan and plan.goes_on)  # the rest of a saved plan still stands
        elif plan is not None:
            result, keep_plan = plan.processed, plan.goes_on
            worker.apply(result.effects, plan.made_at)  # idempotent: a redo writes the same values again
        else:
            if worker.tracks_changes:
                previous = batch.sync_state([i.product_id for i in batch.items])
            result = worker.process(task, batch.items, previous)
        offset = self._export(batch, worker, result) if worker.has_export_file and task.export_path else None
        seconds = self.clock.monotonic() - started
        errors = [("error", action_log.item_error(o.position, o.product_id or i.product_id, i.reference,
                                                  o.detail or ""))
                  for o, i in zip(result.outcomes, batch.items, strict=True) if o.status == ItemStatus.ERROR]
        changes = action_log.changes([(o, i) for o, i in zip(result.outcomes, batch.items, strict=True)
                                      if worker.logs_change(o)])
        if redo is None:
            lines = [action_log.batch(task.batches + 1, result.outcomes, seconds), *changes, *errors]
            new_batch = True
        else:  # an item of a redo: its errors, and the redo's one line if the redo ends with it
            new_batch = redo.number == 0
            summary = redo.add(batch, result.outcomes, seconds, self.clock.monotonic())
            lines = changes + errors + ([summary] if summary else [])
        sync = (SyncUpdate(task.profile, result.sync, frozenset(previous), result.fields)
                if worker.tracks_changes else None)
        forget = worker.forgotten(result.effects)
        if result.forget:
            forget = {**forget, task.profile: [*forget.get(task.profile, []), *result.forget]}
        return BatchResult(result.outcomes, seconds, lines, offset, sync, keep_plan, self.clock.now(),
                           new_batch, [tuple(f) for f in result.findings], forget,
                           deliver_to=_delivered_to(task, worker, self.config))

    @staticmethod
    def _export(batch: Batch, worker: Worker, result: Processed) -> int:
        task = batch.task
        head = export_file.header(task, worker.source_name, worker.entity)
        data = b"" if task.export_bytes else head
        records = result.records + worker.effect_records(result.effects)
        data += export_file.body(records, first=task.export_bytes <= len(head))  # no record yet
        if batch.last:
            data += export_file.FOOTER
        return export_file.append(task.export_path, task.export_bytes, data)


def _delivered_to(task, worker: Worker, config) -> str | None:
    """Where the task's export file is delivered: nowhere for a dry run, which has none."""
    return None if task.options.get("dry_run") else delivery_target(worker.profile, config)


def _wanting(exc: Exception) -> str:
    """What an outage lacks: "space" (a full disk, here or in a sacrificial child, whose DiskFull
    comes back as its message) or "connection"."""
    return "space" if isinstance(exc, DiskFull) or str(exc).startswith(DiskFull.PREFIX) else "connection"


def _reason(exc: BaseException) -> str:
    """The first line of an error."""
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot write {exc.filename}: {exc.strerror}"
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
