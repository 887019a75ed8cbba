"""Batches of running tasks: claim, plan, do the work, commit, through the store's batch verbs.

One `run(task_id, profile)` per running task per heartbeat. A batch with effects outside the state
database (an import's shop writes) is planned and its plan saved before any effect (tasks.recovery
says when a saved plan covers a batch); the work then appends the export file's bytes and hands the
store a BatchResult to commit. Suspect items (their batch was interrupted by a death) go to
redo.py, which runs this module's one-batch function in a sacrificial child, chunk by chunk.

Failures are isolated per task: an outage (a shop that went away, a full disk) keeps the task's
place and is retried with a back-off; a fatal error ends the task; anything unexpected is retried a
few times before it does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
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
    first_line,
)
from heartbeat.engine.redo import ChildFailed, Redo, Redoer
from profiles import worker_for
from profiles.base import Processed, Worker, delivery_target
from reports import action_log, export_file
from tasks import recovery
from tasks.batch import Batch, BatchResult, Planning, SyncUpdate
from tasks.models import Item, Outcome, Task
from tasks.recovery import Attempt
from tasks.states import ItemStatus
from tasks.store import TaskStore

log = structlog.get_logger("heartbeat")
MAX_BACKOFF = 300.0  # seconds between retries of a task whose shop is unreachable, at most
MAX_UNEXPECTED = 5  # unexpected failures of a task's batch in a row before it becomes error


@dataclass(frozen=True)
class Plan:
    """A batch's plan: what to do, when it was made, and whether it covers items after the batch."""

    processed: Processed
    made_at: str
    goes_on: bool = False


class Runner:
    def __init__(self, config: Config, store: TaskStore, clock: Clock, owner: str, stop: threading.Event,
                 lease: timedelta):
        self.config, self.store, self.clock = config, store, clock
        self.owner, self.stop, self.lease = owner, stop, lease
        self.made_worker = False  # since the caller last looked: the process's long-lived objects grew
        self._workers: dict[str, Worker] = {}
        self._retry: dict[int, tuple[int, datetime, str]] = {}  # task id -> (failures, next try, what)
        self._unexpected_failures: dict[int, int] = {}  # task id -> unexpected failures in a row
        self.redo = Redoer(store, clock, owner, stop, lease, self.batch,
                           lambda profile: worker_for(profile, config, store))

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
        """This heartbeat's batch of a running task (suspect items: a redo of them in chunks).
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
            done = self._turn(task_id, profile, now)
        except Outage as exc:  # the shop went away, a disk is full: keep our place, try again later
            self.store.unclaim(task_id, self.owner)
            self._back_off(task_id, profile_name, failures, exc, now)
            return None
        except (FatalTaskError, OSError) as exc:  # e.g. a shop without a column we need, a full disk
            self.store.fail_running(task_id, self.clock.now(), first_line(exc))
            log.error("task.error", task_id=task_id, profile=profile_name, reason=first_line(exc))
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
            reason = f"failed {count} times in a row: {type(exc).__name__}: {first_line(exc)}"
            if isinstance(exc, ChildFailed):
                reason = f"failed {count} times in a row: {exc}"
            self.store.fail_running(task_id, self.clock.now(), reason)

    def _turn(self, task_id: int, profile: Profile, now: datetime) -> Task | None:
        """This heartbeat's batch of the task: a plain one, or while its items are suspect, a redo
        of them in a sacrificial child (redo.py)."""
        attempt = self.store.claim(task_id, self.owner, now, self.lease)
        if attempt is None:
            return None
        if attempt.suspect:
            return self.redo.run(task_id, profile, attempt, now)
        return self.batch(task_id, self.worker(profile), attempt, now)

    # -- one batch -------------------------------------------------------------------------------------

    def batch(self, task_id: int, worker: Worker, attempt: Attempt, now: datetime,
              redo: Redo | None = None) -> Task | None:
        """Plan (if the work has effects), then work and commit (as a chunk of `redo`, if given).
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
        repeat exactly what was planned, though suspect mode may take its items in smaller chunks),
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
        """The batch's outcomes, its export-file bytes (appended and made durable before the commit),
        its action-log lines and its change tracking."""
        result, keep_plan, previous = self._outcomes(batch, worker, plan)
        writes_file = worker.has_export_file and batch.task.export_path  # a dry run writes none
        offset = self._export(batch, worker, result) if writes_file else None
        seconds = self.clock.monotonic() - started
        lines, new_batch = self._lines(batch, worker, result.outcomes, seconds, redo)
        sync = (SyncUpdate(batch.task.profile, result.sync, frozenset(previous), result.fields)
                if worker.tracks_changes else None)
        return BatchResult(outcomes=result.outcomes, seconds=seconds, log_lines=lines, export_bytes=offset,
                           sync=sync, keep_plan=keep_plan, ended_at=self.clock.now(), new_batch=new_batch,
                           findings=result.findings, forget=_forget(batch.task, worker, result),
                           deliver_to=_delivered_to(batch.task, worker, self.config))

    @staticmethod
    def _outcomes(batch: Batch, worker: Worker, plan: Plan | None) -> tuple[Processed, bool, dict]:
        """(what the batch did, whether the saved plan still stands after it, what the profile last
        sent of its products): a poisoned item given up, a saved plan applied again (idempotent), or
        the items processed now."""
        if batch.poisoned:
            [item] = batch.items
            given_up = Outcome(item.position, ItemStatus.ERROR, "none", recovery.UNEXPECTED_RESTART)
            return Processed([given_up]), bool(plan and plan.goes_on), {}  # the rest of a plan stands
        if plan is not None:
            worker.apply(plan.processed.effects, plan.made_at)
            return plan.processed, plan.goes_on, {}
        previous = batch.sync_state([i.product_id for i in batch.items]) if worker.tracks_changes else {}
        return worker.process(batch.task, batch.items, previous), False, previous

    def _lines(self, batch: Batch, worker: Worker, outcomes: list[Outcome], seconds: float,
               redo: Redo | None) -> tuple[list, bool]:
        """(the batch's action-log lines, whether it counts as a new batch): its line, the changes it
        made and its errors; a chunk of a redo has the redo's one line if the redo ends with it."""
        pairs = list(zip(outcomes, batch.items, strict=True))
        errors = [("error", _item_error(o, i)) for o, i in pairs if o.status == ItemStatus.ERROR]
        changes = action_log.changes([(o, i) for o, i in pairs if worker.logs_change(o)])
        if redo is None:
            return [action_log.batch(batch.task.batches + 1, outcomes, seconds), *changes, *errors], True
        new_batch = redo.number == 0
        summary = redo.add(batch, outcomes, seconds)
        return changes + errors + ([summary] if summary else []), new_batch

    @staticmethod
    def _export(batch: Batch, worker: Worker, result: Processed) -> int:
        task = batch.task
        head = export_file.header(task, worker.source_name, worker.entity)
        data = b"" if task.export_bytes else head
        lines = result.export_lines + worker.effect_lines(result.effects)
        data += export_file.body(lines, first=task.export_bytes <= len(head))  # no record yet
        if batch.last:
            data += export_file.FOOTER
        return export_file.append(task.export_path, task.export_bytes, data)


def _delivered_to(task: Task, worker: Worker, config) -> str | None:
    """Where the task's export file is delivered: nowhere for a dry run, which has none."""
    return None if task.options.get("dry_run") else delivery_target(worker.profile, config)


def _item_error(outcome: Outcome, item: Item) -> str:
    return action_log.item_error(outcome.position, outcome.product_id or item.product_id, item.reference,
                                 outcome.detail or "")


def _forget(task: Task, worker: Worker, result: Processed) -> dict[str, list[int]]:
    """Change-tracking rows the batch drops: those a maintenance fix's effects name, and the products
    an export announced deleted."""
    forget = worker.forgotten(result.effects)
    if result.forget:
        forget = {**forget, task.profile: [*forget.get(task.profile, []), *result.forget]}
    return forget


def _wanting(exc: Exception) -> str:
    """What an outage lacks: "space" (a full disk, here or in a sacrificial child, whose DiskFull
    comes back as its message) or "connection"."""
    return "space" if isinstance(exc, DiskFull) or str(exc).startswith(DiskFull.PREFIX) else "connection"
