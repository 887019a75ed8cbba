"""The task store: the one boundary between Heartbeat and its state database.

The heartbeat and the CLI speak the verbs below; none of them sees SQL. Every status change goes
through `_transition`, which asks the state machine (tasks.states) first. Counters on a task row are
changed only in the transaction that changes its items, so they always equal the items' counts.

Concurrency: a task row is locked (`FOR UPDATE`, `SKIP LOCKED` where another daemon may hold it) for
the whole of a start or a batch; SQLite serialises writers with BEGIN IMMEDIATE instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from heartbeat import driver
from heartbeat.clock import as_utc
from heartbeat.errors import FatalTaskError, Refused, TaskNotFound
from reports import action_log
from tasks import attempts
from tasks import tables as t
from tasks.attempts import Attempt
from tasks.batch import Batch, Planning
from tasks.leases import busy, owner_gone
from tasks.models import Item, ItemRecord, LogLine, QueueEntry, Task
from tasks.states import ItemStatus, TaskStatus, check_task_transition

QUEUE_CHUNK = 5000
TASK = t.tasks.c
# a task row as Task needs it: without the saved plan, a large text only Planning.saved_plan() reads
TASK_COLUMNS = [c for c in t.tasks.c if c.name != "plan"]
ITEM = t.items.c
# statements every batch runs, built once (building a select of 30 columns costs more than running it)
_TASK = sa.select(*TASK_COLUMNS).where(TASK.id == sa.bindparam("id"))
_TASK_LOCKED = _TASK.with_for_update()
_TASK_LOCKED_SKIP = _TASK.with_for_update(skip_locked=True)
_LOG_LINE = t.log.insert()


def naive(value: datetime | None) -> datetime | None:
    """UTC datetimes are stored naive (portable across SQLite and MySQL)."""
    return value.replace(tzinfo=None) if value is not None and value.tzinfo else value


class Statements:
    """The statements every batch runs, compiled once per database (heartbeat.driver)."""

    def __init__(self, dialect):
        p = sa.bindparam
        self.pending_items = driver.Prepared(
            sa.select(ITEM.position, ITEM.product_id, ITEM.combination_id, ITEM.reference, ITEM.name,
                      ITEM.payload, ITEM.detail)
            .where(ITEM.task_id == p("task_id"), ITEM.position > p("after"), ITEM.position <= p("end"))
            .order_by(ITEM.position), dialect)
        sync = t.sync_state.c
        self.sync_state = driver.Prepared(
            sa.select(sync.product_id, sync.hash, sync.task_id)
            .where(sync.profile == p("profile"), sync.product_id.in_(p("ids", expanding=True))), dialect)
        self.mark_items = driver.Prepared(
            t.items.update()
            .where(ITEM.task_id == p("task_id"), ITEM.position.in_(p("positions", expanding=True)))
            .values(status=p("status"), action=p("action"), detail=p("detail")), dialect)


class TaskStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.sql = Statements(engine.dialect)

    # -- reading ---------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                yield conn

    def get(self, task_id: int) -> Task:
        with self._read() as conn:
            return self._get(conn, task_id)

    def _get(self, conn: Connection, task_id: int, lock: bool = False, skip_locked: bool = False):
        query = _TASK_LOCKED_SKIP if lock and skip_locked else _TASK_LOCKED if lock else _TASK
        row = conn.execute(query, {"id": task_id}).first()
        if row is None:
            raise TaskNotFound(task_id)
        return Task.from_row(row)

    def list(self, status: str | None = None, profile: str | None = None, limit: int | None = 50):
        """Tasks newest first (highest id first)."""
        query = sa.select(*TASK_COLUMNS).order_by(TASK.id.desc()).limit(limit)
        if status:
            query = query.where(TASK.status == TaskStatus(status).value)
        if profile:
            query = query.where(TASK.profile == profile)
        with self._read() as conn:
            return [Task.from_row(r) for r in conn.execute(query)]

    def last_completed(self, profile: str) -> Task | None:
        tasks = self.list(status=TaskStatus.COMPLETED.value, profile=profile, limit=1)
        return tasks[0] if tasks else None

    def last_task(self, profile: str) -> Task | None:
        tasks = self.list(profile=profile, limit=1)
        return tasks[0] if tasks else None

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

    def items(self, task_id: int, chunk: int = 2000) -> Iterator[ItemRecord]:
        """Every queued item in position order, read in primary-key chunks (constant memory).
        Raises TaskNotFound at once, not at the first iteration."""
        self.get(task_id)
        return self._iter_items(task_id, chunk)

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

    def item_counts(self, task_id: int) -> dict[str, int]:
        """Items by status, counted from the items themselves (the counters' ground truth)."""
        query = (sa.select(ITEM.status, sa.func.count()).where(ITEM.task_id == task_id)
                 .group_by(ITEM.status))
        with self._read() as conn:
            return {status: n for status, n in conn.execute(query)}

    def log(self, task_id: int) -> list[LogLine]:
        self.get(task_id)
        query = (sa.select(t.log.c.logged_at, t.log.c.level, t.log.c.message)
                 .where(t.log.c.task_id == task_id).order_by(t.log.c.id))
        with self._read() as conn:
            return [LogLine(at.replace(tzinfo=None), lvl, msg) for at, lvl, msg in conn.execute(query)]

    # -- creating ----------------------------------------------------------------------------------

    def create(self, profile, trigger: str, scheduled_at: datetime, now: datetime,
               options: dict | None = None, note: str | None = None) -> Task:
        """A new pending task of `profile` (an object with name, kind and batch_size)."""
        with self.engine.begin() as conn:
            task_id = self._insert_task(conn, profile, trigger, scheduled_at, now, options)
            if note:
                self._log(conn, task_id, now, note)
            return self._get(conn, task_id)

    def _insert_task(self, conn, profile, trigger, scheduled_at, now, options) -> int:
        result = conn.execute(t.tasks.insert().values(
            profile=profile.name, kind=profile.kind, status=TaskStatus.PENDING.value,
            triggered_by=trigger, created_at=naive(now), scheduled_at=naive(scheduled_at),
            batch_size=profile.batch_size, options=json.dumps(options or {}, sort_keys=True),
            total=0, pending=0, processed=0, skipped=0, cancelled=0, error=0, handled_upto=0,
            batches=0, work_seconds=0.0, export_bytes=0,
        ))
        return result.inserted_primary_key[0]

    def next_slots(self) -> dict[str, datetime]:
        """The next recorded cron slot of every scheduled profile (UTC)."""
        slot = t.profiles.c.next_slot
        query = sa.select(t.profiles.c.name, slot).where(slot.is_not(None))
        with self._read() as conn:
            return {name: as_utc(slot) for name, slot in conn.execute(query)}

    def schedule_state(self, profile: str) -> tuple[str | None, datetime | None]:
        """(schedule expression, next slot) last recorded for a profile."""
        query = sa.select(t.profiles.c.schedule, t.profiles.c.next_slot).where(
            t.profiles.c.name == profile)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None, None
        return row.schedule, row.next_slot.replace(tzinfo=None) if row.next_slot else None

    def set_schedule(self, profile: str, schedule: str | None, next_slot: datetime | None,
                     now: datetime) -> None:
        with self.engine.begin() as conn:
            self._ensure_profile_row(conn, profile, now)
            conn.execute(t.profiles.update().where(t.profiles.c.name == profile).values(
                schedule=schedule, next_slot=naive(next_slot), updated_at=naive(now)))

    def create_scheduled(self, profile, schedule: str, expected_slot: datetime,
                         slot: datetime, next_slot: datetime, now: datetime, note: str | None) -> Task | None:
        """Atomically turn the profile's due slot into a pending task and move to `next_slot`.

        Returns None when another process already did (the recorded slot is no longer the
        expected one): each slot yields at most one task whatever the number of daemons."""
        with self.engine.begin() as conn:
            moved = conn.execute(t.profiles.update().where(
                t.profiles.c.name == profile.name, t.profiles.c.next_slot == naive(expected_slot),
                t.profiles.c.schedule == schedule,
            ).values(next_slot=naive(next_slot), updated_at=naive(now)))
            if moved.rowcount != 1:
                return None
            task_id = self._insert_task(conn, profile, "schedule", slot, now, None)
            if note:
                self._log(conn, task_id, now, note)
            return self._get(conn, task_id)

    def _ensure_profile_row(self, conn: Connection, profile: str, now: datetime) -> None:
        exists = conn.execute(sa.select(t.profiles.c.name).where(t.profiles.c.name == profile)).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.profiles.insert().values(name=profile, updated_at=naive(now)))
            except sa.exc.IntegrityError:
                pass  # another process inserted it first: the row exists, which is all we need

    # -- starting ----------------------------------------------------------------------------------

    def start(self, task_id: int, now: datetime, owner: str, misfire_grace: int | None,
              build_queue: Callable[[], Iterable[QueueEntry]], export_path: Callable[[Task], str | None],
              lease: timedelta, duplicate_note: Callable[[str | None], str] | None = None) -> Task | None:
        """Start a due pending task: missed, error, or running with its queue built.

        With `duplicate_note`, items whose reference an earlier item of the queue has are marked
        with duplicate_note(payload of that first item) in their detail. Returns None when the
        task is no longer pending or another process is starting it. A FatalTaskError from
        `build_queue` marks the task error with its message."""
        try:
            return self._start(task_id, now, owner, misfire_grace, build_queue, export_path, lease,
                               duplicate_note)
        except FatalTaskError as exc:
            return self._fail_pending(task_id, now, str(exc))

    def _start(self, task_id, now, owner, misfire_grace, build_queue, export_path, lease, duplicate_note):
        profile = self.get(task_id).profile
        with self.engine.begin() as conn:  # its own transaction: racing inserts must not deadlock
            self._ensure_profile_row(conn, profile, now)
        with self.engine.connect() as conn, conn.begin():
            conn.execute(sa.select(t.profiles.c.name).where(t.profiles.c.name == profile)
                         .with_for_update())  # serialises starts of one profile across daemons
            task = self._lock(conn, task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                return None
            late = self._too_late(task, now, misfire_grace)
            if late:
                return self._transition(conn, task, TaskStatus.MISSED, now, late)
            sibling = self._running_sibling(conn, task)
            if sibling is not None:
                why = f"task {sibling} of profile {task.profile} was still running"
                return self._transition(conn, task, TaskStatus.MISSED, now, why)
            total = self._insert_queue(conn, task_id, build_queue())
            if duplicate_note is not None:
                self._mark_duplicates(conn, task_id, duplicate_note)
            conn.execute(t.tasks.update().where(TASK.id == task_id).values(
                total=total, pending=total, export_path=export_path(task), owner=owner))
            self._log(conn, task_id, now, action_log.started(total, task.batch_size))
            return self._transition(conn, self._get(conn, task_id), TaskStatus.RUNNING, now, None)

    def _lock(self, conn: Connection, task_id: int, skip_locked: bool = True) -> Task | None:
        try:
            return self._get(conn, task_id, lock=True, skip_locked=skip_locked)
        except TaskNotFound:
            return None

    @staticmethod
    def _too_late(task: Task, now: datetime, grace: int | None) -> str | None:
        """Why a scheduled task is too late to start (a task queued by hand has no slot to miss)."""
        if grace is None or task.trigger != "schedule":
            return None
        if now - task.scheduled_at <= timedelta(seconds=grace):
            return None
        late = int((now - task.scheduled_at).total_seconds())
        return f"too late for the schedule: {late} s after its slot, misfire_grace is {grace} s"

    @staticmethod
    def _running_sibling(conn: Connection, task: Task) -> int | None:
        return conn.execute(sa.select(TASK.id).where(
            TASK.profile == task.profile, TASK.status == TaskStatus.RUNNING.value, TASK.id != task.id,
        ).order_by(TASK.id).limit(1)).scalar()

    @staticmethod
    def _insert_queue(conn: Connection, task_id: int, entries: Iterable[QueueEntry]) -> int:
        """Bulk-insert the queue in chunks; returns its length. Positions start at 1."""
        total, it = 0, iter(entries)
        pending = ItemStatus.PENDING.value
        columns = ("task_id", "position", "product_id", "combination_id", "reference", "name", "status",
                   "payload")
        while chunk := list(islice(it, QUEUE_CHUNK)):
            driver.insert_rows(conn, t.items, columns, [
                (task_id, total + i, e.product_id, e.combination_id, e.reference, e.name, pending, e.payload)
                for i, e in enumerate(chunk, start=1)
            ])
            total += len(chunk)
        return total

    @staticmethod
    def _mark_duplicates(conn: Connection, task_id: int, note: Callable[[str | None], str]) -> None:
        """The database finds repeated references (a feed of a million rows need not fit in memory)."""
        firsts = dict(conn.execute(sa.select(ITEM.reference, sa.func.min(ITEM.position)).where(
            ITEM.task_id == task_id, ITEM.reference.is_not(None),
        ).group_by(ITEM.reference).having(sa.func.count() > 1)).all())
        refs = list(firsts)
        for i in range(0, len(refs), 1000):
            chunk = refs[i:i + 1000]
            rows = conn.execute(sa.select(ITEM.position, ITEM.reference, ITEM.payload).where(
                ITEM.task_id == task_id, ITEM.reference.in_(chunk))).all()
            first_payload = {r.reference: r.payload for r in rows if r.position == firsts[r.reference]}
            marks = [{"p": r.position, "d": note(first_payload[r.reference])}
                     for r in rows if r.position != firsts[r.reference]]
            if marks:
                conn.execute(t.items.update().where(
                    ITEM.task_id == task_id, ITEM.position == sa.bindparam("p"),
                ).values(detail=sa.bindparam("d")), marks)

    def _fail_pending(self, task_id: int, now: datetime, reason: str) -> Task | None:
        return self._fail(task_id, now, reason, TaskStatus.PENDING)

    def _fail(self, task_id: int, now: datetime, reason: str, expected: TaskStatus) -> Task | None:
        """expected -> error with `reason` (logged); the task as it stands if it is no longer
        `expected` (or None if it is gone)."""
        with self.engine.connect() as conn, conn.begin():
            task = self._lock(conn, task_id)
            if task is None or task.status is not expected:
                return task
            self._log(conn, task_id, now, f"error: {reason}", level="error")
            return self._transition(conn, task, TaskStatus.ERROR, now, reason)

    # -- processing --------------------------------------------------------------------------------

    def claim(self, task_id: int, owner: str, now: datetime, lease: timedelta) -> Attempt | None:
        """Take a running task for one batch and record the attempt (committed) before any work;
        None when it is not ours to process (finished, deleted, locked by another process, or
        owned by a live one). See tasks.attempts for what the record is for."""
        with self.engine.connect() as conn, conn.begin():
            task = self._lock(conn, task_id)
            if task is None or task.status is not TaskStatus.RUNNING:
                return None
            other = task.owner not in (None, owner)
            gone = other and owner_gone(task.owner, task.lease_until, now)
            if other and busy(task.lease_until, now) and not gone:
                return None  # another process is in the middle of a batch
            attempt = attempts.plan(task, owner, gone)
            if attempt.restarted:
                line = action_log.restarted(attempt.position, task.progress.total)
                if attempt.died_here:
                    line += action_log.died_in_batch(attempt, task.attempt_end)
                self._log(conn, task_id, now, line, level="warning")
            conn.execute(t.tasks.update().where(TASK.id == task_id).values(
                owner=owner, lease_until=naive(now + lease), attempt_position=attempt.position,
                attempt_end=attempt.end, restarts=attempt.restarts, suspect_until=attempt.suspect_until))
            return attempt

    @contextmanager
    def locked_batch(self, task_id: int, owner: str, attempt: Attempt,
                     items: list[Item] | None = None) -> Iterator[Batch | None]:
        """The claimed batch with the task row locked while the caller works: everything the Batch
        writes commits when the block exits normally and rolls back if it raises. None when the
        task was killed or deleted since the claim. `items`: the batch's items as planning read
        them (still the same: only a batch of their owner, or a kill, changes pending items)."""
        with self._claimed(task_id, owner, attempt) as claimed:
            if claimed is None:
                yield None
                return
            conn, task = claimed
            if items is None:
                items = self._pending_items(conn, task, attempt.end)
            yield Batch(conn, task, items, self, attempt)

    @contextmanager
    def planning(self, task_id: int, owner: str, attempt: Attempt) -> Iterator[Planning | None]:
        """The claimed batch, to plan before its effects are applied (heartbeat.beat): the task row
        is locked while the caller reads the saved plan or makes and saves a new one, and what it
        saved commits when the block exits normally. None when the task is no longer ours."""
        with self._claimed(task_id, owner, attempt) as claimed:
            yield None if claimed is None else Planning(self, *claimed, attempt)

    @contextmanager
    def _claimed(self, task_id: int, owner: str,
                 attempt: Attempt) -> Iterator[tuple[Connection, Task] | None]:
        """A transaction holding the claimed task's row lock: (connection, task), or None when the
        task is no longer ours to work on (killed, deleted, or taken over since the claim)."""
        with self.engine.connect() as conn, conn.begin():
            task = self._lock(conn, task_id, skip_locked=False)
            if (task is None or task.status is not TaskStatus.RUNNING or task.owner != owner
                    or task.handled_upto + 1 != attempt.position):
                yield None
            else:
                yield conn, task

    def _pending_items(self, conn: Connection, task: Task, end: int) -> list[Item]:
        rows = self.sql.pending_items.rows(conn, task_id=task.id, after=task.handled_upto, end=end)
        return list(map(Item._make, rows))

    def note(self, task_id: int, now: datetime, message: str, level: str = "info") -> None:
        """Add a line to a task's action log on its own, unless it would repeat the last line
        (a failure seen by every tick of a cron-driven `heartbeat tick` is noted once)."""
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(t.log.c.message).where(t.log.c.task_id == task_id)
                                .order_by(t.log.c.id.desc()).limit(1)).scalar()
            if last != message:
                self._log(conn, task_id, now, message, level)

    def unclaim(self, task_id: int, owner: str) -> None:
        """A batch we claimed was abandoned (it failed and will be retried): drop the lease, so no
        other process takes the abandonment for a crash."""
        with self.engine.begin() as conn:
            conn.execute(t.tasks.update().where(TASK.id == task_id, TASK.owner == owner).values(
                lease_until=None))

    def release(self, owner: str) -> int:
        """Give up every task `owner` holds (a clean stop), so the next process resumes quietly."""
        with self.engine.begin() as conn:
            return conn.execute(t.tasks.update().where(TASK.owner == owner).values(
                owner=None, lease_until=None)).rowcount

    def fail_running(self, task_id: int, now: datetime, reason: str) -> Task | None:
        """A running task that cannot continue becomes error; its pending items stay pending."""
        return self._fail(task_id, now, reason, TaskStatus.RUNNING)

    # -- user actions --------------------------------------------------------------------------------

    def kill(self, task_id: int, now: datetime, reason: str = "killed by user") -> Task:
        """pending|running -> killed; pending items become cancelled. Waits for a batch in progress."""
        with self.engine.connect() as conn, conn.begin():
            task = self._get(conn, task_id, lock=True)
            check_task_transition(task_id, task.status, TaskStatus.KILLED)
            return self._kill(conn, task, now, reason)

    def _kill(self, conn: Connection, task: Task, now: datetime, reason: str) -> Task:
        cancelled = conn.execute(t.items.update().where(
            ITEM.task_id == task.id, ITEM.position > task.handled_upto,
            ITEM.status == ItemStatus.PENDING.value,
        ).values(status=ItemStatus.CANCELLED.value, detail=reason)).rowcount
        conn.execute(t.tasks.update().where(TASK.id == task.id).values(
            cancelled=TASK.cancelled + cancelled, pending=TASK.pending - cancelled,
            handled_upto=task.progress.total, owner=None, lease_until=None))
        self._log(conn, task.id, now, f"{reason}: {cancelled} pending items cancelled", level="warning")
        return self._transition(conn, self._get(conn, task.id), TaskStatus.KILLED, now, reason)

    def delete(self, task_id: int, now: datetime) -> Task:
        """Remove a task with its items and log (a pending or running one is killed first).
        Returns the task as it was, so the caller can remove its files."""
        with self.engine.connect() as conn, conn.begin():
            task = self._get(conn, task_id, lock=True)
            if not task.status.finished:
                task = self._kill(conn, task, now, "killed by user before deletion")
            conn.execute(t.items.delete().where(ITEM.task_id == task_id))
            conn.execute(t.log.delete().where(t.log.c.task_id == task_id))
            conn.execute(t.tasks.delete().where(TASK.id == task_id))
            return task

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
                    conn.execute(t.items.delete().where(ITEM.task_id.in_(ids)))
                    conn.execute(t.log.delete().where(t.log.c.task_id.in_(ids)))
                    conn.execute(t.tasks.delete().where(TASK.id.in_(ids)))
            deleted += [Task.from_row(r) for r in rows]
            if len(rows) < chunk:
                return deleted

    # -- internals shared with Batch -------------------------------------------------------------

    def _transition(self, conn: Connection, task: Task, wanted: TaskStatus, now: datetime,
                    message: str | None) -> Task:
        """The only place a task's status changes."""
        check_task_transition(task.id, task.status, wanted)
        values = {"status": wanted.value, "message": message}
        if wanted is TaskStatus.RUNNING:
            values["started_at"] = naive(now)
        if wanted.finished:
            values.update(finished_at=naive(now), owner=None, lease_until=None)
        updated = conn.execute(t.tasks.update().where(
            TASK.id == task.id, TASK.status == task.status.value).values(**values))
        if updated.rowcount != 1:
            raise Refused(f"task {task.id} changed while it was being updated; try again")
        return self._get(conn, task.id)

    @staticmethod
    def _log(conn: Connection, task_id: int, now: datetime, message: str, level: str = "info") -> None:
        conn.execute(_LOG_LINE, {"task_id": task_id, "logged_at": naive(now), "level": level,
                                 "message": message})
