"""Import profile: read a feed, update the shop's products and combinations, account for every row.

Each feed row is a queued item carrying its row (payload). A batch is planned first, reading the
shop: each row becomes processed (with the changes, `price: 10.00 -> 12.50`), skipped (unchanged,
not found in shop, duplicate, ambiguous) or error (a value that does not parse, with its line).
The heartbeat saves the plan, then `apply` writes it in one shop transaction. Writes set values and
never add to them, so applying a plan twice (a redo after a crash) changes nothing the second time.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.feeds import open_feed
from connectors.platform.export_format import format_decimal
from connectors.prestashop import PrestaShop
from connectors.prestashop.writer import COMBINATION_UPDATABLE, ShopWriter, Target, to_decimal
from core.errors import ConnectorError
from profiles.base import Processed, Worker, non_empty
from tasks.models import Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

_payload = json.JSONEncoder(ensure_ascii=False).encode  # a queued row, as json.dumps would write it
NOT_FOUND = "not found in shop"
UNCHANGED = "unchanged"
KEY_FIELDS = {  # match_by -> (the field keying a product row, the one keying a combination row)
    "reference": ("reference", "combination_reference"),
    "ean13": ("ean13", "combination_ean13"),
    "id": ("id_product", None),
}


class ImportWorker(Worker):
    has_side_effects = True

    def __init__(self, profile, config):
        super().__init__(profile, config)
        self.match_by = profile.options.get("match_by", "reference")
        self.fields = tuple(profile.options.get("fields", ("price", "quantity", "active")))
        self._combination_fields = tuple(f for f in self.fields if f in COMBINATION_UPDATABLE)
        self._shop: PrestaShop | None = None
        self._writer: ShopWriter | None = None

    @property
    def shop(self) -> PrestaShop:
        if self._shop is None:
            self._shop = PrestaShop.from_connection(self.config.connections[self.profile.target])
        return self._shop

    def _feed(self):
        """The feed, with the profile's header mapping (if any) over the connection's."""
        conn = self.config.connections[self.profile.source]
        options = {**conn.options, "type": conn.type}
        if self.profile.options.get("mapping"):
            options["mapping"] = {**(conn.options.get("mapping") or {}), **self.profile.options["mapping"]}
        return open_feed(options, conn.name, base_dir=self.config.path.parent)

    def build_queue(self, previous: Task | None = None):
        self.shop.check()  # the shop must answer before anything is queued
        feed = self._feed()
        feed.check()
        entries = (self._entry(row.line, row.fields) for row in feed.rows())
        return non_empty(entries, self.profile.options.get("allow_empty", False))

    def _entry(self, line: int, fields: dict[str, str]) -> QueueEntry:
        product_field, combination_field = KEY_FIELDS[self.match_by]
        is_combination = "combination_reference" in fields or "combination_ean13" in fields  # never ""
        if is_combination:  # a combination is matched by its own key; it has no id in a feed
            key = fields.get(combination_field) if combination_field else None
        else:
            key = fields.get(product_field)
        pid = fields.get("id_product", "")
        return QueueEntry(int(pid) if pid.isdigit() else 0, 0, key, fields.get("name"),
                          _payload({"line": line, "fields": fields}))

    def duplicate_note(self):
        return lambda payload: (f"duplicate {self.match_by} in feed (first at line "
                                f"{json.loads(payload)['line']})")

    # -- planning a batch ---------------------------------------------------------------------------

    def process(self, task: Task, items: list[Item], previous) -> Processed:
        keys = [i.reference for i in items if i.reference and not i.detail]
        found = self.shop_writer.lookup(keys, by=self.match_by, fields=self.fields) if keys else {}
        result = Processed(outcomes=[])
        for item in items:
            row = json.loads(item.payload)
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

    def _plan_item(self, item: Item, row: dict, targets: list[Target]) -> tuple[Outcome, list | None]:
        line, fields = row["line"], row["fields"]
        skip = self._why_skip(item, line, targets)
        if skip:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", skip), None
        pid, pa, current = targets[0]
        changes, shown = {}, []
        try:
            for field in self._combination_fields if pa else self.fields:
                if field in fields:
                    value, old = _PARSERS[field](field, fields[field]), current[field]
                    if not _same(field, value, old):
                        changes[field] = value
                        shown.append(f"{field}: {_show(old)} -> {_show(value)}")
        except ValueError as exc:  # names the field
            return Outcome(item.position, ItemStatus.ERROR, "none", f"{exc} (line {line})", pid, pa), None
        if not changes:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", UNCHANGED, pid, pa), None
        update = [item.position, pid, pa, changes]  # Decimals are saved as exact text (Processed.plan_json)
        return Outcome(item.position, ItemStatus.PROCESSED, "updated", "; ".join(shown), pid, pa), update

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

    @property
    def shop_writer(self) -> ShopWriter:
        if self._writer is None:
            self._writer = ShopWriter(self.shop)  # keeps its compiled statements
        return self._writer

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, effects: list, at: str) -> None:
        updates = (effect[1:] for effect in effects)  # [position, id_product, id_product_attribute, values]
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
    value = text.strip()
    if not value.lstrip("-").isdigit():
        raise ValueError(f"quantity {text!r} is not a whole number")
    return int(value)


def _parse_active(field: str, text: str) -> bool:
    value = text.strip()
    if value not in ("0", "1"):
        raise ValueError(f"active {text!r} is not 0 or 1")
    return value == "1"


_PARSERS = {"price": _parse_number, "wholesale_price": _parse_number, "weight": _parse_number,
            "quantity": _parse_quantity, "active": _parse_active,
            "name": lambda _field, text: text, "ean13": lambda _field, text: text}


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

