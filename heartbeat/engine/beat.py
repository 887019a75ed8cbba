"""One heartbeat: schedule due slots, process one batch of each running task, start due tasks and
give each its first batch.

`Heartbeat.tick(now)` is the whole of it and takes time as an argument; the daemon calls it on an
interval and tests call it with explicit datetimes. `now` decides what is due; each event (a start,
a missed task, a batch's commit) is stamped with the clock's time when it happens, never earlier
than `now`. A failure in one profile or task is logged and isolated: the others still get their turn.

Order (SPEC "One heartbeat"): running tasks get their batch before due tasks start, so a task whose
profile's running task completes in this heartbeat starts instead of being missed; a task started
in a heartbeat gets its first batch in that heartbeat. Every task gets at most one batch per tick.
Last, each due delivery of a finished export file gets one bounded attempt (heartbeat.engine.uploads).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from core.actor import DAEMON
from core.clock import Clock
from core.config import Config, Profile
from core.errors import (
    FatalTaskError,
    MustWait,
    ProfileNotFound,
    SourceUnchanged,
    StateDatabaseError,
    TaskNotFound,
)
from heartbeat.config import schedule
from heartbeat.engine import history, space
from heartbeat.engine.runner import Runner
from heartbeat.engine.uploads import Uploader
from reports import action_log
from tasks.leases import current_owner
from tasks.states import TaskStatus
from tasks.store import TaskStore
from tasks.stores.uploads import UploadStatus

log = structlog.get_logger("heartbeat")
SPACE_CHECK_EVERY = timedelta(hours=1)  # free space of the data and export directories, in the log


@dataclass
class TickReport:
    created: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    batches: int = 0
    running: dict[int, str] = field(default_factory=dict)  # task id -> profile: a batch each, this tick
    made_worker: bool = False  # objects that live as long as the process were made (heartbeat.daemon)
    delivered: list[int] = field(default_factory=list)  # tasks whose export file was delivered this tick

    @property
    def busy(self) -> bool:
        """True when this tick did work, so another tick right away may do more."""
        return bool(self.started or self.batches)


class Monitor:
    """What the tick loop tells whoever watches it (heartbeat/ops/presence.py: the daemon registry and
    systemd): a tick starts, a task is being worked on, the tick ended. Does nothing by default;
    a monitor never raises."""

    def tick_started(self, at: datetime) -> None:
        pass

    def doing(self, what: str) -> None:
        pass

    def tick_ended(self, report: TickReport) -> None:
        pass


class Heartbeat:
    """Scheduling, starting and dispatching: the batches themselves are the Runner's."""

    def __init__(self, config: Config, store: TaskStore, clock: Clock | None = None,
                 owner: str | None = None, stop: threading.Event | None = None,
                 monitor: Monitor | None = None):
        self.config, self.store = config, store
        self.monitor = monitor or Monitor()
        self.clock = clock or Clock()
        self.owner = owner or current_owner()
        self.stop = stop or threading.Event()
        self.lease = timedelta(seconds=max(120.0, 10 * config.interval))
        self.runner = Runner(config, store, self.clock, self.owner, self.stop, self.lease)
        self.deliverer = Uploader(config, store, self.clock, self.owner)
        self._pinned: dict[int, Runner] = {}  # task id -> the runner of the config it started with
        self._pruned_at: datetime | None = None
        self._space_checked_at: datetime | None = None
        self._ticking = threading.Lock()  # close() waits for a tick in progress

    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or self.clock.now()
        report = TickReport()
        self.monitor.tick_started(now)
        self._isolated(self._prune_history, now, what=("keep_history", self.config.keep_history))
        self._isolated(self._check_space, now, what=("min_free_mb", self.config.min_free_mb))
        paused = self._paused()
        for profile in self.config.profiles:
            self._isolated(self._schedule, profile, now, report, profile.name in paused,
                           what=("profile", profile.name))
        due, running = self.store.active(now)
        self._unpin(running)
        self._batches(running, report)
        started: dict[int, str] = {}
        for task_id in due:  # missed if its profile's task is still running after those batches
            if self.stop.is_set():
                break
            self._isolated(self._start, task_id, now, started, report, what=("task_id", task_id))
        self._batches(started, report)
        self._isolated(self._deliveries, self._at(now), report, what=("step", "deliveries"))
        report.made_worker, self.runner.made_worker = self.runner.made_worker, False
        self.monitor.tick_ended(report)
        return report

    def _at(self, now: datetime) -> datetime:
        """The time of an event in the tick that started at `now`: the clock's, never before `now`."""
        return max(now, self.clock.now())

    def safe_tick(self) -> TickReport | None:
        """tick(), for the daemon: a failure outside any one task (the state database is down) is
        logged in one line and the next tick tries again; the daemon keeps running."""
        try:
            with self._ticking:
                if self.stop.is_set():
                    return None
                return self.tick(self.clock.now())
        except StateDatabaseError as exc:
            log.error("heartbeat.failed", error=type(exc).__name__, reason=str(exc))
        except Exception as exc:
            log.exception("heartbeat.failed", error=type(exc).__name__)
        return None

    def run_until_idle(self, max_ticks: int | None = None, after_tick=None) -> int:
        """Tick back to back until a tick finds nothing to do (or `stop` is set); `after_tick(report)`
        is called after each. Returns the number of ticks."""
        ticks = 0
        while not self.stop.is_set() and (max_ticks is None or ticks < max_ticks):
            ticks += 1
            report = self.tick(self.clock.now())
            if after_tick is not None:
                after_tick(report)
            if not report.busy:
                break
        return ticks

    def close(self) -> None:
        """Give up our leases and close workers' connections (a clean stop), once the tick in
        progress, if any, has finished."""
        with self._ticking:
            self.store.release(self.owner)
            for runner in {id(r): r for r in [self.runner, *self._pinned.values()]}.values():
                runner.close()

    def reload(self, config: Config) -> list[int]:
        """Take a new (validated) configuration between two ticks: from the next tick on, profiles,
        connections, schedules and options are `config`'s. The tasks running now keep the settings
        they started with: each stays with the runner (workers, connections, profile) of the old
        configuration until it ends, even if its profile is gone from `config`. Returns their ids."""
        with self._ticking:
            _, running = self.store.active(self.clock.now())
            old = self.runner
            for task_id in running:
                self._pinned.setdefault(task_id, old)
            self.config = config
            self.lease = timedelta(seconds=max(120.0, 10 * config.interval))
            self.runner = Runner(config, self.store, self.clock, self.owner, self.stop, self.lease)
            self.deliverer = Uploader(config, self.store, self.clock, self.owner)
            self._close_unused(old)
            return sorted(running)

    def _unpin(self, running: dict[int, str]) -> None:
        """Forget the pins of tasks no longer running; close a pinned runner nobody uses any more."""
        for task_id in [t for t in self._pinned if t not in running]:
            self._close_unused(self._pinned.pop(task_id))

    def _close_unused(self, runner: Runner) -> None:
        if runner is not self.runner and all(r is not runner for r in self._pinned.values()):
            runner.close()

    # -- the three steps -------------------------------------------------------------------------

    def _isolated(self, step, *args, what: tuple[str, object]) -> None:
        """One step for one profile or task: its failure is logged and the others go on."""
        try:
            step(*args)
        except TaskNotFound:
            log.info("task.vanished", **{what[0]: what[1]})  # deleted by a user meanwhile: fine
        except StateDatabaseError as exc:  # an outage: one line, no traceback; the next tick retries
            log.error("heartbeat.step_failed", step=step.__name__.strip("_"), reason=exc.reason,
                      **{what[0]: what[1]})
        except Exception as exc:
            log.exception("heartbeat.step_failed", step=step.__name__.strip("_"), **{what[0]: what[1]})
            if what[0] == "task_id":
                self._count_failure(what[1], exc)

    def _count_failure(self, task_id: int, exc: Exception) -> None:
        """A task's step failed unexpectedly: counted, so that a failure that comes back at every
        heartbeat ends the task in error (tasks.failures) instead of looping silently."""
        try:
            failed = self.store.step_failed(task_id, self.clock.now(), _reason(exc))
        except StateDatabaseError as err:
            log.error("heartbeat.step_failed", step="count_failure", reason=err.reason, task_id=task_id)
            return
        if failed is not None and failed.status is TaskStatus.ERROR:
            log.error("task.error", task_id=task_id, profile=failed.profile, message=failed.message)

    def _prune_history(self, now: datetime) -> None:
        """Apply `keep_history` once a day (first at the first tick of the process)."""
        if not self.config.keep_history:
            return
        if self._pruned_at is not None and now - self._pruned_at < timedelta(days=1):
            return
        removed = history.keep_history(self.store, self.config.keep_history, now)
        self._pruned_at = now
        for problem in removed.problems:
            log.warning("history.file_left", problem=problem)
        if removed.tasks:
            log.info("history.pruned", tasks=len(removed.tasks), keep_days=self.config.keep_history)

    def _check_space(self, now: datetime) -> None:
        """Warn in the log, once an hour, of a data or export directory short of free space."""
        if self._space_checked_at is not None and now - self._space_checked_at < SPACE_CHECK_EVERY:
            return
        self._space_checked_at = now
        for warning in space.warnings(self.config):
            log.warning("disk.low_space", path=warning.path, free_bytes=warning.free,
                        threshold_bytes=warning.threshold)

    def _paused(self) -> set[str]:
        """The paused profiles (one read); none when the state database does not answer (each
        profile's schedule step then fails on its own and is logged)."""
        if not any(p.schedule for p in self.config.profiles):
            return set()
        try:
            return set(self.store.pauses.paused())
        except StateDatabaseError:
            return set()

    def _schedule(self, profile: Profile, now: datetime, report: TickReport, paused: bool = False) -> None:
        if not profile.schedule:
            return
        cron, key = schedule.of_profile(profile), schedule.key(profile)
        recorded, next_slot = self.store.schedule_state(profile.name)
        if not profile.enabled or paused:  # forget the slot: enabling (resuming) starts from its next slot
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
        note = action_log.coalesced(due.missed, due.first) if due.missed else None
        task = self.store.create_scheduled(profile, key, next_slot, due.slot, due.next_slot, now, note,
                                           by=DAEMON)  # in the audit trail, as the daemon's
        if task is not None:
            report.created.append(task.id)
            log.info("task.created", task_id=task.id, profile=profile.name, trigger="schedule",
                     coalesced=due.missed)

    def _start(self, task_id: int, now: datetime, started: dict[int, str], report: TickReport) -> None:
        """Start a due task; a running one joins `started` (task id -> profile) for its first batch."""
        task = self.store.get(task_id)
        self.monitor.doing(f"starting task {task_id} ({task.profile})")
        try:
            profile = self.config.profile(task.profile)
        except ProfileNotFound:
            self.store.start(task_id, self._at(now), self.owner, None, _missing_profile(task.profile),
                             lambda _t: None, self.lease)
            return
        worker = self.runner.worker(profile)
        build = _busy(self.store, task)
        if build is None:
            previous = self.store.last_completed(profile.name)
            try:  # outside the store's transaction: a download must not hold the task's row locked
                if task.retry_of:  # the store queues the original's error items (no feed, no guard)
                    worker.prepare_retry(task)
                    build = _raise(FatalTaskError("a retry's queue is its original's error items"))
                else:
                    worker.prepare(task, previous)
                    build = lambda: worker.build_queue(previous, task)  # noqa: E731
            except (FatalTaskError, SourceUnchanged, MustWait) as exc:  # the store decides: missed first
                build = _raise(exc)
        begun = self.store.start(task_id, self._at(now), self.owner, profile.misfire_grace, build,
                                 worker.export_path, self.lease, worker.duplicate_note())
        if begun is None:
            return
        bound = log.bind(task_id=task_id, profile=task.profile)
        if begun.status is TaskStatus.RUNNING:
            report.started.append(task_id)
            started[task_id] = begun.profile
            bound.info("task.started", total=begun.progress.total, owner=self.owner)
        elif begun.status is TaskStatus.COMPLETED:  # nothing to queue, and allowed to be so
            report.started.append(task_id)
            bound.info("task.completed", **begun.progress.as_dict())
        elif begun.status is TaskStatus.PENDING:  # queued by a person: it waits its turn
            bound.info("task.waiting", message=begun.message)
        else:
            bound.warning(f"task.{begun.status.value}", message=begun.message)

    def _batches(self, tasks: dict[int, str], report: TickReport) -> None:
        """One batch of each of `tasks` (task id -> profile), in id order."""
        for task_id, profile in sorted(tasks.items()):
            if self.stop.is_set():
                return
            report.running[task_id] = profile
            self._isolated(self._batch, task_id, profile, report, what=("task_id", task_id))

    def _deliveries(self, now: datetime, report: TickReport) -> None:
        """One attempt of each delivery due (a task completed in this tick included), each bounded
        by its connection's timeouts (heartbeat.engine.uploads)."""
        for task_id in self.deliverer.due(now):
            if self.stop.is_set():
                return
            self._isolated(self._deliver, task_id, report, what=("task_id", task_id))

    def _deliver(self, task_id: int, report: TickReport) -> None:
        self.monitor.doing(f"delivery of task {task_id}")  # the registry's "doing", systemd's watchdog
        done = self.deliverer.attempt(task_id)
        if done is not None and done.status is UploadStatus.DELIVERED:
            report.delivered.append(task_id)

    def _batch(self, task_id: int, profile_name: str, report: TickReport) -> None:
        self.monitor.doing(f"batch of task {task_id} ({profile_name})")
        done = self._pinned.get(task_id, self.runner).run(task_id, profile_name)
        if done is None:
            return
        report.batches += 1
        log.info("batch.committed", task_id=task_id, profile=profile_name, batch=done.batches,
                 pending=done.progress.pending, owner=self.owner)
        if done.status.finished:
            log.info(f"task.{done.status.value}", task_id=task_id, profile=profile_name,
                     **done.progress.as_dict())


def _reason(exc: Exception) -> str:
    """One line naming an unexpected failure: its type and the first line of its message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _raise(exc: Exception):
    def build():
        raise exc
    return build


def _busy(store: TaskStore, task):
    """While another task of its profile runs, a due task is not prepared (an import would fetch
    its feed at every heartbeat): it is missed, or it waits (TaskStore.start decides, and checks
    again). None when the profile is free."""
    sibling = store.profile_busy(task.profile, task.id)
    if sibling is None:
        return None
    return _raise(MustWait(f"task {sibling} of profile {task.profile} is running"))


def _missing_profile(name: str):
    def build():
        raise FatalTaskError(f"profile {name!r} is no longer configured")
    return build
