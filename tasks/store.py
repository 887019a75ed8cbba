"""The task store: the one boundary between Heartbeat and its state database.

The heartbeat and the CLI speak the verbs below; none of them sees SQL, and none of them sees a
database error either: every public verb turns the driver's errors into StateDatabaseError. Every
status change goes through tasks.rows.transition, which asks the state machine (tasks.states) first.
Counters on a task row are changed only in the transaction that changes its items, so they always
equal the items' counts.

A batch is three verbs: `claim` (committed before any work: crash detection, tasks.recovery),
`plan` (for work with effects outside this database: the plan is saved before any effect) and
`commit_batch` (the work runs with the task row locked and its result commits at once).

Concurrency: a task row is locked (`FOR UPDATE`, `SKIP LOCKED` where another daemon may hold it) for
the whole of a start or a batch; SQLite serialises writers with BEGIN IMMEDIATE instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.actor import Actor
from core.clock import as_utc, iso
from core.errors import AlreadyPending, FatalTaskError, MustWait, Refused, SourceUnchanged
from tasks import failures, queue, recovery
from tasks import tables as t
from tasks.batch import Batch, BatchResult, Planning
from tasks.database import current_revision, reading
from tasks.guard import callers, callers_iter, guarded, guarded_iter
from tasks.leases import busy, owner_gone
from tasks.models import Item, ItemRecord, LogLine, QueueEntry, Task
from tasks.recovery import Attempt
from tasks.rows import TASK_COLUMNS, lock_task, naive, read_task, transition, wait, write_log
from tasks.statements import Statements
from tasks.states import TaskStatus, check_task_transition
from tasks.stores import registry, uploads
from tasks.stores.audit import AuditStore, write_entry
from tasks.stores.categories import CategoryStore
from tasks.stores.outbox import NOBODY, Outbox, Subscriptions, forget_finished
from tasks.stores.overview import Overview
from tasks.stores.pauses import Pauses
from tasks.stores.sent import SentStore
from tasks.stores.users import UserStore

TASK = t.tasks.c
ITEM = t.items.c


class Wording(Protocol):
    """The action-log lines the store writes in its own transactions (reports.action_log)."""

    def started(self, total: int, batch_size: int) -> str: ...

    def missed(self, why: str) -> str: ...

    def nothing_to_do(self) -> str: ...

    def dry_run(self) -> str: ...

    def restarted(self, attempt: Attempt, task: Task) -> str: ...

    def crashed(self, attempt: Attempt, item: Item | None, how: str, next_end: int) -> str: ...

    def summary(self, task: Task) -> str: ...

    def killed(self, reason: str, cancelled: int) -> str: ...

    def failed(self, reason: str, cancelled: int) -> str: ...


@dataclasses.dataclass(frozen=True)
class Planned:
    """What TaskStore.plan gives back: the planner's value and the items it read (None if it read
    none), which commit_batch may reuse."""

    value: object
    items: list[Item] | None


_INHERITED: list = []  # in a forked child: the parent's connection pools, kept so no finaliser closes them


class TaskStore:
    def __init__(self, engine: Engine, wording: Wording, notify: Subscriptions = NOBODY,
                 dead_after: timedelta = registry.DEAD_AFTER):
        """`notify`: which status changes write notification deliveries (tasks.stores.outbox), read and
        sent through `self.outbox`; `dead_after`: how long a registered process may go unseen before
        it is dead (its tasks are taken over, tasks.stores.registry)."""
        self.engine, self.wording, self.notify, self.dead_after = engine, wording, notify, dead_after
        self.sql = Statements(engine.dialect)
        self.deliveries = uploads.UploadStore(engine)  # export files uploaded to http targets
        self.outbox = Outbox(engine)
        self.categories = CategoryStore(engine)  # the category mapping (tasks.stores.categories)
        self.overview = Overview(engine)  # whole-database counts for `status` and the metrics
        self.pauses = Pauses(engine)  # paused profiles: no schedule slots
        self.users = UserStore(engine)  # web users, their tokens and sessions
        self.audit = AuditStore(engine)  # who did what
        self.sent = SentStore(engine)  # what each export profile last sent (change tracking)

    def forget_inherited_connections(self) -> None:
        """In a forked child: leave the parent's pooled connections alone (never used nor closed
        here: SQLAlchemy's and SQLite's rule for fork) and open new ones on next use."""
        _INHERITED.append(self.engine.pool)
        self.engine.dispose(close=False)

    def close(self) -> None:
        """Close this process's pooled connections (the store opens new ones if used again)."""
        self.engine.dispose()

    @guarded
    def schema_revision(self) -> str | None:
        """The state database's schema revision (tasks/migrations)."""
        return current_revision(self.engine)

    # -- reading ---------------------------------------------------------------------------------

    def _read(self):
        return reading(self.engine)

    @guarded
    def get(self, task_id: int) -> Task:
        with self._read() as conn:
            return read_task(conn, task_id)

    @guarded
    def list(self, status: str | None = None, profile: str | None = None, limit: int | None = 50,
             kind: str | None = None, before: int | None = None):
        """Tasks newest first (highest id first); `before`: only ids below it (keyset pagination:
        the next page starts below the last id shown, a primary-key range however many tasks)."""
        query = sa.select(*TASK_COLUMNS).order_by(TASK.id.desc()).limit(limit)
        if status:
            query = query.where(TASK.status == TaskStatus(status).value)
        if profile:
            query = query.where(TASK.profile == profile)
        if kind:
            query = query.where(TASK.kind == kind)
        if before is not None:
            query = query.where(TASK.id < before)
        with self._read() as conn:
            return [Task.from_row(r) for r in conn.execute(query)]

    @guarded
    def last_completed(self, profile: str) -> Task | None:
        """The profile's newest completed task that was not a dry run (a dry run changed nothing,
        so it is no one's previous run)."""
        completed = (sa.select(*TASK_COLUMNS).order_by(TASK.id.desc()).limit(20)
                     .where(TASK.profile == profile, TASK.status == TaskStatus.COMPLETED.value))
        query, below = completed, None
        with self._read() as conn:
            while True:  # pages of 20, newest first: dry runs are few
                rows = conn.execute(query if below is None else query.where(TASK.id < below)).all()
                for row in rows:
                    task = Task.from_row(row)
                    if not task.options.get("dry_run"):
                        return task
                if len(rows) < 20:
                    return None
                below = rows[-1].id

    @guarded
    def last_task(self, profile: str) -> Task | None:
        tasks = self.list(profile=profile, limit=1)
        return tasks[0] if tasks else None

    @guarded
    def active(self, now: datetime) -> tuple[list[int], dict[int, str]]:
        """What a heartbeat has to do, in one read: the ids of pending tasks whose time has come
        (oldest scheduled_at first), and the running tasks (id -> profile)."""
        pending, running = TaskStatus.PENDING.value, TaskStatus.RUNNING.value
        query = (
            sa.select(TASK.id, TASK.status, TASK.profile)
            .where(sa.or_(sa.and_(TASK.status == pending, TASK.scheduled_at <= naive(now)),
                          TASK.status == running))
            .order_by(TASK.scheduled_at, TASK.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return ([i for i, status, _ in rows if status == pending],
                {i: profile for i, status, profile in rows if status == running})

    @guarded
    def items(self, task_id: int, chunk: int = 2000) -> Iterator[ItemRecord]:
        """Every queued item in position order, read in primary-key chunks (constant memory).
        Raises TaskNotFound at once, not at the first iteration."""
        self.get(task_id)
        return guarded_iter(self._iter_items(task_id, chunk))

    def _iter_items(self, task_id: int, chunk: int) -> Iterator[ItemRecord]:
        cols = [ITEM.position, ITEM.product_id, ITEM.combination_id, ITEM.reference, ITEM.name,
                ITEM.status, ITEM.action, ITEM.detail]
        after = 0
        while True:
            query = (sa.select(*cols).where(ITEM.task_id == task_id, ITEM.position > after)
                     .order_by(ITEM.position).limit(chunk))
            with self._read() as conn:
                rows = [ItemRecord(*r) for r in conn.execute(query)]
            yield from rows
            if len(rows) < chunk:
                return
            after = rows[-1].position

    @guarded
    def find_items(self, task_id: int, text: str, limit: int = 20) -> list[ItemRecord]:
        """The task's items whose reference is `text`, or whose product id is `text` when it is a
        number, in position order (at most `limit`). Raises TaskNotFound."""
        self.get(task_id)
        match = ITEM.reference == text
        if text.isdigit() and len(text) < 10:
            match = sa.or_(match, ITEM.product_id == int(text))
        cols = [ITEM.position, ITEM.product_id, ITEM.combination_id, ITEM.reference, ITEM.name,
                ITEM.status, ITEM.action, ITEM.detail]
        query = sa.select(*cols).where(ITEM.task_id == task_id, match).order_by(ITEM.position).limit(limit)
        with self._read() as conn:
            return [ItemRecord(*r) for r in conn.execute(query)]

    @guarded
    def findings(self, task_id: int, examples: int = 10) -> dict[str, dict]:
        """A maintenance task's findings by pattern: {pattern: {"count", "fixed", "examples": the
        first `examples` records, in position order}}. Raises TaskNotFound."""
        self.get(task_id)
        f = t.findings.c
        counts = (sa.select(f.pattern, sa.func.count(), sa.func.sum(sa.case((f.fixed, 1), else_=0)))
                  .where(f.task_id == task_id).group_by(f.pattern))
        out: dict[str, dict] = {}
        with self._read() as conn:
            for pattern, count, fixed in conn.execute(counts):
                first = conn.execute(sa.select(f.record).where(f.task_id == task_id, f.pattern == pattern)
                                     .order_by(f.position, f.id).limit(examples)).scalars().all()
                out[pattern] = {"count": int(count), "fixed": int(fixed or 0), "examples": list(first)}
        return out

    @guarded
    def item_counts(self, task_id: int) -> dict[str, int]:
        """Items by status, counted from the items themselves (the counters' ground truth)."""
        query = (sa.select(ITEM.status, sa.func.count()).where(ITEM.task_id == task_id)
                 .group_by(ITEM.status))
        with self._read() as conn:
            return {status: n for status, n in conn.execute(query)}

    @guarded
    def log(self, task_id: int) -> list[LogLine]:
        self.get(task_id)
        query = (sa.select(t.log.c.logged_at, t.log.c.level, t.log.c.message)
                 .where(t.log.c.task_id == task_id).order_by(t.log.c.id))
        with self._read() as conn:
            return [LogLine(at.replace(tzinfo=None), lvl, msg) for at, lvl, msg in conn.execute(query)]

    # -- creating ----------------------------------------------------------------------------------

    @guarded
    def create(self, profile, trigger: str, scheduled_at: datetime, now: datetime,
               options: dict | None = None, note: str | None = None) -> Task:
        """A new pending task of `profile` (an object with name, kind and batch_size)."""
        with self.engine.begin() as conn:
            task_id = self._insert_task(conn, profile, trigger, scheduled_at, now, options)
            if note:
                write_log(conn, task_id, now, note)
            return read_task(conn, task_id)

    @guarded
    def create_retry(self, original_id: int, profile, now: datetime, options: dict | None = None,
                     note: str | None = None) -> Task:
        """A new pending task of `profile` due now that will redo the error items of finished task
        `original_id` (copied when it starts: `start`). Refused when the original is not finished
        or has no error item. Raises TaskNotFound."""
        with self.engine.begin() as conn:
            original = read_task(conn, original_id)
            if not original.status.finished:
                raise Refused(f"task {original_id} is {original.status.value}; retry it when it has finished")
            if original.progress.error == 0:
                raise Refused(f"task {original_id} has no error items; there is nothing to retry")
            task_id = self._insert_task(conn, profile, "retry", now, now, options, retry_of=original_id)
            if note:
                write_log(conn, task_id, now, note)
            return read_task(conn, task_id)

    def create_once(self, profile, trigger: str, now: datetime, options: dict | None = None) -> Task:
        """A new pending task of `profile` due now, queued by a person; raises AlreadyPending
        (naming it) while one with the same options is still pending. Checked and inserted with the
        profile's row locked, so two clicks at once queue one task."""
        with self.engine.begin() as conn:
            self._ensure_profile_row(conn, profile.name, now)
        with self.engine.connect() as conn, conn.begin():
            conn.execute(sa.select(t.profiles.c.name).where(t.profiles.c.name == profile.name)
                         .with_for_update())
            twin = queue.pending_twin(conn, profile.name, json.dumps(options or {}, sort_keys=True))
            if twin is not None:
                raise AlreadyPending(twin, profile.name)
            return read_task(conn, self._insert_task(conn, profile, trigger, now, now, options))

    @guarded
    def step_failed(self, task_id: int, now: datetime, reason: str) -> Task | None:
        """Count an unexpected failure of the task's step at this heartbeat (tasks.failures); the
        task as it now is (in error after too many of the same), None if it is gone or finished."""
        with self.engine.connect() as conn, conn.begin():
            task = lock_task(conn, task_id, skip_locked=False)
            if task is None or task.status.finished:
                return None
            return failures.record(conn, task, now, reason, self.notify)

    @guarded
    def profile_busy(self, profile: str, task_id: int) -> int | None:
        """The running task of `profile` other than `task_id`, if any."""
        with self._read() as conn:
            return queue.running_sibling(conn, profile, task_id)

    def _insert_task(self, conn, profile, trigger, scheduled_at, now, options, retry_of=None) -> int:
        result = conn.execute(t.tasks.insert().values(
            profile=profile.name, kind=profile.kind, status=TaskStatus.PENDING.value,
            triggered_by=trigger, created_at=naive(now), scheduled_at=naive(scheduled_at),
            batch_size=profile.batch_size, options=json.dumps(options or {}, sort_keys=True),
            total=0, pending=0, processed=0, skipped=0, cancelled=0, error=0, handled_upto=0,
            batches=0, work_seconds=0.0, export_bytes=0, retry_of=retry_of,
        ))
        return result.inserted_primary_key[0]

    @guarded
    def next_slots(self) -> dict[str, datetime]:
        """The next recorded cron slot of every scheduled profile (UTC)."""
        slot = t.profiles.c.next_slot
        query = sa.select(t.profiles.c.name, slot).where(slot.is_not(None))
        with self._read() as conn:
            return {name: as_utc(slot) for name, slot in conn.execute(query)}

    @guarded
    def schedule_state(self, profile: str) -> tuple[str | None, datetime | None]:
        """(schedule expression, next slot) last recorded for a profile."""
        query = sa.select(t.profiles.c.schedule, t.profiles.c.next_slot).where(
            t.profiles.c.name == profile)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None, None
        return row.schedule, row.next_slot.replace(tzinfo=None) if row.next_slot else None

    @guarded
    def set_schedule(self, profile: str, schedule: str | None, next_slot: datetime | None,
                     now: datetime) -> None:
        with self.engine.begin() as conn:
            self._ensure_profile_row(conn, profile, now)
            conn.execute(t.profiles.update().where(t.profiles.c.name == profile).values(
                schedule=schedule, next_slot=naive(next_slot), updated_at=naive(now)))

    @guarded
    def create_scheduled(self, profile, schedule: str, expected_slot: datetime, slot: datetime,
                         next_slot: datetime, now: datetime, note: str | None,
                         by: Actor | None = None) -> Task | None:
        """Atomically turn the profile's due slot into a pending task and move to `next_slot`;
        with `by` (the daemon that runs the schedule), the audit trail's profile.run entry of it
        is written in the same transaction.

        Returns None when another process already did (the recorded slot is no longer the
        expected one): each slot yields at most one task whatever the number of daemons. Nor does
        a profile paused meanwhile get one (tasks.stores.pauses)."""
        with self.engine.begin() as conn:
            moved = conn.execute(t.profiles.update().where(
                t.profiles.c.name == profile.name, t.profiles.c.next_slot == naive(expected_slot),
                t.profiles.c.schedule == schedule, t.profiles.c.paused_at.is_(None),
            ).values(next_slot=naive(next_slot), updated_at=naive(now)))
            if moved.rowcount != 1:
                return None
            task_id = self._insert_task(conn, profile, "schedule", slot, now, None)
            if note:
                write_log(conn, task_id, now, note)
            if by is not None:
                when = f"schedule {profile.schedule} ({profile.timezone}), slot {iso(slot)}"
                write_entry(conn, now, by.name, by.via, by.address, "profile.run", f"profile:{profile.name}",
                            f"task {task_id}: {when}")
            return read_task(conn, task_id)

    def _ensure_profile_row(self, conn: Connection, profile: str, now: datetime) -> None:
        exists = conn.execute(sa.select(t.profiles.c.name).where(t.profiles.c.name == profile)).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.profiles.insert().values(name=profile, updated_at=naive(now)))
            except sa.exc.IntegrityError:
                pass  # another process inserted it first: the row exists, which is all we need

    # -- starting ----------------------------------------------------------------------------------

    @guarded
    def start(self, task_id: int, now: datetime, owner: str, misfire_grace: int | None,
              build_queue: Callable[[], Iterable[QueueEntry]], export_path: Callable[[Task], str | None],
              lease: timedelta, duplicate_note: Callable[[str | None], str] | None = None) -> Task | None:
        """Start a due pending task: missed, error, running with its queue built, or completed at
        once when the queue is empty (`build_queue` yields nothing only where the profile allows it).

        With `duplicate_note`, items whose reference an earlier item of the queue has are marked
        with duplicate_note(payload of that first item) in their detail. Returns None when the
        task is no longer pending or another process is starting it. A FatalTaskError from
        `build_queue` marks the task error with its message."""
        try:
            return self._start(task_id, now, owner, misfire_grace, build_queue, export_path, lease,
                               duplicate_note)
        except FatalTaskError as exc:
            return self._fail_pending(task_id, now, str(exc))
        except MustWait as exc:  # raised before anything was inserted: the transaction rolled back
            return self._wait(task_id, now, str(exc))

    def _wait(self, task_id: int, now: datetime, why: str) -> Task | None:
        with self.engine.connect() as conn, conn.begin():
            task = lock_task(conn, task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                return task
            return wait(conn, task, now, why)

    def _start(self, task_id, now, owner, misfire_grace, build_queue, export_path, lease, duplicate_note):
        profile = self.get(task_id).profile
        with self.engine.begin() as conn:  # its own transaction: racing inserts must not deadlock
            self._ensure_profile_row(conn, profile, now)
        with self.engine.connect() as conn, conn.begin():
            conn.execute(sa.select(t.profiles.c.name).where(t.profiles.c.name == profile)
                         .with_for_update())  # serialises starts of one profile across daemons
            task = lock_task(conn, task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                return None
            why = queue.too_late(task, now, misfire_grace) or queue.sibling_running(conn, task, now)
            if why and task.trigger != "schedule":  # a person's task is never missed: it waits
                sibling = queue.running_sibling(conn, task.profile, task.id)
                return wait(conn, task, now, queue.waits_for(sibling, task.profile))
            if why:
                write_log(conn, task_id, now, self.wording.missed(why), level="warning")
                return transition(conn, task, TaskStatus.MISSED, now, why, self.notify)
            if task.message and task.trigger != "schedule":
                write_log(conn, task_id, now, queue.waited(task, now))
            try:
                entries = (queue.error_entries(conn, task.retry_of) if task.retry_of
                           else callers_iter(callers(build_queue)))
                total = queue.insert(conn, task_id, entries)
            except SourceUnchanged as exc:  # raised before the first entry: nothing was inserted
                return _complete_at_once(conn, task, now, str(exc), self.notify)
            if total == 0 and task.retry_of:
                raise FatalTaskError(f"task {task.retry_of}'s error items are gone (the task was deleted); "
                                     "nothing to retry")
            if total == 0:  # an empty source the profile allows: nothing to do, no batch
                return _complete_at_once(conn, task, now, self.wording.nothing_to_do(), self.notify)
            if duplicate_note is not None:
                queue.mark_duplicates(conn, task_id, duplicate_note)
            conn.execute(t.tasks.update().where(TASK.id == task_id).values(
                total=total, pending=total, export_path=callers(export_path, task), owner=owner))
            write_log(conn, task_id, now, self.wording.started(total, task.batch_size))
            if task.options.get("dry_run"):
                write_log(conn, task_id, now, self.wording.dry_run())
            return transition(conn, read_task(conn, task_id), TaskStatus.RUNNING, now, None, self.notify)

    def _fail_pending(self, task_id: int, now: datetime, reason: str) -> Task | None:
        return self._fail(task_id, now, reason, TaskStatus.PENDING)

    def _fail(self, task_id: int, now: datetime, reason: str, expected: TaskStatus) -> Task | None:
        """expected -> error with `reason` (logged); the task as it stands if it is no longer
        `expected` (or None if it is gone)."""
        with self.engine.connect() as conn, conn.begin():
            task = lock_task(conn, task_id)
            if task is None or task.status is not expected:
                return task
            failed = transition(conn, task, TaskStatus.ERROR, now, reason, self.notify)
            cancelled = failed.progress.cancelled - task.progress.cancelled
            write_log(conn, task_id, now, self.wording.failed(reason, cancelled), level="error")
            return failed

    # -- processing --------------------------------------------------------------------------------

    @guarded
    def claim(self, task_id: int, owner: str, now: datetime, lease: timedelta) -> Attempt | None:
        """Take a running task for one batch and record the attempt (committed) before any work;
        None when it is not ours to process (finished, deleted, locked by another process, or
        owned by a live one). See tasks.recovery for what the record is for."""
        with self.engine.connect() as conn, conn.begin():
            task = lock_task(conn, task_id)
            if task is None or task.status is not TaskStatus.RUNNING:
                return None
            other = task.owner not in (None, owner)
            gone = other and owner_gone(task.owner, task.lease_until, now,
                                        self._registered_dead(conn, task, now))
            if other and busy(task.lease_until, now) and not gone:
                return None  # another process is in the middle of a batch
            attempt = recovery.next_attempt(task, owner, gone)
            if attempt.restarted:
                write_log(conn, task_id, now, self.wording.restarted(attempt, task), level="warning")
            conn.execute(t.tasks.update().where(TASK.id == task_id).values(
                owner=owner, lease_until=naive(now + lease), attempt_position=attempt.position,
                attempt_end=attempt.end, restarts=attempt.restarts, suspect_until=attempt.suspect_until,
                culprit_until=attempt.culprit_until))
            return attempt

    def _registered_dead(self, conn: Connection, task: Task, now: datetime) -> bool:
        state = registry.presence(conn, task.owner, now, self.dead_after)
        return state in (registry.DaemonState.DEAD, registry.DaemonState.STOPPED)

    @guarded
    def plan(self, task_id: int, owner: str, attempt: Attempt,
             planner: Callable[[Planning], object]) -> Planned | None:
        """Plan the claimed batch before its effects are applied: `planner(planning)` runs with the
        task row locked, reads the saved plan or makes and saves a new one, and what it saved
        commits when it returns. None when the task is no longer ours."""
        with self._claimed(task_id, owner, attempt) as conn_task:
            if conn_task is None:
                return None
            planning = Planning(*conn_task, attempt)
            value = callers(planner, planning)
            return Planned(value, planning.read_items)

    @guarded
    def commit_batch(self, task_id: int, owner: str, attempt: Attempt, now: datetime,
                     work: Callable[[Batch], BatchResult], items: list[Item] | None = None) -> Task | None:
        """Do the claimed batch: `work(batch)` runs with the task row locked, and the BatchResult it
        returns commits with it (tasks.batch). Everything rolls back if `work` raises. None when
        the task was killed, deleted or taken over since the claim. `items`: the batch's items as
        planning read them (still the same: only a batch of their owner, or a kill, changes
        pending items)."""
        with self._claimed(task_id, owner, attempt) as conn_task:
            if conn_task is None:
                return None
            conn, sql, task = conn_task
            if items is None:
                items = sql.pending(conn, task, attempt.end)
            batch = Batch(conn, sql, task, items, attempt, self.notify)
            result = callers(work, batch)
            return batch.commit(result, now, self.wording.summary)

    @guarded
    def record_crash(self, task_id: int, owner: str, attempt: Attempt, now: datetime,
                     how: str) -> Task | None:
        """The sacrificial process handling the suspect chunk `attempt` died (`how`): the chunk holds
        the culprit, or, alone, the item counts one more death (tasks.recovery.crashed); our lease is
        dropped. None when the task is no longer ours."""
        with self._claimed(task_id, owner, attempt) as conn_task:
            if conn_task is None:
                return None
            conn, sql, task = conn_task
            counted = recovery.crashed(attempt)
            items = sql.pending(conn, task, attempt.position)
            next_end = recovery.chunk_end(attempt.position, attempt.suspect_until, counted.culprit_until,
                                          task.batch_size)
            line = self.wording.crashed(counted, items[0] if items else None, how, next_end)
            write_log(conn, task_id, now, line, level="warning")
            conn.execute(t.tasks.update().where(TASK.id == task_id).values(
                restarts=counted.restarts, culprit_until=counted.culprit_until, lease_until=None))
            return read_task(conn, task_id)

    @contextmanager
    def _claimed(self, task_id: int, owner: str,
                 attempt: Attempt) -> Iterator[tuple[Connection, Statements, Task] | None]:
        """A transaction holding the claimed task's row lock: (connection, statements, task), or
        None when the task is no longer ours to work on (killed, deleted, or taken over since the
        claim)."""
        with self.engine.connect() as conn, conn.begin():
            task = lock_task(conn, task_id, skip_locked=False)
            if (task is None or task.status is not TaskStatus.RUNNING or task.owner != owner
                    or task.handled_upto + 1 != attempt.position):
                yield None
            else:
                yield conn, self.sql, task

    @guarded
    def note(self, task_id: int, now: datetime, message: str, level: str = "info") -> None:
        """Add a line to a task's action log on its own, unless it would repeat the last line
        (a failure seen by every tick of a cron-driven `heartbeat tick` is noted once)."""
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(t.log.c.message).where(t.log.c.task_id == task_id)
                                .order_by(t.log.c.id.desc()).limit(1)).scalar()
            if last != message:
                write_log(conn, task_id, now, message, level)

    @guarded
    def unclaim(self, task_id: int, owner: str) -> None:
        """A batch we claimed was abandoned (it failed and will be retried): drop the lease, so no
        other process takes the abandonment for a crash."""
        with self.engine.begin() as conn:
            conn.execute(t.tasks.update().where(TASK.id == task_id, TASK.owner == owner).values(
                lease_until=None))

    @guarded
    def release(self, owner: str) -> int:
        """Give up every task `owner` holds (a clean stop), so the next process resumes quietly."""
        with self.engine.begin() as conn:
            return conn.execute(t.tasks.update().where(TASK.owner == owner).values(
                owner=None, lease_until=None)).rowcount

    @guarded
    def fail_running(self, task_id: int, now: datetime, reason: str) -> Task | None:
        """A running task that cannot continue becomes error; its pending items become cancelled
        ("task ended in error: <reason>")."""
        return self._fail(task_id, now, reason, TaskStatus.RUNNING)

    # -- user actions --------------------------------------------------------------------------------

    @guarded
    def kill(self, task_id: int, now: datetime, reason: str = "killed by user") -> Task:
        """pending|running -> killed; pending items become cancelled. Waits for a batch in progress."""
        with self.engine.connect() as conn, conn.begin():
            task = read_task(conn, task_id, lock=True)
            check_task_transition(task_id, task.status, TaskStatus.KILLED)
            return self._kill(conn, task, now, reason)

    def _kill(self, conn: Connection, task: Task, now: datetime, reason: str) -> Task:
        killed = transition(conn, task, TaskStatus.KILLED, now, reason, self.notify)
        cancelled = killed.progress.cancelled - task.progress.cancelled
        write_log(conn, task.id, now, self.wording.killed(reason, cancelled), level="warning")
        return killed

    @guarded
    def delete(self, task_id: int, now: datetime, reason: str = "killed by user before deletion") -> Task:
        """Remove a task with its items and log (a pending or running one is killed first, with
        `reason`). Returns the task as it was, so the caller can remove its files."""
        with self.engine.connect() as conn, conn.begin():
            task = read_task(conn, task_id, lock=True)
            if not task.status.finished:
                task = self._kill(conn, task, now, reason)
            _delete_rows(conn, [task_id])
            return task

    @guarded
    def prune(self, before: datetime, statuses: Iterable[str] | None = None,
              chunk: int = 200) -> list[Task]:
        """Delete finished tasks that finished before `before` (optionally only some statuses),
        with their items and log, a chunk of tasks per transaction. Returns the deleted tasks."""
        finished = {s.value for s in TaskStatus if s.finished}
        wanted = sorted(finished & {TaskStatus(s).value for s in statuses} if statuses else finished)
        deleted: list[Task] = []
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(sa.select(*TASK_COLUMNS).where(
                    TASK.status.in_(wanted), TASK.finished_at < naive(before),
                ).order_by(TASK.id).limit(chunk).with_for_update(skip_locked=True)).all()
                ids = [r.id for r in rows]
                if ids:
                    _delete_rows(conn, ids)
            deleted += [Task.from_row(r) for r in rows]
            if len(rows) < chunk:
                return deleted


def _delete_rows(conn: Connection, task_ids: list[int]) -> None:
    """Tasks with everything recorded about them: items, log lines, findings, deliveries,
    notifications sent (or given up) about them."""
    conn.execute(t.items.delete().where(ITEM.task_id.in_(task_ids)))
    forget_finished(conn, task_ids)
    conn.execute(t.log.delete().where(t.log.c.task_id.in_(task_ids)))
    conn.execute(t.findings.delete().where(t.findings.c.task_id.in_(task_ids)))
    uploads.delete_rows(conn, task_ids)
    conn.execute(t.tasks.delete().where(TASK.id.in_(task_ids)))


def _complete_at_once(conn, task: Task, now: datetime, message: str, notify: Subscriptions) -> Task:
    """A task started with nothing to do: running, then completed with `message`, which the log
    says too (no batch is run)."""
    write_log(conn, task.id, now, message)
    running = transition(conn, task, TaskStatus.RUNNING, now, None, notify)
    return transition(conn, running, TaskStatus.COMPLETED, now, message, notify)
