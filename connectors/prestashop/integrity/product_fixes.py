"""The repairs the products checker plans (integrity.products) and how a fix turns them into
changes: values set in place (fix-integrity) and missing rows created (fix-linkeds), each a whole-row
Change that an undo restores exactly. A batch's findings and changes are kept in a Batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa

from connectors.prestashop.integrity.base import Change, Checked, Finding
from connectors.prestashop.integrity.reads import ABSENT, new_row_values
from connectors.prestashop.integrity.reads import images as read_images


@dataclass(frozen=True)
class Copy:
    """The value of `column` in another row (price_drift: the default shop's price)."""

    table: str
    key: tuple[tuple[str, Any], ...]
    column: str


@dataclass(frozen=True)
class Set:
    """A repair in place: `column` of the row `key` of `table` becomes `value`, a function of its
    current (encoded) value or a Copy. A `cache` column (PrestaShop's denormalised copies, such as
    cache_default_attribute) may be missing from the real table or already right: either way the
    repair is done."""

    table: str
    key: tuple[tuple[str, Any], ...]
    column: str
    value: Callable[[Any], Any] | Copy
    cache: bool = False


class Create(NamedTuple):
    """A missing row to create: "shop" (args: id_product), "lang" (id_product, id_lang), "stock"
    (id_product, id_product_attribute) or "link" (id_category, id_product)."""

    kind: str
    args: tuple[int, ...]


class Fixer:
    """Turns a Batch's pending repairs into changes on `shop` (a PrestaShop)."""

    def __init__(self, shop: Any):
        self.shop = shop
        self.t = shop.tables
        self._new_rows: dict[str, list[tuple[str, Any]]] = {}

    def values(self, batch: Batch) -> None:
        """fix-integrity: one Change per row, with every column its findings' repairs set."""
        plan: dict[tuple[str, tuple], list[tuple[int, int, Set]]] = {}
        for i, n, repair in batch.pending:
            plan.setdefault((repair.table, repair.key), []).append((i, n, repair))
        copies = [s.value for sets in plan.values() for _, _, s in sets if isinstance(s.value, Copy)]
        sources = self.images(batch.conn, [(c.table, c.key) for c in copies])
        current = self.images(batch.conn, list(plan))
        for (table, key), sets in plan.items():
            before = current.get((table, key))
            if before is None:
                continue
            after, cached = dict(before), []
            for i, n, repair in sets:
                if repair.cache:
                    cached.append((i, n))
                    if repair.column not in before:
                        continue
                if not isinstance(repair.value, Copy):
                    after[repair.column] = repair.value(after[repair.column])
                elif (source := sources.get((repair.value.table, repair.value.key))) is not None:
                    after[repair.column] = source[repair.value.column]
            if after != before:
                batch.change(sets[0][0], None, Change(getattr(self.t, table).name, dict(key), before, after))
            done = [(i, n) for i, n, _ in sets] if after != before else cached
            for i, n in done:
                batch.done(i, n)

    def images(self, conn: sa.Connection, wanted: list[tuple[str, tuple]]) -> dict[tuple[str, tuple], dict]:
        """(table, key as pairs) -> the row's image; one query per table."""
        out = {}
        for table in sorted({t for t, _ in wanted}):
            keys = [dict(k) for t, k in wanted if t == table]
            for found, image in read_images(conn, getattr(self.t, table), keys).items():
                out[(table, tuple(zip(keys[0], found, strict=True)))] = image
        return out

    def links(self, batch: Batch) -> None:
        """fix-linkeds: the missing rows, every column of the real table given (see create)."""
        conn, t, shop, lang = batch.conn, self.t, self.shop.id_shop, self.shop.id_lang
        wanted = {kind: [(i, n, r.args) for i, n, r in batch.pending if r.kind == kind]
                  for kind in ("shop", "lang", "stock", "link")}
        products = read_images(conn, t.product, [{"id_product": a[0]} for _, _, a in wanted["shop"]])
        for i, n, (pid,) in wanted["shop"]:  # copied from the product's own row
            if (pid,) in products:
                self.create(batch, i, n, t.product_shop, {"id_product": pid, "id_shop": shop},
                             {**products[(pid,)], "id_shop": shop})
        sources = read_images(conn, t.product_lang, [{"id_product": a[0], "id_shop": shop, "id_lang": lang}
                                                for _, _, a in wanted["lang"]])
        for i, n, (pid, id_lang) in wanted["lang"]:  # copied from the default language's row
            if (source := sources.get((pid, shop, lang))) is not None:
                key = {"id_product": pid, "id_shop": shop, "id_lang": id_lang}
                self.create(batch, i, n, t.product_lang, key, {**source, "id_lang": id_lang})
        self.create_stock(batch, wanted["stock"])
        self.create_links(batch, wanted["link"])

    def create_stock(self, batch: Batch, wanted: list[tuple[int, int, tuple]]) -> None:
        """Stock rows of quantity 0 in the shop's stock scope, with ids after the highest one."""
        if not wanted:
            return
        st, scope = self.t.stock_available, self.shop.stock
        next_id = (batch.conn.execute(sa.select(sa.func.max(st.c.id_stock_available))).scalar() or 0) + 1
        for i, n, (pid, pa) in wanted:
            key = {"id_product": pid, "id_product_attribute": pa, "id_shop": scope.id_shop,
                   "id_shop_group": scope.id_shop_group}
            values = {"id_stock_available": next_id, **key, "quantity": 0, "physical_quantity": 0,
                      "reserved_quantity": 0}
            if self.create(batch, i, n, st, key, values):
                next_id += 1

    def create_links(self, batch: Batch, wanted: list[tuple[int, int, tuple]]) -> None:
        """category_product rows at the end of their category (positions count from 0)."""
        if not wanted:
            return
        cp = self.t.category_product
        categories = sorted({a[0] for _, _, a in wanted})
        query = (sa.select(cp.c.id_category, sa.func.max(cp.c.position))
                 .where(cp.c.id_category.in_(categories)).group_by(cp.c.id_category))
        last = {int(category): int(position) for category, position in batch.conn.execute(query)}
        for i, n, (category, pid) in wanted:
            position = last.get(category, -1) + 1
            if self.create(batch, i, n, cp, {"id_category": category, "id_product": pid},
                            {"id_category": category, "id_product": pid, "position": position}):
                last[category] = position

    def create(self, batch: Batch, i: int, n: int, table: sa.Table, key: dict, values: dict) -> bool:
        """Plan creating `key` in `table`: every column of the real table from `values`, else the
        value the database would give it. A column with neither leaves the finding unfixed, noted."""
        if table.name not in self._new_rows:
            self._new_rows[table.name] = new_row_values(batch.conn, table.name)
        row: dict[str, Any] = {}
        for column, default in self._new_rows[table.name]:
            row[column] = values.get(column, default)
            if row[column] is ABSENT:
                batch.note(i, n, f"not created: {table.name}.{column} has no default")
                return False
        batch.change(i, n, Change(table.name, key, None, row))
        return True


@dataclass
class Batch:
    """One check's findings and changes, per record, and the repairs a fix has still to plan.
    A finding is fixed once every one of its repairs made a change (never with a None repair)."""

    conn: sa.Connection
    operation: str
    patterns: tuple[str, ...]
    size: int
    found: list[list[list]] = field(default_factory=list)  # per record: [pattern, detail, fixed]
    changes: list[list[Change]] = field(default_factory=list)
    pending: list[tuple[int, int, Any]] = field(default_factory=list)  # (record, finding, repair)
    missing: dict[tuple[int, int], int] = field(default_factory=dict)  # repairs a finding still needs
    written: set[tuple] = field(default_factory=set)  # (table, key) of the changes so far

    def __post_init__(self):
        self.found = [[] for _ in range(self.size)]
        self.changes = [[] for _ in range(self.size)]

    def add(self, i: int, pattern: str, detail: str, repairs: Sequence[Any] = ()) -> int:
        """A finding of record i, with the repairs a fix plans for it; returns its number."""
        self.found[i].append([pattern, detail, False])
        n = len(self.found[i]) - 1
        if self.operation.startswith("fix-") and repairs and None not in repairs:
            self.missing[(i, n)] = len(repairs)
            self.pending += [(i, n, repair) for repair in repairs]
        return n

    def change(self, i: int, n: int | None, change: Change) -> None:
        """Record i's change (a row is written once per batch); it makes one repair of finding n."""
        row = (change.table, tuple(sorted(change.key.items())))
        if row not in self.written:
            self.written.add(row)
            self.changes[i].append(change)
        if n is not None:
            self.done(i, n)

    def done(self, i: int, n: int) -> None:
        self.missing[(i, n)] -= 1
        self.found[i][n][2] = self.missing[(i, n)] == 0

    def note(self, i: int, n: int, text: str) -> None:
        self.found[i][n][1] += f" ({text})"

    def checked(self) -> Checked:
        findings = [[Finding(*f) for f in found] for found in self.found]
        return Checked(findings, self.changes if self.operation.startswith("fix-") else [])
