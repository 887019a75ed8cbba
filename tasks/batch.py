"""One batch of a running task, inside the transaction that holds its row lock (TaskStore).

A batch with effects outside the state database is planned first (`Planning`, TaskStore.plan), in a
transaction of its own that commits before any effect is applied. The work itself gets a `Batch`
(TaskStore.commit_batch) and returns a `BatchResult`: item outcomes, counters, log lines, the
export-file offset and the sync state land in that one transaction, or none of them do.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import driver
from core.errors import IllegalTransition
from tasks import rows
from tasks import tables as t
from tasks.guard import guarded
from tasks.models import Finding, Item, Outcome, Progress, Task
from tasks.recovery import Attempt, poisoned_batch
from tasks.statements import Statements
from tasks.states import ITEM_OUTCOMES, ItemStatus, TaskStatus
from tasks.stores import totals
from tasks.stores import uploads as deliveries
from tasks.stores.outbox import Subscriptions

TASK = t.tasks.c
# an item status (a member or its text) -> its text, as stored: much cheaper than member.value
_TEXT = {s: s.value for s in ItemStatus}
_PENDING = ItemStatus.PENDING.value


@dataclass(frozen=True)
class SyncUpdate:
    """What an export sent, for change tracking: {product_id: hash}, which of those products the
    profile had sent before (their rows are updated, the others inserted), and a digest per field
    of each ({product_id: signature}, to tell what changed next time)."""

    profile: str
    sent: dict[int, str]
    known: frozenset[int]
    fields: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """What the work on a batch gives back to commit (built with keywords)."""

    outcomes: list[Outcome]  # one per item, in position order
    seconds: float  # the work's duration
    log_lines: list[str | tuple[str, str]] = field(default_factory=list)  # text, or (level, text)
    export_bytes: int | None = None  # the export file's new committed length (None: no export file)
    sync: SyncUpdate | None = None  # change tracking
    keep_plan: bool = False  # the saved plan still covers items after this batch
    ended_at: datetime | None = None  # when the work ended: the time its lines, and a completion,
    # carry (None: the `now` given to commit_batch)
    new_batch: bool = True  # False for a chunk of a redo after the first: a heartbeat's redo counts
    # as one batch however many chunks it commits
    findings: list[Finding] = field(default_factory=list)  # a maintenance task's
    forget: dict[str, list[int]] = field(default_factory=dict)  # tracking rows to drop: {profile: ids}
    deliver_to: str | None = None  # the http connection the export file goes to once the task completes


class Batch:
    """The claimed batch as its work sees it: the task, its items, the attempt."""

    def __init__(self, conn: Connection, sql: Statements, task: Task, items: list[Item], attempt: Attempt,
                 notify: Subscriptions):
        self._conn, self._sql = conn, sql
        self.task, self.items, self.attempt = task, items, attempt
        self.notify = notify  # the deliveries its completion writes (tasks.stores.outbox)

    @property
    def poisoned(self) -> bool:
        """True when this batch is the single item that has killed its process too often."""
        return poisoned_batch(self.attempt, [i.position for i in self.items])

    @property
    def last(self) -> bool:
        """True when this batch handles every item still pending."""
        return len(self.items) >= self.task.progress.pending

    @guarded
    def sync_state(self, product_ids: list[int]) -> dict[int, tuple[str, int, str | None]]:
        """What this task's profile last sent of these products: {product_id: (hash, task_id,
        signature or None)}."""
        if not product_ids:
            return {}
        found = self._sql.sync_state.rows(self._conn, profile=self.task.profile, ids=product_ids)
        return {pid: (h, task_id, fields) for pid, h, task_id, fields in found}

    def commit(self, result: BatchResult, now: datetime, summary: Callable[[Task], str]) -> Task:
        """Record the outcome of every item; when none is left pending, complete the task with the
        closing `summary(task)` (logged, and its message), and schedule its export file's delivery if
        `result.deliver_to` names a connection. The saved plan is dropped unless
        `result.keep_plan`. Returns the task as it now stands."""
        outcomes = result.outcomes
        self._check(outcomes)
        now = result.ended_at or now
        if result.sync is not None:
            self._record_sync(result.sync, now)
        counts = Counter(_TEXT[o.status] for o in outcomes)
        self._write_outcomes(outcomes)
        for profile, product_ids in result.forget.items():
            self._conn.execute(t.sync_state.delete().where(t.sync_state.c.profile == profile,
                                                           t.sync_state.c.product_id.in_(product_ids)))
        if result.findings:
            driver.insert_rows(self._conn, t.findings, ("task_id", "position", "pattern", "record", "fixed"),
                               [(self.task.id, *finding) for finding in result.findings])
        values = {s: getattr(TASK, s) + n for s, n in counts.items()}
        values.update(
            pending=TASK.pending - len(outcomes), handled_upto=outcomes[-1].position if outcomes
            else self.task.handled_upto, batches=TASK.batches + (1 if outcomes and result.new_batch else 0),
            work_seconds=TASK.work_seconds + result.seconds,
            lease_until=None,  # not busy: the next batch goes to whichever daemon claims it first
        )
        if not result.keep_plan:
            values.update(plan=None, plan_position=0)
        if result.export_bytes is not None:
            values["export_bytes"] = result.export_bytes
        self._conn.execute(t.tasks.update().where(TASK.id == self.task.id).values(**values))
        if outcomes:
            totals.add_batch(self._conn, self.task.profile, counts, result.seconds, result.new_batch)
        rows.write_logs(self._conn, self.task.id, now, result.log_lines)
        if self.task.progress.pending > len(outcomes):  # the row as it now stands, without reading it
            return self._updated(counts, result)
        task = rows.read_task(self._conn, self.task.id)
        if task.progress.pending == 0:
            closing = summary(task)
            rows.write_log(self._conn, task.id, now, closing)
            task = rows.transition(self._conn, task, TaskStatus.COMPLETED, now, closing, self.notify)
            if result.deliver_to is not None:
                deliveries.schedule(self._conn, task.id, result.deliver_to, now)
        return task

    def _updated(self, counts: Counter, result: BatchResult) -> Task:
        """The task as `commit` left it (the row is locked by this transaction since it was read:
        nobody else changed it). Its work_seconds are this process's sum, which a MariaDB FLOAT
        column stores less precisely; a completion reads the row back, for its summary."""
        task, outcomes = self.task, result.outcomes
        p = task.progress
        progress = Progress(p.total, p.pending - len(outcomes), p.processed + counts["processed"],
                            p.skipped + counts["skipped"], p.cancelled, p.error + counts["error"])
        batches = task.batches + (1 if outcomes and result.new_batch else 0)
        changed = {"progress": progress, "batches": batches,
                   "handled_upto": outcomes[-1].position if outcomes else task.handled_upto,
                   "work_seconds": task.work_seconds + result.seconds, "lease_until": None}
        if result.export_bytes is not None:
            changed["export_bytes"] = result.export_bytes
        if not result.keep_plan:
            changed["plan_position"] = 0
        return dataclasses.replace(task, **changed)

    def _check(self, outcomes: list[Outcome]) -> None:
        positions = [o.position for o in outcomes]
        if positions != [i.position for i in self.items]:
            raise ValueError("a batch must give exactly one outcome per item, in position order")
        bad = {o.status for o in outcomes} - ITEM_OUTCOMES
        if bad:
            raise ValueError(f"not an outcome of processing: {', '.join(map(str, bad))}")

    def _record_sync(self, sync: SyncUpdate, now: datetime) -> None:
        at, task_id, profile, fields = now.replace(tzinfo=None), self.task.id, sync.profile, sync.fields
        known = [(h, task_id, at, fields.get(pid), profile, pid) for pid, h in sync.sent.items()
                 if pid in sync.known]
        driver.update_rows(self._conn, t.sync_state, ("hash", "task_id", "sent_at", "fields"),
                           ("profile", "product_id"), known)
        driver.insert_rows(self._conn, t.sync_state,
                           ("profile", "product_id", "hash", "task_id", "sent_at", "fields"),
                           [(profile, pid, h, task_id, at, fields.get(pid)) for pid, h in sync.sent.items()
                            if pid not in sync.known])

    def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        """Outcomes sharing status, action and detail (the common case: "exported") go in one
        UPDATE per group; the rest, and those naming a matched product, one row each. Every write
        is of a pending item (the item table: pending -> an outcome, outcomes are final); an item
        found otherwise raises IllegalTransition and the batch rolls back."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        singles = []
        for o in outcomes:
            if o.product_id is None:
                groups[(_TEXT[o.status], o.action, o.detail)].append(o.position)
            else:
                singles.append(o)
        written = 0
        for (status, action, detail), positions in groups.items():
            if len(positions) == 1:
                singles.append(Outcome(positions[0], status, action, detail))
                continue
            written += self._sql.mark_items.execute(self._conn, task_id=self.task.id, positions=positions,
                                                    status=status, action=action, detail=detail).rowcount
        plain = [(_TEXT[o.status], o.action, o.detail, self.task.id, o.position, _PENDING)
                 for o in singles if o.product_id is None]
        matched = [(_TEXT[o.status], o.action, o.detail, o.product_id, o.combination_id or 0, self.task.id,
                    o.position, _PENDING) for o in singles if o.product_id is not None]
        keys = ("task_id", "position", "status")
        written += driver.update_rows(self._conn, t.items, ("status", "action", "detail"), keys, plain)
        if matched and driver.set_based(self._conn):  # an import's: one round trip, not one per item
            written += driver.update_from_values(
                self._conn, t.items, ("status", "action", "detail", "product_id", "combination_id"),
                ("position",), [(*o[:5], o[6]) for o in matched],
                fixed={"task_id": self.task.id, "status": _PENDING})
        else:
            written += driver.update_rows(self._conn, t.items,
                                          ("status", "action", "detail", "product_id", "combination_id"),
                                          keys, matched)
        if written != len(outcomes):
            raise IllegalTransition(f"task {self.task.id}'s batch", "stale", "committed",
                                    f"{len(outcomes) - written} of its items are no longer pending "
                                    "and outcomes are final")


class Planning:
    """A claimed batch being planned, inside the transaction of TaskStore.plan."""

    def __init__(self, conn: Connection, sql: Statements, task: Task, attempt: Attempt):
        self._conn, self._sql = conn, sql
        self.task, self.attempt = task, attempt
        self.read_items: list[Item] | None = None  # once items() has read them

    @guarded
    def saved_plan(self) -> str | None:
        """The plan saved by an attempt that started at or before this one, if any (the caller
        asks tasks.recovery.covers whether it covers this batch)."""
        if not 0 < self.task.plan_position <= self.attempt.position:  # the locked row says: none
            return None
        return self._conn.execute(sa.select(TASK.plan).where(
            TASK.id == self.task.id, TASK.plan_position <= self.attempt.position, TASK.plan.is_not(None),
        )).scalar()

    @guarded
    def items(self) -> list[Item]:
        if self.read_items is None:
            self.read_items = self._sql.pending(self._conn, self.task, self.attempt.end)
        return self.read_items

    @guarded
    def save(self, plan: str) -> None:
        """Keep the plan until the batch commits (Batch.commit drops it)."""
        self._conn.execute(t.tasks.update().where(TASK.id == self.task.id).values(
            plan_position=self.attempt.position, plan=plan))
