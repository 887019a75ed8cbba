"""One batch of a running task, inside the transaction that holds its row lock.

The caller reads `task` and `items`, does the work, then calls `commit` once: item outcomes,
counters, log lines and the export-file offset land in that one transaction, or none of them do.
A batch with effects outside the state database is planned first (`Planning`), in a transaction
of its own that commits before any effect is applied.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from heartbeat import driver
from reports import action_log
from tasks import tables as t
from tasks.attempts import Attempt
from tasks.models import Item, Outcome, Task
from tasks.states import ITEM_OUTCOMES, ItemStatus, TaskStatus

if TYPE_CHECKING:
    from tasks.store import TaskStore

TASK = t.tasks.c
ITEM = t.items.c
# an item status (a member or its text) -> its text, as stored: much cheaper than member.value
_TEXT = {s: s.value for s in ItemStatus}


class Batch:
    def __init__(self, conn: Connection, task: Task, items: list[Item], store: TaskStore,
                 attempt: Attempt):
        self._conn, self._store = conn, store
        self.task, self.items, self.attempt = task, items, attempt

    @property
    def poisoned(self) -> bool:
        """True when this batch is the single item that has killed the process too often."""
        return self.attempt.poisoned and [i.position for i in self.items] == [self.attempt.position]

    @property
    def last(self) -> bool:
        """True when this batch handles every item still pending."""
        return len(self.items) >= self.task.progress.pending

    def sync_state(self, profile: str, product_ids: list[int]) -> dict[int, tuple[str, int]]:
        """What `profile` last sent of these products: {product_id: (hash, task_id)}."""
        if not product_ids:
            return {}
        rows = self._store.sql.sync_state.rows(self._conn, profile=profile, ids=product_ids)
        return {pid: (h, task_id) for pid, h, task_id in rows}

    def _record_sync(self, profile: str, sent: dict[int, str], known: set[int], now: datetime) -> None:
        at, task_id = now.replace(tzinfo=None), self.task.id
        driver.update_rows(self._conn, t.sync_state, ("hash", "task_id", "sent_at"),
                           ("profile", "product_id"),
                           [(h, task_id, at, profile, pid) for pid, h in sent.items() if pid in known])
        driver.insert_rows(self._conn, t.sync_state, ("profile", "product_id", "hash", "task_id", "sent_at"),
                           [(profile, pid, h, task_id, at) for pid, h in sent.items() if pid not in known])

    def commit(self, outcomes: list[Outcome], now: datetime, seconds: float,
               log_lines: list[str | tuple[str, str]], export_bytes: int | None = None,
               sync: tuple[str, dict[int, str], set[int]] | None = None, keep_plan: bool = False) -> Task:
        """Record the outcome of every item of the batch; when none is left pending, complete the
        task with the closing summary (logged, and its message). `sync` is (profile,
        {product_id: hash} sent, product ids already known) for change tracking. The saved plan is
        dropped unless `keep_plan` (it still covers items after this batch). Returns the task as it
        now stands."""
        self._check(outcomes)
        if sync is not None:
            self._record_sync(*sync, now)
        counts = Counter(_TEXT[o.status] for o in outcomes)
        self._write_outcomes(outcomes)
        values = {s: getattr(TASK, s) + n for s, n in counts.items()}
        values.update(
            pending=TASK.pending - len(outcomes), handled_upto=outcomes[-1].position if outcomes
            else self.task.handled_upto, batches=TASK.batches + (1 if outcomes else 0),
            work_seconds=TASK.work_seconds + seconds,
            lease_until=None,  # not busy: the next batch goes to whichever daemon claims it first
        )
        if not keep_plan:
            values.update(plan=None, plan_position=0)
        if export_bytes is not None:
            values["export_bytes"] = export_bytes
        self._conn.execute(t.tasks.update().where(TASK.id == self.task.id).values(**values))
        for line in log_lines:  # a line, or (level, line)
            level, text = line if isinstance(line, tuple) else ("info", line)
            self._store._log(self._conn, self.task.id, now, text, level)
        task = self._store._get(self._conn, self.task.id)
        if task.progress.pending == 0:
            summary = action_log.summary(task, task.work_seconds)
            self._store._log(self._conn, task.id, now, summary)
            task = self._store._transition(self._conn, task, TaskStatus.COMPLETED, now, summary)
        return task

    def _check(self, outcomes: list[Outcome]) -> None:
        positions = [o.position for o in outcomes]
        if positions != [i.position for i in self.items]:
            raise ValueError("a batch must give exactly one outcome per item, in position order")
        bad = {o.status for o in outcomes} - ITEM_OUTCOMES
        if bad:
            raise ValueError(f"not an outcome of processing: {', '.join(map(str, bad))}")

    def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        """Outcomes sharing status, action and detail (the common case: "exported") go in one
        UPDATE per group; the rest, and those naming a matched product, one row each."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        singles = []
        for o in outcomes:
            if o.product_id is None:
                groups[(_TEXT[o.status], o.action, o.detail)].append(o.position)
            else:
                singles.append(o)
        for (status, action, detail), positions in groups.items():
            if len(positions) == 1:
                singles.append(Outcome(positions[0], status, action, detail))
                continue
            self._store.sql.mark_items.execute(self._conn, task_id=self.task.id, positions=positions,
                                               status=status, action=action, detail=detail)
        plain = [(_TEXT[o.status], o.action, o.detail, self.task.id, o.position)
                 for o in singles if o.product_id is None]
        matched = [(_TEXT[o.status], o.action, o.detail, o.product_id, o.combination_id or 0, self.task.id,
                    o.position) for o in singles if o.product_id is not None]
        keys = ("task_id", "position")
        driver.update_rows(self._conn, t.items, ("status", "action", "detail"), keys, plain)
        driver.update_rows(self._conn, t.items,
                           ("status", "action", "detail", "product_id", "combination_id"), keys, matched)


class Planning:
    """A claimed batch being planned, inside the transaction of TaskStore.planning."""

    def __init__(self, store: TaskStore, conn: Connection, task: Task, attempt: Attempt):
        self._store, self._conn = store, conn
        self.task, self.attempt = task, attempt
        self.read_items: list[Item] | None = None  # once items() has read them

    def saved_plan(self) -> str | None:
        """The plan saved by an attempt that started at or before this one, if any (the caller
        checks it covers this batch)."""
        return self._conn.execute(sa.select(TASK.plan).where(
            TASK.id == self.task.id, TASK.plan_position <= self.attempt.position, TASK.plan.is_not(None),
        )).scalar()

    def items(self) -> list[Item]:
        if self.read_items is None:
            self.read_items = self._store._pending_items(self._conn, self.task, self.attempt.end)
        return self.read_items

    def save(self, plan: str) -> None:
        """Keep the plan until the batch commits (Batch.commit clears it)."""
        self._conn.execute(t.tasks.update().where(TASK.id == self.task.id).values(
            plan_position=self.attempt.position, plan=plan))
