"""The limit's state-database work: the product's own tables (hb_tasks, hb_items, hb_log) written
with plain SQL, in the fewest statements a crash-safe, single-process runner needs.

Per batch, in one transaction: lock the task row, read the next `batch_size` pending items, mark
them (one UPDATE per group of equal outcomes, one per item naming a matched product, as the
product does), record what an export sent in the change-tracking table (hb_sync_state), update the
counters, the handled position and the export offset, append the batch's log line, complete the
task on its last batch, commit. Left out on purpose, as they are the product's own bookkeeping and
not data a user sees: polling for due and running tasks, owner/lease and attempt records (several
daemons, crash detection), saved import plans, re-reading the task after writing.
Rows are written as the product writes them, so `heartbeat tasks show` can read them; columns and
tables a product version does not have yet (payload, hb_sync_state) are left out, found at connect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bench.sql import Db

QUEUE_CHUNK = 5000  # rows per INSERT while building a queue, as tasks/store.py
TASK_COLUMNS = ("id, profile, batch_size, total, pending, processed, skipped, error, handled_upto, "
                "batches, work_seconds, export_path, export_bytes, created_at")


@dataclass
class TaskRow:
    id: int
    profile: str
    batch_size: int
    total: int
    pending: int
    processed: int
    skipped: int
    error: int
    handled_upto: int
    batches: int
    work_seconds: float
    export_path: str | None
    export_bytes: int
    created_at: object


class RawState:
    def __init__(self, db: Db):
        self.db = db
        self.has_payload = "payload" in self._columns("hb_items")
        self.has_sync = bool(self._columns("hb_sync_state"))

    def _columns(self, table: str) -> set[str]:
        if self.db.mysql:
            self.db.cur.execute("SELECT column_name FROM information_schema.columns "
                                "WHERE table_schema = DATABASE() AND table_name = %s", (table,))
            names = {r[0] for r in self.db.cur.fetchall()}
            self.db.commit()
            return names
        self.db.cur.execute(f"PRAGMA table_info({table})")
        return {r[1] for r in self.db.cur.fetchall()}

    def create(self, profile: str, kind: str, batch_size: int, now: datetime) -> int:
        """A pending task (what `heartbeat profiles run` does); committed."""
        db = self.db
        db.begin()
        db.cur.execute(db.sql(
            "INSERT INTO hb_tasks (profile, kind, status, triggered_by, created_at, scheduled_at, "
            "batch_size) VALUES (?, ?, 'pending', 'manual', ?, ?, ?)"),
            (profile, kind, db.ts(now), db.ts(now), batch_size))
        task_id = db.cur.lastrowid
        db.commit()
        return task_id

    def start(self, task_id: int, entries: Iterable[tuple], export_path: str | None,
              batch_size: int, now: datetime, duplicates: bool = False) -> int:
        """Build the queue from `entries` (product_id, combination_id, reference, name, payload) and
        mark the task running, in one transaction; with `duplicates`, items repeating an earlier
        item's reference are marked skipped. Returns the number of items."""
        db = self.db
        db.begin()
        db.cur.execute(db.sql("SELECT status FROM hb_tasks WHERE id = ?" + db.for_update), (task_id,))
        # Every value a placeholder: only then does pymysql send a chunk as one multi-row INSERT.
        columns = "task_id, position, product_id, combination_id, reference, name, status"
        columns += ", payload" if self.has_payload else ""
        insert = db.sql(f"INSERT INTO hb_items ({columns}) VALUES "
                        f"({', '.join(['?'] * (8 if self.has_payload else 7))})")
        total, chunk = 0, []
        for entry in entries:
            total += 1
            row = (task_id, total, *entry[:4], "pending")
            chunk.append((*row, entry[4] if len(entry) > 4 else None) if self.has_payload else row)
            if len(chunk) == QUEUE_CHUNK:
                db.cur.executemany(insert, chunk)
                chunk = []
        if chunk:
            db.cur.executemany(insert, chunk)
        if duplicates:
            self._mark_duplicates(task_id)
        db.cur.execute(db.sql(
            "UPDATE hb_tasks SET total = ?, pending = ?, export_path = ?, status = 'running', "
            "started_at = ? WHERE id = ? AND status = 'pending'"),
            (total, total, export_path, db.ts(now), task_id))
        self._log(task_id, now, [f"task started: {total} items queued, batch size {batch_size}"])
        db.commit()
        return total

    def _mark_duplicates(self, task_id: int) -> None:
        db = self.db
        db.cur.execute(db.sql("SELECT reference, MIN(position) FROM hb_items WHERE task_id = ? AND "
                              "reference IS NOT NULL GROUP BY reference HAVING COUNT(*) > 1"), (task_id,))
        for reference, first in db.cur.fetchall():
            note = f"duplicate reference in feed (first at item {first})"
            db.cur.execute(db.sql("UPDATE hb_items SET detail = ? WHERE task_id = ? AND reference = ? "
                                  "AND position > ?"), (note, task_id, reference, first))

    def lock(self, task_id: int) -> TaskRow:
        """The task row, locked for the batch (the caller has begun the transaction)."""
        db = self.db
        db.cur.execute(db.sql(f"SELECT {TASK_COLUMNS} FROM hb_tasks WHERE id = ?" + db.for_update),
                       (task_id,))
        return TaskRow(*db.cur.fetchone())

    def pending_items(self, task: TaskRow) -> list[tuple]:
        """(position, product_id, combination_id, reference, name, payload, detail) of the next batch."""
        db = self.db
        payload = "payload" if self.has_payload else "NULL"
        db.cur.execute(db.sql(
            f"SELECT position, product_id, combination_id, reference, name, {payload}, detail "
            "FROM hb_items WHERE task_id = ? AND position > ? ORDER BY position LIMIT ?"),
            (task.id, task.handled_upto, task.batch_size))
        return db.cur.fetchall()

    def sync_state(self, profile: str, product_ids: list[int]) -> dict[int, str]:
        """What `profile` last sent of these products: {product_id: hash} (empty without the table)."""
        if not self.has_sync or not product_ids:
            return {}
        db = self.db
        db.cur.execute(db.sql(f"SELECT product_id, hash FROM hb_sync_state WHERE profile = ? AND "
                              f"product_id IN ({db.marks(len(product_ids))})"), (profile, *product_ids))
        return dict(db.cur.fetchall())

    def record_sync(self, task: TaskRow, sent: dict[int, str], known: set[int], now: datetime) -> None:
        """Remember the hash of every product sent (inside the batch's transaction)."""
        if not self.has_sync or not sent:
            return
        db, at = self.db, self.db.ts(now)
        updates = [(h, task.id, at, task.profile, pid) for pid, h in sent.items() if pid in known]
        inserts = [(task.profile, pid, h, task.id, at) for pid, h in sent.items() if pid not in known]
        if updates:
            db.cur.executemany(db.sql("UPDATE hb_sync_state SET hash = ?, task_id = ?, sent_at = ? "
                                      "WHERE profile = ? AND product_id = ?"), updates)
        if inserts:
            db.cur.executemany(db.sql("INSERT INTO hb_sync_state (profile, product_id, hash, task_id, "
                                      "sent_at) VALUES (?, ?, ?, ?, ?)"), inserts)

    def commit_batch(self, task: TaskRow, outcomes: list[tuple], seconds: float, now: datetime,
                     export_bytes: int | None, last: bool) -> None:
        """Record `outcomes` (position, status, action, detail[, product_id]) and commit."""
        db = self.db
        self._write_outcomes(task.id, outcomes)
        counts = {"processed": 0, "skipped": 0, "error": 0}
        for o in outcomes:
            counts[o[1]] += 1
        lines = [f"batch {task.batches + 1}: {len(outcomes)} items in {seconds:.2f} s "
                 f"({_rate(len(outcomes), seconds)}): {_counts(counts)}"]
        sets = ("pending = pending - ?, processed = processed + ?, skipped = skipped + ?, "
                "error = error + ?, handled_upto = ?, batches = batches + 1, "
                "work_seconds = work_seconds + ?, export_bytes = ?")
        params: list = [len(outcomes), counts["processed"], counts["skipped"], counts["error"],
                        outcomes[-1][0], seconds,
                        task.export_bytes if export_bytes is None else export_bytes]
        if last:
            summary = _summary(task, counts, task.work_seconds + seconds)
            lines.append(summary)
            sets += ", status = 'completed', finished_at = ?, message = ?, owner = NULL, lease_until = NULL"
            params += [db.ts(now), summary]
        db.cur.execute(db.sql(f"UPDATE hb_tasks SET {sets} WHERE id = ? AND status = 'running'"),
                       (*params, task.id))
        self._log(task.id, now, lines)
        db.commit()

    def _write_outcomes(self, task_id: int, outcomes: list[tuple]) -> None:
        db = self.db
        groups: dict[tuple, list[int]] = defaultdict(list)
        singles, matched = [], []
        for position, status, action, detail, *product_id in outcomes:
            if product_id:
                matched.append((status, action, detail, product_id[0], task_id, position))
            else:
                groups[(status, action, detail)].append(position)
        for (status, action, detail), positions in groups.items():
            if len(positions) == 1:
                singles.append((status, action, detail, task_id, positions[0]))
                continue
            db.cur.execute(db.sql(
                "UPDATE hb_items SET status = ?, action = ?, detail = ? WHERE task_id = ? "
                f"AND position IN ({db.marks(len(positions))})"),
                (status, action, detail, task_id, *positions))
        if singles:
            db.cur.executemany(db.sql("UPDATE hb_items SET status = ?, action = ?, detail = ? "
                                      "WHERE task_id = ? AND position = ?"), singles)
        if matched:
            db.cur.executemany(db.sql("UPDATE hb_items SET status = ?, action = ?, detail = ?, "
                                      "product_id = ? WHERE task_id = ? AND position = ?"), matched)

    def _log(self, task_id: int, now: datetime, lines: list[str]) -> None:
        db = self.db
        db.cur.executemany(db.sql("INSERT INTO hb_log (task_id, logged_at, level, message) "
                                  "VALUES (?, ?, ?, ?)"),
                           [(task_id, db.ts(now), "info", line) for line in lines])


def _rate(items: int, seconds: float) -> str:
    return f"{items / seconds:.0f} items/s" if seconds > 0 else "- items/s"


def _counts(c: dict[str, int]) -> str:
    return f"{c['processed']} processed, {c['skipped']} skipped, {c['error']} errors"


def _summary(task: TaskRow, batch: dict[str, int], work_seconds: float) -> str:
    after = {k: getattr(task, k) + batch[k] for k in batch}
    handled = sum(after.values())
    return (f"completed: {task.total} items ({_counts(after)}) in {task.batches + 1} batches, "
            f"{work_seconds:.2f} s of work, {_rate(handled, work_seconds)} on average")
