"""Maintenance profile: analyse or fix the integrity of a PrestaShop shop's products or orders (the
seed's maintenance jobs), a batch of records per heartbeat, like any task.

The records a task checks, what is wrong with each and the fixes are the scope's Checker
(connectors/prestashop/integrity). Each record is an item: processed with action "checked" when
clean, "found" with its findings, or "fixed" when the task's changes repaired some; every finding is
also recorded for the task's JSON result (`heartbeat tasks result`). A fix is planned like an import
batch (saved before anything is written, so a redo after a crash writes the same rows) and its
changes, whole before and after images, go into the task's undo file with the batch.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, replace

import structlog

from connectors.platform.export_format import UNDO_ENTITY
from connectors.prestashop import PrestaShop
from connectors.prestashop.integrity import CHECKERS, PRODUCTS, Change, Checker, Record, Rows
from connectors.prestashop.integrity.base import ANALYZE_REPEATED_IDS, FIX_REPEATED_IDS
from connectors.prestashop.integrity.renames import rename_repeated_reference
from core import jsontext
from core.errors import ConnectorError, FatalTaskError, MustWait, ProfileNotFound
from profiles import tracking_check as tracking
from profiles.base import Effect, Processed, Worker
from reports import undo_file
from reports.maintenance_result import NOT_CHECKED
from tasks.models import Finding, Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

log = structlog.get_logger()


class MaintenanceWorker(Worker):
    entity = UNDO_ENTITY

    def __init__(self, profile, config, records=None):
        super().__init__(profile, config, records)
        self.scope = profile.options["scope"]
        self.operation = profile.options["operation"]
        self.fixes = self.operation.startswith("fix-")
        self.has_side_effects = self.has_export_file = self.fixes  # a fix writes, and keeps an undo file
        self._shop: PrestaShop | None = None
        self._checker: Checker | None = None
        self._stale: list[Record] | None = None  # prepare(): the stale tracking rows to queue

    @property
    def shop(self) -> PrestaShop:
        if self._shop is None:
            self._shop = PrestaShop.from_connection(self.config.connections[self.profile.source])
        return self._shop

    @property
    def checker(self) -> Checker:
        if self._checker is None:
            self._checker = CHECKERS[self.scope](self.shop)
        return self._checker

    def prepare(self, task: Task, previous: Task | None) -> None:
        """Refuse an operation not available yet; find the stale tracking rows (outside the
        state database's transaction) when the operation checks Heartbeat's own records."""
        if self.operation not in available(self.scope):
            raise FatalTaskError(f"{self.scope} {self.operation} is not an available maintenance operation "
                                 "(see `heartbeat maintenance list`)")
        if self.fixes and self.records is not None:
            other = self._running_fix(task)
            if other is not None:
                raise MustWait(f"waiting: task {other.id} ({other.profile}) is fixing connection "
                               f"{self.profile.source}; one fix at a time, this one starts when it ends")
        self._stale = []
        if (self.scope, self.operation) in tracking.OPERATIONS:
            if self.records is None:
                raise FatalTaskError(f"{self.operation} reads Heartbeat's own records: run it as a task")
            self._stale = tracking.stale_records(self.records, self.config, self.profile.source, self.shop)

    def prepare_retry(self, task: Task) -> None:
        """A retry checks the same records again: the operation must still exist, no other fix may
        run on the connection, and the shop must answer."""
        if self.operation not in available(self.scope):
            raise FatalTaskError(f"{self.scope} {self.operation} is not an available maintenance operation")
        if self.fixes and self.store is not None and (other := self._running_fix(task)) is not None:
            raise FatalTaskError(f"task {other.id} ({other.profile}) is fixing connection "
                                 f"{self.profile.source}; one fix at a time: run this one when it ends")
        self.shop.check()

    def build_queue(self, previous: Task | None = None, task: Task | None = None):
        """Every record the operation checks: the checker's, then Heartbeat's tracking rows that
        prepare() found stale. A clean shop may have none (no repeated ids, say): that is a
        completed task, never the empty-source error."""
        self.shop.check()
        if self._stale is None:
            self.prepare(task, previous)
        records = self.checker.records(self._checker_operation) if self._checker_operation else iter(())
        for record in itertools.chain(records, self._stale):
            own = record.kind in ("product", "order")
            yield QueueEntry(record.id if own else 0, 0, record.label[:64], record.kind,  # the report's name
                             json.dumps(asdict(record), default=str))
        self._stale = None

    def _running_fix(self, task: Task | None) -> Task | None:
        """Another maintenance fix running on this connection (under any profile name)."""
        for other in self.records.list(status="running", limit=None):
            if other.kind != "maintenance" or (task is not None and other.id == task.id):
                continue
            try:
                profile = self.config.profile(other.profile)
            except ProfileNotFound:
                continue
            fixing = profile.options.get("operation", "").startswith("fix-")
            if fixing and profile.source == self.profile.source:
                return other
        return None

    @property
    def _checker_operation(self) -> str | None:
        """What the shop's checker runs for this operation (fix-repeated-ids reports the shop's
        repeated values as analyze-repeated-ids does: it changes only Heartbeat's own records)."""
        if self.operation == FIX_REPEATED_IDS:
            return ANALYZE_REPEATED_IDS
        return self.operation if self.operation in self.checker.patterns else None

    def process(self, task: Task, items: list[Item], previous) -> Processed:
        """Check a batch of records; if the batch cannot be checked (a value a check cannot read),
        each record is checked alone, and one that fails is an error item, not the batch."""
        records = [Record(**jsontext.loads(item.payload)) for item in items]
        result = Processed(outcomes=[])
        if items[0].position == 1:  # the task as a whole, once
            result.findings += [Finding(0, NOT_CHECKED, line[:255], False)
                                for line in self.checker.not_checked()]
        shop_records = [r for r in records if r.kind != tracking.KIND]
        try:
            per_shop_record = iter(self._check(shop_records) if shop_records else [])
        except ConnectorError:
            raise  # the shop is away: the batch waits
        except Exception:
            per_shop_record = iter([self._check_alone(record) for record in shop_records])
        state = [r for r in records if r.kind == tracking.KIND]
        per_state_record = iter(tracking.check(state, self.shop, self.fixes) if state else [])
        for item, record in zip(items, records, strict=True):
            found, writes = next(per_state_record if record.kind == tracking.KIND else per_shop_record)
            if isinstance(found, Exception):
                result.outcomes.append(Outcome(item.position, ItemStatus.ERROR, "none", _reason(found)))
                continue
            result.outcomes.append(_outcome(item, found))
            result.findings += [Finding(item.position, f.pattern, record.label[:255], f.fixed) for f in found]
            if isinstance(writes, dict):  # Heartbeat's own records: not the shop's, not undone
                result.effects.append(Effect(item.position, writes))
            elif writes:
                result.effects.append(Effect(item.position, [asdict(c) for c in writes]))
        return result

    def _check(self, records: list[Record]) -> list[tuple[list, list]]:
        """(findings, changes) of each record."""
        checked = self.checker.check(self._checker_operation, records)
        per_record = list(zip(checked.findings, checked.changes or [[] for _ in records], strict=True))
        if self.operation == FIX_REPEATED_IDS and self.profile.options.get("rename_repeated_references"):
            per_record = [self._rename(record, *pair) if record.pattern == "repeated_reference" else pair
                          for record, pair in zip(records, per_record, strict=True)]
        return per_record

    def _rename(self, record: Record, found: list, writes: list) -> tuple[list, list]:
        """A repeated reference made unique (renames.py), when the profile asks for it."""
        changes = rename_repeated_reference(self.shop, record.key["reference"], record.key["ids"])
        if changes:
            found = [replace(f, fixed=True) if f.pattern == "repeated_reference" else f for f in found]
        return found, [*writes, *changes]

    def _check_alone(self, record: Record) -> tuple:
        try:
            return self._check([record])[0]
        except ConnectorError:
            raise
        except Exception as exc:
            return exc, []

    def apply(self, effects: list[Effect], at: str) -> None:
        """Write a batch's planned changes in one shop transaction (again after a crash: the same
        rows, nothing more)."""
        changes = [Change(**c) for effect in effects if isinstance(effect.data, list) for c in effect.data]
        if changes:
            with self.shop._connect() as conn, conn.begin():
                skipped = Rows(conn).apply(changes)
            if skipped:  # rows someone changed since the plan read them: left alone, never overwritten
                log.warning("maintenance.rows_changed_since_plan", profile=self.profile.name, rows=skipped,
                            planned_at=at)

    def forgotten(self, effects: list[Effect]) -> dict[str, list[int]]:
        """Tracking rows a fix of Heartbeat's own records drops (with the batch, not in apply)."""
        forget: dict[str, list[int]] = {}
        for effect in effects:
            if isinstance(effect.data, dict):
                profile, product_id = effect.data["forget"]
                forget.setdefault(profile, []).append(product_id)
        return forget

    def effect_lines(self, effects: list[Effect]) -> list[str]:
        """The undo file's lines (reports/undo_file.py)."""
        return undo_file.lines(effects)

    def undo(self, changes: list[Change]) -> int:
        """Restore the rows `changes` wrote, in one transaction; Drifted (nothing restored) when a
        row is no longer what the fix left. Returns the rows restored."""
        with self.shop._connect() as conn, conn.begin():
            return Rows(conn).undo(changes)

    def export_path(self, task: Task) -> str | None:
        if not self.fixes:
            return None
        name = self.profile.name.replace(":", "-")  # an on-demand task's profile: maintenance:shop:...
        return str(self.config.data_dir / "undo" / f"{name}-task-{task.id}.json")

    @property
    def source_name(self) -> str:
        return self.profile.source

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop, self._checker = None, None


def available(scope: str) -> dict[str, tuple[str, ...]]:
    """The operations of `scope` implemented -> every pattern each reports (present with 0)."""
    checker = CHECKERS.get(scope)
    ops = dict(checker.patterns) if checker is not None else {}
    if scope == PRODUCTS and ANALYZE_REPEATED_IDS in ops:
        ops[FIX_REPEATED_IDS] = ops[ANALYZE_REPEATED_IDS]
    for op_scope, op in tracking.OPERATIONS:
        if op_scope == scope:
            ops[op] = (*ops.get(op, ()), *tracking.PATTERNS)
    ops.update({op: () for op_scope, op in tracking.NOTHING_TRACKED if op_scope == scope})
    return ops


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"cannot check this record: {type(exc).__name__}" + (f": {text}" if text else "")


def _outcome(item: Item, found: list) -> Outcome:
    if not found:
        return Outcome(item.position, ItemStatus.PROCESSED, "checked")
    action = "fixed" if any(f.fixed for f in found) else "found"
    detail = "; ".join(f"{f.pattern}: {f.detail}" + (" (fixed)" if f.fixed else "") for f in found)
    return Outcome(item.position, ItemStatus.PROCESSED, action, detail)
