"""Export profile: queue the shop's products (or sales orders), write each as the platform's JSON.

Products are exported when they changed since this profile last sent them (a hash per product in
the sync state) unless the profile or the run says `full`. Orders are queued when they changed
since the previous completed export of the profile started, so an incremental run may well find
none: that completes with 0 items rather than failing as an empty source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from connectors.platform.export_format import (
    SIGNATURE_CHARS,
    changed_fields,
    deleted,
    encode_order,
    encode_product,
    record_signature,
)
from connectors.prestashop import PrestaShop
from connectors.prestashop.orders import OrderReader
from connectors.prestashop.shop import Problem
from core.errors import ConnectorError, FatalTaskError
from profiles.base import Processed, Worker, exports_dir, non_empty
from profiles.category_mapping import CategoryResolver
from profiles.export_guard import ExportThresholds, refusal, verdict
from tasks.models import Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

NOT_FOUND = "not found in shop (deleted after the task started)"
EXPORTED = "exported"
LOGGED = ("changed since", "deleted from the shop")  # the details of what the action log names
DRY_RUN_ACTION = "would export"  # a dry run's processed items: what a run would have sent
ORDERS_OVERLAP = timedelta(seconds=1)  # orders updated in the very second a run started: again


class ExportWorker(Worker):
    has_export_file = True

    def __init__(self, profile, config, records=None):
        super().__init__(profile, config, records)
        self.entity = profile.options.get("entity", "products")
        self.tracks_changes = self.entity == "products"
        self._shop: PrestaShop | None = None
        self.category_column: str | None = (profile.options.get("category_column")
                                            if self.tracks_changes else None)
        self._resolver: tuple[int | None, CategoryResolver] | None = None  # (task id, its resolver)
        self._facts_task: int | None = None  # the task the shop's facts were read for

    @property
    def shop(self) -> PrestaShop:
        if self._shop is None:
            self._shop = PrestaShop.from_connection(self.config.connections[self.profile.source])
        return self._shop

    def prepare_retry(self, task: Task) -> None:
        """A retry reads the same products from the shop now: the shop must answer."""
        self.shop.check()

    def build_queue(self, previous: Task | None = None, task: Task | None = None) -> Iterator[QueueEntry]:
        allow_empty = self.profile.options.get("allow_empty", False)
        if self.entity == "orders":
            orders = OrderReader(self.shop)
            orders.check()
            since = None
            if previous is not None and previous.started_at is not None:  # shop dates are local time
                since = shop_time(previous.started_at - ORDERS_OVERLAP)
            rows = orders.iter_queue(since)
            allow_empty = allow_empty or since is not None
        else:
            self.shop.check()
            rows = self.shop.iter_queue()
            if self.records is not None:
                forced = task is not None and task.options.get("force")
                rows = self._with_deleted(rows, self.records.sent.tracked(self.profile.name), not forced)
        return non_empty((QueueEntry(*row) for row in rows), allow_empty, self.profile.source)

    def _with_deleted(self, rows: Iterator[tuple], tracked: list[int],
                      guarded: bool = True) -> Iterator[tuple]:
        """The shop's products (ascending ids), then those this profile sent that the shop no
        longer has (found by walking both sorted lists once), to announce as deleted. `guarded`:
        the export guard (profiles.export_guard) looks at both before any deletion is queued and
        raises FatalTaskError, so the queue is never committed."""
        gone, known, offered = [], iter(tracked), 0
        next_known = next(known, None)
        for row in rows:
            offered += 1
            while next_known is not None and next_known < row[0]:
                gone.append(next_known)
                next_known = next(known, None)
            if next_known == row[0]:
                next_known = next(known, None)
            yield row
        while next_known is not None:
            gone.append(next_known)
            next_known = next(known, None)
        why = verdict(ExportThresholds.of(self.profile.options), len(tracked), offered, len(gone))
        if guarded and why:
            raise FatalTaskError(refusal(why, self.profile.name, len(gone)))
        references = self.records.sent.sent_references(self.profile.name, gone) if gone else {}
        for pid in gone:
            yield pid, 0, references.get(pid) or "", ""

    def _read(self, ids: list[int], problems: dict, at: datetime | None = None) -> dict[int, dict]:
        if self.entity == "orders":
            return OrderReader(self.shop).read_orders(ids)
        return self.shop.read_products(ids, problems, at)

    def resolver(self, task_id: int | None = None) -> CategoryResolver | None:
        """The category mapping of this profile's column (None without one), read from the state
        database once per task: a task exports with the mapping it started with (in this process)."""
        if self.category_column is None:
            return None
        if self._resolver is None or self._resolver[0] != task_id or task_id is None:
            if self.records is None:
                raise RuntimeError("an export with a category_column needs Heartbeat's records")
            resolver = CategoryResolver.load(self.records.categories, self.shop.facts.tree,
                                             self.profile.source, self.category_column,
                                             self.config.category_rules)
            self._resolver = (task_id, resolver)
        return self._resolver[1]

    def _categorised(self, record: dict, resolver: CategoryResolver | None) -> str | None:
        """Give `record` its platform category (before its combinations, as the schema lists it);
        the reason to skip it when the profile requires one and it resolves to none."""
        if resolver is None:
            return None
        resolved = resolver.resolve_record(record)
        if resolved is None and self.profile.options.get("category_required"):
            category = record.get("category")
            return resolver.mandatory(category["id"] if category else 0)
        combinations = record.pop("combinations")
        record["platform_category"] = resolved.as_json() if resolved is not None else None
        record["combinations"] = combinations
        return None

    def _encode(self, record: dict) -> bytes:
        return encode_order(record) if self.entity == "orders" else encode_product(record)

    def process(self, task: Task, items: list[Item], previous) -> Processed:
        problems: dict[int, Problem] = {}  # products not exported, or exported with notes
        at = shop_time(task.started_at)  # the specific prices current when the task started
        if self.entity == "products" and self._facts_task != task.id:  # a new task (in this process):
            self.shop.forget_facts()  # the shop's taxes, languages and categories as they are now
            self._facts_task = task.id
        try:
            records = self._read([i.product_id for i in items], problems, at)
        except ConnectorError:
            raise  # the shop is unreachable: the whole batch waits
        except Exception:  # some row cannot be read: find it by reading one at a time
            records = None
        full = self.profile.options.get("full") or task.options.get("full")
        resolver = self.resolver(task.id)
        result = Processed(outcomes=[])
        for item in items:
            try:
                outcome, record = self._export(item, records, problems, resolver, at)
                line = self._encode(record) if record is not None else None
            except ConnectorError:
                raise
            except Exception as exc:  # this one only; the batch goes on
                record = line = None
                outcome = Outcome(item.position, ItemStatus.ERROR, "none", _reason(exc))
            last = previous.get(item.product_id)
            if line is None and last is not None and outcome.detail == NOT_FOUND:  # sent before: gone now
                outcome, line = self._deleted(item, last, result)
            elif line is not None and self.tracks_changes:
                outcome, line = self._track(item, outcome, record, line, last, full, result)
            if line is not None:
                result.export_lines.append(line)
            result.outcomes.append(outcome)
        return dry(result) if task.options.get("dry_run") else result

    def logs_change(self, outcome: Outcome) -> bool:
        """The action log names the products a batch sends changed, or announces deleted (their
        details say which fields changed; change tracking keeps hashes, not old values)."""
        return outcome.action in (EXPORTED, DRY_RUN_ACTION) and (outcome.detail or "").startswith(LOGGED)

    def _deleted(self, item: Item, last: tuple, result: Processed) -> tuple[Outcome, bytes]:
        """Announce a product this profile sent that the shop no longer has, and stop tracking it."""
        result.forget.append(item.product_id)
        detail = f"deleted from the shop since task #{last[1]}: announced"
        line = encode_product(deleted(item.product_id, item.reference or None))
        return Outcome(item.position, ItemStatus.PROCESSED, "exported", detail), line

    @staticmethod
    def _track(item: Item, outcome: Outcome, record: dict, line: bytes, last: tuple | None,
               full: bool, result: Processed) -> tuple[Outcome, bytes | None]:
        """Skip a product unchanged since it was last sent (unless `full`); otherwise say what
        changed since then, record what is sent, and give its line. The line's SHA-256 decides
        "unchanged"; the per-field digests (`record_signature`, the same as `signature` of the
        line, taken only for a product sent) name what changed."""
        digest = hashlib.sha256(line).hexdigest()
        if last and last[0] == digest and not full:
            skipped = Outcome(item.position, ItemStatus.SKIPPED, "none", f"unchanged since task #{last[1]}")
            return skipped, None
        if last is not None and last[0] == digest and last[2] and len(last[2]) == SIGNATURE_CHARS:
            fields = last[2]  # the same bytes as last time (a full export): the same digests
        else:
            fields = record_signature(record, line)
        result.sync[item.product_id], result.fields[item.product_id] = digest, fields
        if last is None:
            what = "first export"
        elif last[0] == digest:
            what = f"unchanged since task #{last[1]} (full export)"
        else:
            changed = changed_fields(last[2], fields)
            what = f"changed since task #{last[1]}" + (f": {', '.join(changed)}" if changed else "")
        detail = f"{what}; {outcome.detail}" if outcome.detail else what
        return outcome._replace(detail=detail), line

    def _export(self, item: Item, records: dict | None, problems: dict,
                resolver: CategoryResolver | None = None,
                at: datetime | None = None) -> tuple[Outcome, dict | None]:
        """The item's outcome and its record (None when it is not sent)."""
        if records is None:
            records = self._read([item.product_id], problems, at)
        record = records.get(item.product_id)
        problem = problems.get(item.product_id)
        if problem is not None and problem.error:
            return Outcome(item.position, ItemStatus.ERROR, "none", problem.error), None
        if record is None:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", NOT_FOUND), None
        mandatory = self._categorised(record, resolver)
        if mandatory is not None:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", mandatory), None
        notes = "; ".join(problem.notes) if problem is not None else None
        return Outcome(item.position, ItemStatus.PROCESSED, "exported", notes), record

    def pending(self, sent: Callable[[list[int]], dict[int, str]], tracked: list[int],
                chunk: int = 1000, now: datetime | None = None) -> dict[str, int]:
        """The seed's pending counts of this (products) profile: products new to it, changed since
        it sent them, deleted from the shop since, unchanged, and those it cannot send.
        `sent(ids)` gives the hashes it last sent; `tracked` every id it tracks. Reads the
        catalogue as an export does, a chunk at a time; "invalid" counts the
        products it cannot send (a value the export format refuses, or no category where the
        profile requires one). `now` decides which specific prices are current."""
        counts = dict.fromkeys(("new", "changed", "unchanged", "deleted", "invalid"), 0)
        known = set(tracked)
        in_shop: set[int] = set()
        ids = [pid for pid, *_ in self.shop.iter_queue()]
        resolver = self.resolver()
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            in_shop.update(part)
            problems: dict = {}
            records = self.shop.read_products(part, problems, shop_time(now))
            hashes = sent([pid for pid in part if pid in known])
            for pid in part:
                if pid not in records or self._categorised(records[pid], resolver) is not None:
                    counts["invalid"] += 1
                elif pid not in hashes:
                    counts["new"] += 1
                else:
                    digest = hashlib.sha256(encode_product(records[pid])).hexdigest()
                    counts["unchanged" if digest == hashes[pid] else "changed"] += 1
        counts["deleted"] = len(known - in_shop)
        return counts

    def export_path(self, task: Task) -> str | None:
        """Where the task's export file goes; None for a dry run, which writes none."""
        if task.options.get("dry_run"):
            return None
        return str(exports_dir(self.profile, self.config) / f"{self.profile.name}-task-{task.id}.json")

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop = None


def dry(result: Processed) -> Processed:
    """A dry run's batch: the same outcomes, saying what a run would send ("would export"), and
    nothing to write, to track or to forget: no export file, no change-tracking update, no delivery."""
    outcomes = [o._replace(action=DRY_RUN_ACTION) if o.action == "exported" else o for o in result.outcomes]
    return Processed(outcomes=outcomes)


def shop_time(moment: datetime | None) -> datetime | None:
    """An aware time as the shop's dates are written: local time, naive (PrestaShop's DATETIMEs)."""
    return moment.astimezone().replace(tzinfo=None) if moment is not None else None


def _reason(exc: Exception) -> str:
    """One line for the report: the exception's type and the first line of its message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
