"""One heartbeat: schedule due slots, start due tasks, process one batch of each running task.

`Heartbeat.tick(now)` is the whole of it and takes time as an argument; the daemon calls it on an
interval and tests call it with explicit datetimes. A failure in one profile or task is logged and
isolated: the others still get their turn.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from heartbeat import schedule
from heartbeat.clock import Clock
from heartbeat.config import Config, Profile
from heartbeat.errors import ConnectorUnavailable, FatalTaskError, ProfileNotFound, TaskNotFound
from profiles import worker_for
from profiles.base import Processed, Worker
from reports import action_log, export_file
from tasks.attempts import UNEXPECTED_RESTART
from tasks.leases import current_owner
from tasks.models import Outcome, Task
from tasks.states import ItemStatus
from tasks.store import TaskStore

log = structlog.get_logger("heartbeat")
MAX_BACKOFF = 300.0  # seconds between retries of a task whose shop is unreachable, at most
MAX_UNEXPECTED = 5  # unexpected failures of a task's batch in a row before it becomes error


@dataclass
class TickReport:
    created: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    batches: int = 0
    running: dict[int, str] = field(default_factory=dict)  # task id -> profile: a batch each, this tick

    @property
    def busy(self) -> bool:
        """True when this tick did work, so another tick right away may do more."""
        return bool(self.started or self.batches)


class Heartbeat:
    def __init__(self, config: Config, store: TaskStore, clock: Clock | None = None,
                 owner: str | None = None, stop: threading.Event | None = None):
        self.config, self.store = config, store
        self.clock = clock or Clock()
        self.owner = owner or current_owner()
        self.stop = stop or threading.Event()
        self.lease = timedelta(seconds=max(120.0, 10 * config.interval))
        self._workers: dict[str, Worker] = {}
        self._pruned_at: datetime | None = None
        self._retry: dict[int, tuple[int, datetime]] = {}  # task id -> (failures, next try)
        self._unexpected_failures: dict[int, int] = {}  # task id -> unexpected failures in a row
        self._ticking = threading.Lock()  # close() waits for a tick in progress
        self._settled = False
        self._settle()

    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or self.clock.now()
        report = TickReport()
        self._isolated(self._prune_history, now, what=("keep_history", self.config.keep_history))
        for profile in self.config.profiles:
            self._isolated(self._schedule, profile, now, report, what=("profile", profile.name))
        due, report.running = self.store.active(now)
        for task_id in due:
            if self.stop.is_set():
                break
            self._isolated(self._start, task_id, now, report, what=("task_id", task_id))
        for task_id, profile in sorted(report.running.items()):
            if self.stop.is_set():
                break
            self._isolated(self._batch, task_id, profile, report, what=("task_id", task_id))
        self._settle()
        return report

    def _settle(self) -> None:
        """At start and after a tick that made a worker (the objects that live as long as the
        process are then loaded: modules, SQLAlchemy's metadata, compiled statements, pooled
        connections), take everything alive out of the cyclic garbage collector's reach. Its full
        collections otherwise walk all of it every few batches: about a tenth of an import's time
        (docs/performance.md). Objects freed by reference counting are freed as before."""
        if not self._settled:
            gc.freeze()
            self._settled = True

    def safe_tick(self) -> TickReport | None:
        """tick(), for the daemon: a failure outside any one task (the state database is down) is
        logged in one line and the next tick tries again; the daemon keeps running."""
        try:
            with self._ticking:
                if self.stop.is_set():
                    return None
                return self.tick(self.clock.now())
        except Exception as exc:
            log.error("heartbeat.failed", error=type(exc).__name__, reason=_reason(exc))
            return None

    def run_until_idle(self, max_ticks: int | None = None) -> int:
        """Tick back to back until a tick finds nothing to do (or `stop` is set). Returns ticks."""
        ticks = 0
        while not self.stop.is_set() and (max_ticks is None or ticks < max_ticks):
            ticks += 1
            if not self.tick(self.clock.now()).busy:
                break
        return ticks

    def close(self) -> None:
        """Give up our leases and close workers' connections (a clean stop), once the tick in
        progress, if any, has finished."""
        with self._ticking:
            self._close()

    def _close(self) -> None:
        self.store.release(self.owner)
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()

    # -- the three steps -------------------------------------------------------------------------

    def _isolated(self, step, *args, what: tuple[str, object]) -> None:
        try:
            step(*args)
        except TaskNotFound:
            log.info("task.vanished", **{what[0]: what[1]})  # deleted by a user meanwhile: fine
        except Exception as exc:
            if hasattr(exc, "orig"):  # a database driver's error (outage): one line, no traceback
                log.error("heartbeat.step_failed", step=step.__name__.strip("_"), reason=_reason(exc),
                          **{what[0]: what[1]})
                return  # one failing profile or task must not stop the others
            log.exception("heartbeat.step_failed", step=step.__name__.strip("_"), **{what[0]: what[1]})

    def _prune_history(self, now: datetime) -> None:
        """Apply `keep_history` once a day (first at the first tick of the process)."""
        if not self.config.keep_history:
            return
        if self._pruned_at is not None and now - self._pruned_at < timedelta(days=1):
            return
        deleted = self.store.prune(now - timedelta(days=self.config.keep_history))
        self._pruned_at = now
        for problem in export_file.remove_all(deleted):
            log.warning("history.file_left", problem=problem)
        if deleted:
            log.info("history.pruned", tasks=len(deleted), keep_days=self.config.keep_history)

    def _schedule(self, profile: Profile, now: datetime, report: TickReport) -> None:
        if not profile.schedule:
            return
        cron, key = schedule.of_profile(profile), schedule.key(profile)
        recorded, next_slot = self.store.schedule_state(profile.name)
        if not profile.enabled:  # forget the slot: enabling it again starts from its next slot
            if next_slot is not None:
                self.store.set_schedule(profile.name, key, None, now)
            return
        if recorded != key or next_slot is None:
            first = schedule.first_slot(cron, now)
            self.store.set_schedule(profile.name, key, first, now)
            log.info("profile.scheduled", profile=profile.name, next_run=first.isoformat())
            return
        due = schedule.due(cron, next_slot.replace(tzinfo=UTC), now)
        if due is None:
            return
        note = None
        if due.missed:
            note = (f"{due.missed} earlier slots since {due.first:%Y-%m-%d %H:%M} UTC were missed "
                    f"while no heartbeat ran; coalesced into this task")
        task = self.store.create_scheduled(profile, key, next_slot, due.slot,
                                           due.next_slot, now, note)
        if task is not None:
            report.created.append(task.id)
            log.info("task.created", task_id=task.id, profile=profile.name, trigger="schedule",
                     coalesced=due.missed)

    def _start(self, task_id: int, now: datetime, report: TickReport) -> None:
        task = self.store.get(task_id)
        try:
            profile = self.config.profile(task.profile)
        except ProfileNotFound:
            self.store.start(task_id, now, self.owner, None, _missing_profile(task.profile),
                             lambda _t: None, self.lease)
            return
        worker = self._worker(profile)
        previous = self.store.last_completed(profile.name)
        started = self.store.start(task_id, now, self.owner, profile.misfire_grace,
                                   lambda: worker.build_queue(previous), worker.export_path, self.lease,
                                   worker.duplicate_note())
        if started is None:
            return
        bound = log.bind(task_id=task_id, profile=task.profile)
        if started.status.value == "running":
            report.started.append(task_id)
            report.running[task_id] = started.profile
            bound.info("task.started", total=started.progress.total, owner=self.owner)
        else:
            bound.warning(f"task.{started.status.value}", message=started.message)

    def _batch(self, task_id: int, profile_name: str, report: TickReport) -> None:
        now = self.clock.now()
        failures, retry_at = self._retry.get(task_id, (0, now))
        if retry_at > now:
            return
        try:
            profile = self.config.profile(profile_name)
        except ProfileNotFound:
            self.store.fail_running(task_id, now, f"profile {profile_name!r} is no longer configured")
            return
        try:
            done = self._batches(task_id, self._worker(profile), now)
            if done is None:
                return
        except ConnectorUnavailable as exc:  # the shop went away: keep our place, try again later
            self.store.unclaim(task_id, self.owner)
            self._back_off(task_id, profile_name, failures, exc, now)
            return
        except (FatalTaskError, OSError) as exc:  # e.g. a shop without a column we need, a full disk
            self.store.fail_running(task_id, self.clock.now(), _reason(exc))
            log.error("task.error", task_id=task_id, profile=profile_name, reason=str(exc))
            return
        except Exception as exc:
            if hasattr(exc, "orig"):
                raise  # the state database itself: _isolated logs it, the next tick tries again
            self.store.unclaim(task_id, self.owner)
            self._unexpected(task_id, profile_name, exc)
            return
        self._unexpected_failures.pop(task_id, None)
        if failures:
            del self._retry[task_id]
            self.store.note(task_id, self.clock.now(), f"connection back after {failures} failed attempts")
        report.batches += 1
        log.info("batch.committed", task_id=task_id, profile=profile_name, batch=done.batches,
                 pending=done.progress.pending, owner=self.owner)
        if done.status.finished:
            log.info(f"task.{done.status.value}", task_id=task_id, profile=profile_name,
                     **done.progress.as_dict())

    def _batches(self, task_id: int, worker: Worker, now: datetime) -> Task | None:
        """One batch; while the task is in suspect mode (items retried one at a time after a crash,
        see tasks.attempts) the single-item batches follow each other within this tick."""
        done = None
        while not self.stop.is_set():
            attempt = self.store.claim(task_id, self.owner, now, self.lease)
            if attempt is None:
                return done
            plan, items, started = None, None, self.clock.monotonic()
            if worker.has_side_effects:  # a poisoned item is never planned again, only skipped
                with self.store.planning(task_id, self.owner, attempt) as planning:
                    if planning is None:
                        return done
                    plan = self._plan(planning, worker, now, plan_new=not attempt.poisoned)
                    items = planning.read_items
            with self.store.locked_batch(task_id, self.owner, attempt, items) as batch:
                if batch is None:
                    return done
                done = self._run_batch(batch, worker, now, plan, started)
            if done.status.finished or done.handled_upto >= done.suspect_until:
                return done
            now = self.clock.now()
        return done

    def _plan(self, planning, worker: Worker, now: datetime,
              plan_new: bool = True) -> tuple[Processed, str, bool] | None:
        """(plan, when it was made, whether it goes on past this batch): the plan saved by an earlier
        attempt when it covers this batch (a redo after a crash must repeat exactly what was planned,
        though suspect mode may take its items one at a time), else a new one, saved before any
        effect is applied."""
        attempt, saved = planning.attempt, planning.saved_plan()
        if saved is not None:
            plan, at = Processed.from_plan_json(saved)
            last = plan.outcomes[-1].position if plan.outcomes else 0
            if last >= attempt.position:
                return plan.only(attempt.position, attempt.end), at, last > attempt.end
        if not plan_new:
            return None
        processed = worker.process(planning.task, planning.items(), {})
        at = now.isoformat()
        planning.save(processed.plan_json(at))
        return processed, at, False

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
            self.store.fail_running(task_id, self.clock.now(), reason)

    def _back_off(self, task_id: int, profile: str, failures: int, exc: Exception, now: datetime) -> None:
        """Retry after interval x 2^failures, at most every MAX_BACKOFF; the first failure of an
        outage goes to the action log, every one to the daemon log."""
        failures += 1
        delay = min(self.config.interval * 2 ** (failures - 1), MAX_BACKOFF)
        self._retry[task_id] = (failures, now + timedelta(seconds=delay))
        log.warning("batch.retry", task_id=task_id, profile=profile, reason=str(exc),
                    failures=failures, retry_in=delay)
        if failures == 1:
            self.store.note(task_id, now, f"{exc}; the batch will be retried", level="warning")

    def _run_batch(self, batch, worker: Worker, now: datetime, plan, started: float) -> Task:
        task, keep_plan = batch.task, False
        previous = {}
        if batch.poisoned:
            [item] = batch.items
            result = Processed([Outcome(item.position, ItemStatus.ERROR, "none", UNEXPECTED_RESTART)])
            keep_plan = bool(plan and plan[2])  # the rest of a saved plan still stands
        elif plan is not None:
            result, at, keep_plan = plan
            worker.apply(result.effects, at)  # idempotent: a redo writes the same values again
        else:
            if worker.tracks_changes:
                previous = batch.sync_state(task.profile, [i.product_id for i in batch.items])
            result = worker.process(task, batch.items, previous)
        offset = None
        if worker.has_export_file:
            data = b"" if task.export_bytes else export_file.header(task, worker.source_name, worker.entity)
            data += export_file.body(result.records, first=task.progress.processed == 0)
            if batch.last:
                data += export_file.FOOTER
            offset = export_file.append(task.export_path, task.export_bytes, data)
        seconds = self.clock.monotonic() - started
        lines = [action_log.batch(task.batches + 1, result.outcomes, seconds)]
        lines += [("error", action_log.item_error(o.position, o.product_id or i.product_id, i.reference,
                                                  o.detail or ""))
                  for o, i in zip(result.outcomes, batch.items, strict=True) if o.status == "error"]
        sync = (task.profile, result.sync, set(previous)) if worker.tracks_changes else None
        return batch.commit(result.outcomes, now, seconds, lines, offset, sync, keep_plan)

    def _worker(self, profile: Profile) -> Worker:
        if profile.name not in self._workers:
            self._workers[profile.name] = worker_for(profile, self.config)
            self._settled = False
        return self._workers[profile.name]


def _missing_profile(name: str):
    def build():
        raise FatalTaskError(f"profile {name!r} is no longer configured")
    return build


def _reason(exc: Exception) -> str:
    """The first line of an error, of the driver's own error where there is one."""
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot write {exc.filename}: {exc.strerror}"
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
