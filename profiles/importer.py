"""Import profile: read a feed, update the shop's products and combinations, account for every row.

Each feed row is a queued item carrying its row (payload). A batch is planned first, reading the
shop: each row becomes processed (with the changes, `price: 10.00 -> 12.50`), skipped (unchanged,
not found in shop, duplicate, ambiguous) or error (a value that does not parse, with its line).
The heartbeat saves the plan, then `apply` writes it in one shop transaction. Writes set values and
never add to them, so applying a plan twice (a redo after a crash) changes nothing the second time.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.feeds import open_feed
from connectors.platform.export_format import MAX_NAME, MAX_REFERENCE, REPLACEMENT, format_decimal, shown
from connectors.prestashop import PrestaShop
from connectors.prestashop.integrity.values import ean13_problem
from connectors.prestashop.writer import (
    COMBINATION_UPDATABLE,
    ID_TEXT,
    ShopWriter,
    Target,
    Unreadable,
    to_decimal,
    to_quantity,
)
from core import jsontext
from core.errors import ConnectorError, FatalTaskError
from core.fields import control_character
from profiles.base import Effect, Processed, Worker, non_empty
from profiles.feed_guard import FeedGuard, Thresholds
from profiles.feed_history import FeedHistory, TaskFeed, fingerprint
from tasks.models import Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

_payload = jsontext.dumps  # a queued row
NOT_FOUND = "not found in shop"
UNCHANGED = "unchanged"
DRY_RUN_ACTION = "would update"  # a dry run's processed rows: what a run would have written
MAX_ROW = 60_000  # characters of a queued row (MariaDB's TEXT holds 65,535 bytes)
MAX_AMOUNT = Decimal("99999999999999.999999")  # PrestaShop's DECIMAL(20,6) columns
MAX_QUANTITY = 1_000_000_000  # INT columns, with room for physical = quantity + reserved
KEY_FIELDS = {  # match_by -> (the field keying a product row, the one keying a combination row)
    "reference": ("reference", "combination_reference"),
    "ean13": ("ean13", "combination_ean13"),
    "id": ("id_product", None),
}


class ImportWorker(Worker):
    has_side_effects = True
    change_actions = frozenset({"updated", DRY_RUN_ACTION})

    def __init__(self, profile, config, records=None):
        super().__init__(profile, config, records)
        self.match_by = profile.options.get("match_by", "reference")
        self.fields = tuple(profile.options.get("fields", ("price", "quantity", "active")))
        self._combination_fields = tuple(f for f in self.fields if f in COMBINATION_UPDATABLE)
        self._shop: PrestaShop | None = None
        self._writer: ShopWriter | None = None
        self._prepared: TaskFeed | None = None  # the feed prepare() fetched for a task

    @property
    def shop(self) -> PrestaShop:
        if self._shop is None:
            self._shop = PrestaShop.from_connection(self.config.connections[self.profile.target])
        return self._shop

    def _feed(self, local: str | None = None):
        """The feed, with the profile's header mapping (if any) over the connection's; read from
        `local` (a fetched copy) when given."""
        conn = self.config.connections[self.profile.source]
        options = {**conn.options, "type": conn.type}
        if self.profile.options.get("mapping"):
            options["mapping"] = {**(conn.options.get("mapping") or {}), **self.profile.options["mapping"]}
        return open_feed(options, conn.name, base_dir=self.config.path.parent, local=local)

    def prepare(self, task: Task, previous: Task | None) -> None:
        """Check the shop and fetch the feed for `task`, before its queue is built (outside the
        state database's transaction: a download may take a while). Raises SourceUnchanged for a
        feed identical to the one the last import read (not with --force); ConnectorError."""
        self.shop.check()  # the shop must answer before anything is queued
        conn = self.config.connections[self.profile.source]
        self._prepared = self._history.fetch(self._feed().source, conn.options, task, previous)

    def prepare_retry(self, task: Task) -> None:
        """A retry re-plans the original's stored rows: only the shop must answer (no feed is read)."""
        self.shop.check()

    def build_queue(self, previous: Task | None = None, task: Task | None = None):
        """The rows of the feed `prepare` fetched (fetched now if it was not), streamed. With a
        previous import, and unless the task was queued with --force, the suspicious-feed guard
        watches the rows and stops the task (FatalTaskError) before its first batch, so before
        anything is written (docs/dirty-data.md)."""
        feed = self._prepared
        if feed is None or task is None or feed.task_id != task.id:
            self.prepare(task, previous)
            feed = self._prepared
        self._prepared = None
        source = self._feed(feed.fetched.path)
        source.check()
        entries = (self._entry(row.line, row.fields, row.error) for row in source.rows())
        guard = None
        if previous is not None and not (task is not None and task.options.get("force")):
            guard = FeedGuard(Thresholds.of(self.profile.options), feed.since, feed.baseline,
                              self._feed_price, self._shop_prices if "price" in self.fields else None)
            entries = guard.watch(entries)
        entries = non_empty(entries, self.profile.options.get("allow_empty", False), self.profile.source)
        return self._queue(entries, guard, feed, task, previous)

    def _queue(self, entries, guard: FeedGuard | None, feed: TaskFeed, task: Task | None,
               previous: Task | None):
        count = 0
        for entry in entries:
            count += 1
            yield entry
        why = guard.verdict() if guard is not None else None
        if why:
            raise FatalTaskError(f"{why}; nothing was written. Check the feed, or run `heartbeat "
                                 f"profiles run {self.profile.name} --force` to import it once anyway")
        if task is not None and not task.options.get("dry_run"):  # a dry run imports nothing
            self._history.record(feed, count, previous)

    @functools.cached_property
    def _history(self) -> FeedHistory:
        conn = self.config.connections[self.profile.source]
        settings = {"source": self.profile.source, "target": self.profile.target, "type": conn.type,
                    **{k: conn.options.get(k) for k in ("delimiter", "quotechar", "encoding", "mapping")},
                    **{k: self.profile.options.get(k) for k in ("match_by", "fields", "mapping",
                                                                 "allow_negative_quantity")}}
        return FeedHistory(self.config.data_dir / "feeds" / self.profile.name, self.profile.name,
                           fingerprint(settings))

    def _feed_price(self, entry: QueueEntry) -> Decimal | None:
        """The valid price of a product row (the guard compares products, not combinations)."""
        row = jsontext.loads(entry.payload)
        text = row["fields"].get("price")
        if "error" in row or text is None or "combination_reference" in row["fields"]:
            return None
        try:
            return _parse_number("price", text)
        except ValueError:
            return None

    def _shop_prices(self, keys: list[str]) -> dict[str, Decimal]:
        found = self.shop_writer.lookup(keys, by=self.match_by, fields=("price",))
        return {key: targets[0].current["price"] for key, targets in found.items()
                if len(targets) == 1 and not targets[0].id_product_attribute
                and isinstance(targets[0].current["price"], Decimal)}

    def _entry(self, line: int, fields: dict[str, str], error: str | None = None) -> QueueEntry:
        """A feed row as a queued item; a row the feed could not parse keeps its error, and becomes
        an error item when its batch is planned (its key still counts for duplicates: a product
        with a broken row and a good one is not updated from either, and the report says why).
        What the state database cannot hold (a key over 64 characters, a row over MAX_ROW) is an
        error too, decided here: one such row must not stop the whole queue."""
        product_field, combination_field = KEY_FIELDS[self.match_by]
        is_combination = "combination_reference" in fields or "combination_ean13" in fields  # never ""
        if is_combination:  # a combination is matched by its own key; it has no id in a feed
            key = fields.get(combination_field) if combination_field else None
        else:
            key = fields.get(product_field)
        if key is not None and len(key) > MAX_REFERENCE and error is None:
            error = f"{self.match_by} {shown(key)} is longer than {MAX_REFERENCE} characters (line {line})"
        if key is not None and len(key) > MAX_REFERENCE:
            key = key[:MAX_REFERENCE - 3] + "..."
        pid = fields.get("id_product", "")
        row = {"line": line, "fields": fields} if error is None else {"line": line, "fields": fields,
                                                                      "error": error}
        payload = _payload(row)
        if len(payload) > MAX_ROW:
            payload = _payload({"line": line, "fields": {}, "error": error or
                                f"row is {len(payload)} characters long (at most {MAX_ROW}) (line {line})"})
        name = fields.get("name")
        product_id = int(pid) if ID_TEXT.fullmatch(pid) else 0  # an id the shop cannot have matches nothing
        return QueueEntry(product_id, 0, key, name[:255] if name else name, payload)

    def duplicate_note(self):
        return lambda payload: (f"duplicate {self.match_by} in feed (first at line "
                                f"{jsontext.loads(payload)['line']})")

    # -- planning a batch ---------------------------------------------------------------------------

    def process(self, task: Task, items: list[Item], previous) -> Processed:
        """Plan the batch; a dry run plans the same and says what it would change, but plans no
        write (the report reads "would update", the shop stays as it is)."""
        planned = self._plan_batch(items)
        if task.options.get("dry_run"):
            planned.outcomes = [o._replace(action=DRY_RUN_ACTION) if o.action == "updated" else o
                                for o in planned.outcomes]
            planned.effects = []
        return planned

    def _plan_batch(self, items: list[Item]) -> Processed:
        keys = [i.reference for i in items if i.reference and not i.detail]
        found = self.shop_writer.lookup(keys, by=self.match_by, fields=self.fields) if keys else {}
        result = Processed(outcomes=[])
        for item in items:
            row = jsontext.loads(item.payload)
            try:
                outcome, update = self._plan_item(item, row, found.get(item.reference or "", []))
            except ConnectorError:
                raise
            except Exception as exc:  # this row only; the batch goes on
                outcome, update = Outcome(item.position, ItemStatus.ERROR, "none",
                                          f"{type(exc).__name__}: {exc} (line {row['line']})"), None
            result.outcomes.append(outcome)
            if update is not None:
                result.effects.append(update)
        return result

    def _plan_item(self, item: Item, row: dict, targets: list[Target]) -> tuple[Outcome, Effect | None]:
        line, fields = row["line"], row["fields"]
        if "error" in row:  # the feed could not read this row
            return Outcome(item.position, ItemStatus.ERROR, "none", row["error"]), None
        for field, text in fields.items():  # per field: one bad value costs its row, nothing written
            if why := control_character(field, text):
                return Outcome(item.position, ItemStatus.ERROR, "none", f"{why} (line {line})"), None
        skip = self._why_skip(item, line, targets)
        if skip:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", skip), None
        pid, pa, current = targets[0]
        changes, said = {}, []
        try:
            for field in self._combination_fields if pa else self.fields:
                if field in fields:
                    value, old = self._parse(field, fields[field], bool(pa)), current[field]
                    if isinstance(old, Unreadable):
                        raise ValueError(f"{field} in the shop is {shown(old.value)}, not a "
                                         f"{'whole number' if field == 'quantity' else 'number'}: "
                                         "fix it in the shop first")
                    if not _same(field, value, old):
                        changes[field] = value
                        said.append(f"{field}: {_show(old)} -> {_show(value)}")
        except ValueError as exc:  # names the field
            return Outcome(item.position, ItemStatus.ERROR, "none", f"{exc} (line {line})", pid, pa), None
        if not changes:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", UNCHANGED, pid, pa), None
        update = Effect(item.position, [pid, pa, changes])  # Decimals: exact text (Processed.plan_json)
        return Outcome(item.position, ItemStatus.PROCESSED, "updated", "; ".join(said), pid, pa), update

    def _why_skip(self, item: Item, line: int, targets: list[Target]) -> str | None:
        if item.detail:
            return item.detail  # marked when the queue was built (a duplicate)
        if not item.reference:
            return f"no {self.match_by} to match in the feed (line {line})"
        if not targets:
            return NOT_FOUND
        if len(targets) > 1:
            return (f"ambiguous: {len(targets)} products or combinations have {self.match_by} "
                    f"{item.reference!r}")
        return None

    def _parse(self, field: str, text: str, combination: bool) -> Any:
        """A feed cell as the value to write; ValueError naming the field and the value when it is
        not one the shop should take (docs/configuration.md, "What an import refuses")."""
        value = _PARSERS[field](field, text)
        if field in _AMOUNTS and abs(value) > MAX_AMOUNT:
            raise ValueError(f"{field} {text!r} is out of range (at most {MAX_AMOUNT})")
        if field == "quantity" and abs(value) > MAX_QUANTITY:
            raise ValueError(f"quantity {text!r} is out of range (at most {MAX_QUANTITY:,})")
        if field in _AMOUNTS and value < 0 and not (combination and field != "wholesale_price"):
            raise ValueError(f"{field} {text!r} is negative")
        if field == "quantity" and value < 0 and not self.profile.options.get("allow_negative_quantity"):
            raise ValueError(f"quantity {text!r} is negative (set allow_negative_quantity = true "
                             "to import oversold stock)")
        return value

    @property
    def shop_writer(self) -> ShopWriter:
        if self._writer is None:
            self._writer = ShopWriter(self.shop)  # keeps its compiled statements
        return self._writer

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, effects: list[Effect], at: str) -> None:
        updates = (effect.data for effect in effects)  # [id_product, id_product_attribute, values]
        local = datetime.fromisoformat(at).astimezone().replace(tzinfo=None)  # PrestaShop: local time
        self.shop_writer.apply(updates, local)

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop, self._writer = None, None


def _parse_number(field: str, text: str) -> Decimal:
    try:
        return to_decimal(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a number") from None


def _parse_quantity(field: str, text: str) -> int:
    return to_quantity(text)  # "quantity '5.5' is not a whole number"


def _parse_active(field: str, text: str) -> bool:
    value = text.strip()
    if value not in ("0", "1"):
        raise ValueError(f"active {text!r} is not 0 or 1")
    return value == "1"


def _parse_name(field: str, text: str) -> str:
    if len(text) > MAX_NAME:
        raise ValueError(f"name {shown(text)} is {len(text)} characters long (at most {MAX_NAME})")
    if any(ord(c) < 32 for c in text) or REPLACEMENT in text:
        raise ValueError(f"name {shown(text)} holds control characters or invalid text")
    return text


def _parse_ean13(field: str, text: str) -> str:
    code = text.strip()
    if not valid_gtin(code):
        raise ValueError(f"ean13 {text!r} is not a valid EAN (8, 12 or 13 digits with a valid check digit)")
    return code


def valid_gtin(code: str) -> bool:
    """True for an EAN-8, UPC-A (12) or EAN-13 whose last digit is its GS1 check digit."""
    return bool(code) and ean13_problem(code) is None


_PARSERS = {"price": _parse_number, "wholesale_price": _parse_number, "weight": _parse_number,
            "quantity": _parse_quantity, "active": _parse_active,
            "name": _parse_name, "ean13": _parse_ean13}
_AMOUNTS = ("price", "wholesale_price", "weight")  # never negative, except a combination's impacts


def _same(field: str, new: Any, current: Any) -> bool:
    if isinstance(new, Decimal):
        if isinstance(current, Decimal):
            return new == current
        return current is not None and new == to_decimal(current)
    if field == "active":
        return bool(new) == bool(current)
    return new == current


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)

