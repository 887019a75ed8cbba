"""The orders scope of the maintenance jobs: a shop's sales orders and the rows that hang from them.

Records: the connection's shop's orders (ps_orders.id_shop), ascending id_order; then, for
analyze-integrity and fix-orphans, the ps_order_detail, ps_order_history and ps_order_carrier rows
whose order is gone (orphans, found in the whole database: history and carrier rows name no shop),
table by table, by id. A pattern's count is a count of records: an order with two negative lines
counts once for negative_quantity.

Patterns of an order:
- order_without_details: no ps_order_detail row.
- order_total_mismatch: total_products differs by more than 0.01 from the sum of its details'
  total_price_tax_excl (orders with details only).
- order_missing_customer, order_missing_currency, order_state_missing: id_customer, id_currency,
  current_state not in ps_customer, ps_currency, ps_order_state.
- order_missing_address: id_address_delivery or id_address_invoice not in ps_address (PrestaShop
  never deletes an address an order names: it flags it `deleted`, which is fine here).
- invalid_order_date: date_add or date_upd is not a date (MySQL's zero date 0000-00-00 00:00:00, an
  impossible date a lax sql_mode kept, text that is no date on SQLite), or date_upd is before
  date_add. invoice_date and delivery_date are not checked: PrestaShop writes the zero date there
  for "none yet".
- negative_quantity: a detail with product_quantity < 0 (the column is unsigned in PrestaShop: only
  SQLite, or a shop whose column was altered, can hold one).
- untrimmed_reference: the reference has leading or trailing white space.
Orphan rows: orphan_order_detail, orphan_order_history, orphan_order_carrier.

The fixes change only what is certain:
- fix-integrity trims references (ps_orders). The rest needs someone who knows which side is wrong
  (the total or the lines, date_add or date_upd, a negative quantity's sign or size, the customer,
  address, currency or state meant) and stays an unfixed finding.
- fix-orphans deletes orphan detail, history and carrier rows, and an order without details whose
  total_products and total_paid_tax_incl are zero, with its history and carrier rows. Such an order
  is kept (unfixed) while a table the fix does not write names it (ps_order_invoice, ps_order_slip,
  ps_order_cart_rule, ps_order_return by id_order, ps_order_payment by reference). A deleted
  detail's ps_order_detail_tax rows, if any, are left: that table is not the fix's to write.

A batch's checks read each table once (a list of ids per query); a fix then reads the whole-row
image of each row it changes (integrity.rows), so a fix costs about one more query per row it writes.

Tables other than ps_orders and ps_order_detail may be missing (a demo shop made by an older
Heartbeat): the patterns that read them are not checked, and `not_checked` says so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from connectors.prestashop.integrity.base import (
    ANALYZE_INTEGRITY,
    FIX_INTEGRITY,
    FIX_ORPHANS,
    ORDERS,
    Change,
    Checked,
    Checker,
    Finding,
    Record,
)
from connectors.prestashop.integrity.rows import Rows
from connectors.prestashop.orders import OrderTables, order_tables
from connectors.prestashop.shop import shop_datetime, shop_rows
from core.driver import Prepared, keyset_pages

ORDER_WITHOUT_DETAILS = "order_without_details"
ORPHAN_ORDER_DETAIL, ORPHAN_ORDER_HISTORY = "orphan_order_detail", "orphan_order_history"
ORPHAN_ORDER_CARRIER = "orphan_order_carrier"
ORDER_TOTAL_MISMATCH = "order_total_mismatch"
ORDER_MISSING_CUSTOMER, ORDER_MISSING_ADDRESS = "order_missing_customer", "order_missing_address"
ORDER_MISSING_CURRENCY, ORDER_STATE_MISSING = "order_missing_currency", "order_state_missing"
INVALID_ORDER_DATE, NEGATIVE_QUANTITY = "invalid_order_date", "negative_quantity"
UNTRIMMED_REFERENCE = "untrimmed_reference"

ORPHANS = {  # table -> its id column, the pattern of a row whose order is gone
    "order_detail": ("id_order_detail", ORPHAN_ORDER_DETAIL),
    "order_history": ("id_order_history", ORPHAN_ORDER_HISTORY),
    "order_carrier": ("id_order_carrier", ORPHAN_ORDER_CARRIER),
}
NAMED = {  # an order's column -> the table (and its id column) it names
    "id_customer": ("customer", "id_customer"),
    "id_currency": ("currency", "id_currency"),
    "id_address_delivery": ("address", "id_address"),
    "id_address_invoice": ("address", "id_address"),
    "current_state": ("order_state", "id_order_state"),
}
MISSING = {  # pattern -> the columns it checks with NAMED
    ORDER_MISSING_CUSTOMER: ("id_customer",),
    ORDER_MISSING_CURRENCY: ("id_currency",),
    ORDER_MISSING_ADDRESS: ("id_address_delivery", "id_address_invoice"),
    ORDER_STATE_MISSING: ("current_state",),
}
NEEDS = {  # pattern -> the table it reads besides ps_orders and ps_order_detail
    ORPHAN_ORDER_HISTORY: "order_history", ORPHAN_ORDER_CARRIER: "order_carrier",
    **{pattern: NAMED[columns[0]][0] for pattern, columns in MISSING.items()},
}
KEEPERS = (  # tables naming an order that fix-orphans does not write: a named order is kept
    ("order_invoice", "id_order"), ("order_slip", "id_order"), ("order_cart_rule", "id_order"),
    ("order_return", "id_order"), ("order_payment", "order_reference"),
)
VALUES = (ORDER_TOTAL_MISMATCH, ORDER_MISSING_CUSTOMER, ORDER_MISSING_ADDRESS, ORDER_MISSING_CURRENCY,
          INVALID_ORDER_DATE, NEGATIVE_QUANTITY, ORDER_STATE_MISSING, UNTRIMMED_REFERENCE)
ORPHANED = (ORDER_WITHOUT_DETAILS, ORPHAN_ORDER_DETAIL, ORPHAN_ORDER_HISTORY, ORPHAN_ORDER_CARRIER)
TOLERANCE = Decimal("0.01")
PAGE = 5000  # records per query while listing them


class _Order(NamedTuple):
    id_order: int
    reference: str | None
    id_customer: int
    id_currency: int
    id_address_delivery: int
    id_address_invoice: int
    current_state: int
    total_products: Any
    total_paid_tax_incl: Any
    date_add: Any
    date_upd: Any


class OrderChecker(Checker):
    """Analyses and fixes of a shop's sales orders (see the module docstring)."""

    scope = ORDERS
    patterns = {
        ANALYZE_INTEGRITY: ORPHANED + VALUES,
        FIX_INTEGRITY: VALUES,
        FIX_ORPHANS: ORPHANED,
    }
    writes = {
        ANALYZE_INTEGRITY: (),
        FIX_INTEGRITY: ("orders",),
        FIX_ORPHANS: ("orders", "order_detail", "order_history", "order_carrier"),
    }

    def __init__(self, shop: Any):
        super().__init__(shop)
        self.tables: OrderTables = order_tables(shop.prefix)

    def not_checked(self) -> list[str]:
        missing = sorted({table for table in NEEDS.values() if table not in self._present})
        return [f"{self.shop.prefix}{table}: table not found "
                f"({', '.join(p for p, t in NEEDS.items() if t == table)} not checked)" for table in missing]

    @functools.cached_property
    def _present(self) -> frozenset[str]:
        """The tables (without prefix) of NEEDS and KEEPERS this shop has; read once."""
        names = {*NEEDS.values(), *(table for table, _ in KEEPERS)}
        with self.shop._connect() as conn:
            inspector = sa.inspect(conn)
            return frozenset(n for n in names if inspector.has_table(self.shop.prefix + n))

    def _wanted(self, operation: str) -> set[str]:
        if operation not in self.patterns:
            raise ValueError(f"the orders scope has no operation {operation!r}")
        return {p for p in self.patterns[operation] if p not in NEEDS or NEEDS[p] in self._present}

    # -- records ------------------------------------------------------------------------------------

    def records(self, operation: str) -> Iterator[Record]:
        wanted = self._wanted(operation)
        yield from self._orders()
        for table, (column, pattern) in ORPHANS.items():
            if pattern in wanted:
                yield from self._orphans(table, column, pattern)

    def _orders(self) -> Iterator[Record]:
        o = self.tables.orders
        query = (sa.select(o.c.id_order, o.c.reference)
                 .where(o.c.id_shop == self.shop.id_shop, o.c.id_order > sa.bindparam("last"))
                 .order_by(o.c.id_order).limit(PAGE))
        for id_order, reference in self._pages(query):
            yield Record("order", id_order, reference or f"order {id_order}")

    def _orphans(self, table: str, column: str, pattern: str) -> Iterator[Record]:
        child, o = getattr(self.tables, table), self.tables.orders
        query = (sa.select(child.c[column])
                 .outerjoin(o, o.c.id_order == child.c.id_order)
                 .where(o.c.id_order.is_(None), child.c[column] > sa.bindparam("last"))
                 .order_by(child.c[column]).limit(PAGE))
        for (id_,) in self._pages(query):
            yield Record(table, id_, f"{child.name} {id_}", key={column: id_}, pattern=pattern)

    def _pages(self, query: sa.Select) -> Iterator[tuple]:
        """The rows of `query` (ordered by its first column, `last` the keyset), page by page:
        constant memory, no connection held between pages."""
        statement = Prepared(query, self.shop.dialect)

        def page(after: int, size: int) -> list[tuple]:
            with self.shop._connect() as conn:
                return shop_rows(conn, statement, last=after)

        return keyset_pages(page, PAGE)

    # -- checks -------------------------------------------------------------------------------------

    def check(self, operation: str, records: list[Record]) -> Checked:
        fix = operation != ANALYZE_INTEGRITY
        with self.shop._connect() as conn:
            batch = _Batch(self, conn, records, self._wanted(operation), fix)
            out = Checked(findings=[], changes=[])
            for record in records:
                found, changes = batch.order(record.id) if record.kind == "order" else batch.orphan(record)
                out.findings.append(found)
                out.changes.append(changes)
        if not fix:
            out.changes = []
        return out

    @functools.cached_property
    def _statements(self) -> dict[str, Prepared]:
        """The batch's reads, one per table, each on a list of ids (`ids`)."""
        t, dialect, ids = self.tables, self.shop.dialect, sa.bindparam("ids", expanding=True)
        o, d = t.orders, t.order_detail
        out = {
            "orders": sa.select(*(o.c[name] for name in _Order._fields)).where(o.c.id_order.in_(ids)),
            "order_detail": sa.select(d.c.id_order, d.c.id_order_detail, d.c.product_quantity,
                                      d.c.total_price_tax_excl)
                              .where(d.c.id_order.in_(ids)).order_by(d.c.id_order, d.c.id_order_detail),
        }
        for table, column in {*NAMED.values()}:
            named = getattr(t, table)
            out[table] = sa.select(named.c[column]).where(named.c[column].in_(ids))
        for table, (column, _) in ORPHANS.items():
            child = getattr(t, table)
            out[f"orphan {table}"] = (sa.select(child.c[column], child.c.id_order)
                                      .outerjoin(o, o.c.id_order == child.c.id_order)
                                      .where(child.c[column].in_(ids), o.c.id_order.is_(None)))
        for table, column in KEEPERS:
            keeper = sa.table(self.shop.prefix + table, sa.column(column))
            out[table] = sa.select(keeper.c[column]).where(keeper.c[column].in_(ids)).distinct()
        return {name: Prepared(query, dialect) for name, query in out.items()}


class _Batch:
    """What one batch's checks read (one query per table), and its findings record by record."""

    def __init__(self, checker: OrderChecker, conn: sa.Connection, records: list[Record], wanted: set[str],
                 fix: bool):
        self.checker, self.conn, self.rows = checker, conn, Rows(conn)
        self.t, self.present, self.wanted, self.fix = checker.tables, checker._present, wanted, fix
        ids = [r.id for r in records if r.kind == "order"]
        self.orders = {row[0]: _Order(*row) for row in self._read("orders", ids)}
        self.lines: dict[int, list[tuple]] = {}
        for id_order, *line in self._read("order_detail", list(self.orders)):
            self.lines.setdefault(id_order, []).append(tuple(line))
        named: dict[str, set[int]] = {}  # table -> the ids the batch's orders name in it
        for pattern, columns in MISSING.items():
            if pattern in wanted:
                names = {getattr(o, c) for o in self.orders.values() for c in columns}
                named.setdefault(NAMED[columns[0]][0], set()).update(names)
        self.known = {table: {i for (i,) in self._read(table, sorted(n))} for table, n in named.items()}
        self.orphans = {  # table -> {row id: its id_order, not in ps_orders}
            table: dict(self._read(f"orphan {table}", [r.id for r in records if r.kind == table]))
            for table in ORPHANS}

    def _read(self, name: str, ids: list) -> list[tuple]:
        return shop_rows(self.conn, self.checker._statements[name], ids=ids) if ids else []

    def order(self, id_order: int) -> tuple[list[Finding], list[Change]]:
        order = self.orders.get(id_order)
        if order is None:  # gone since the queue was built: nothing left to check
            return [], []
        lines = self.lines.get(id_order, [])
        found = [Finding(pattern, detail) for pattern, detail in self._problems(order, lines)
                 if pattern in self.wanted and detail]
        if not self.fix:
            return found, []
        if any(f.pattern == UNTRIMMED_REFERENCE for f in found):
            return self._trim(order, found)
        if any(f.pattern == ORDER_WITHOUT_DETAILS for f in found):
            return self._delete_empty(order, found)
        return found, []

    def _problems(self, order: _Order, lines: list[tuple]) -> Iterator[tuple[str, str | None]]:
        detail_table = self.t.order_detail.name
        if not lines:
            yield ORDER_WITHOUT_DETAILS, (f"no {detail_table} rows; total_products "
                                          f"{_money(order.total_products):.6f}, total_paid_tax_incl "
                                          f"{_money(order.total_paid_tax_incl):.6f}")
        else:
            yield ORDER_TOTAL_MISMATCH, _total_mismatch(order, lines)
        for pattern, columns in MISSING.items():
            table, _ = NAMED[columns[0]]
            absent = [f"{c} {getattr(order, c)}" for c in columns
                      if table in self.known and getattr(order, c) not in self.known[table]]
            yield pattern, absent and f"{' and '.join(absent)} not in {self.checker.shop.prefix}{table}"
        yield INVALID_ORDER_DATE, _date_problem(order.date_add, order.date_upd)
        negative = [f"{i} product_quantity {q}" for i, q, _ in lines if q < 0]
        yield NEGATIVE_QUANTITY, negative and f"{detail_table} {', '.join(negative)}"
        reference = order.reference
        if reference is not None and reference != reference.strip():
            yield UNTRIMMED_REFERENCE, f"reference {reference!r} has white space around it"

    def _trim(self, order: _Order, found: list[Finding]) -> tuple[list[Finding], list[Change]]:
        """The reference trimmed, when the row's image holds text that is not all white space."""
        table, key = self.t.orders.name, {"id_order": order.id_order}
        before = self.rows.one(table, key)
        reference = before.get("reference") if before else None
        if not isinstance(reference, str) or not reference.strip():
            return found, []
        trimmed = reference.strip()
        change = Change(table, key, before, {**before, "reference": trimmed})
        return _fixed(found, UNTRIMMED_REFERENCE, f" -> {trimmed!r}"), [change]

    def _delete_empty(self, order: _Order, found: list[Finding]) -> tuple[list[Finding], list[Change]]:
        """An order without details and with zero totals, deleted with its history and carrier rows;
        any other is kept, the finding unfixed, saying why."""
        why = "its totals are not zero" if not _zero(order) else self._kept.get(order.id_order)
        if why:
            return _noted(found, ORDER_WITHOUT_DETAILS, f"; kept: {why}"), []
        changes = []
        for table, (column, _) in ORPHANS.items():
            if table != "order_detail" and table in self.present:
                name = getattr(self.t, table).name
                for row in self.rows.read(name, {"id_order": order.id_order}):
                    changes.append(Change(name, {column: row[column]}, row, None))
        key = {"id_order": order.id_order}
        before = self.rows.one(self.t.orders.name, key)
        if before is None:
            return found, []
        changes.append(Change(self.t.orders.name, key, before, None))
        note = f"; deleted with {len(changes) - 1} history and carrier rows"
        return _fixed(found, ORDER_WITHOUT_DETAILS, note), changes

    @functools.cached_property
    def _kept(self) -> dict[int, str]:
        """id_order -> why, for the batch's orders without details and with zero totals that a
        table fix-orphans does not write names. References compare loosely (MySQL's collations
        ignore case and trailing spaces): a doubt keeps the order."""
        empty = [o for o in self.orders.values() if o.id_order not in self.lines and _zero(o)]
        kept: dict[int, str] = {}
        for table, column in KEEPERS:
            if not empty or table not in self.present:
                continue
            if column == "order_reference":
                references = sorted({o.reference for o in empty} - {None})
                named = {_loose(v) for (v,) in self._read(table, references)}
                hits = [o for o in empty if o.reference is not None and _loose(o.reference) in named]
            else:
                named = {v for (v,) in self._read(table, [o.id_order for o in empty])}
                hits = [o for o in empty if o.id_order in named]
            for o in hits:
                kept.setdefault(o.id_order, f"{self.checker.shop.prefix}{table} names it")
        return kept

    def orphan(self, record: Record) -> tuple[list[Finding], list[Change]]:
        """A row found without its order while the queue was built, if it still is one."""
        missing = self.orphans.get(record.kind, {}).get(record.id)
        if missing is None:  # deleted, or its order is back
            return [], []
        table, (column, pattern) = getattr(self.t, record.kind).name, ORPHANS[record.kind]
        found = [Finding(pattern, f"{table} {record.id}: id_order {missing} not in {self.t.orders.name}")]
        if not self.fix:
            return found, []
        key = {column: record.id}
        before = self.rows.one(table, key)
        if before is None:
            return [], []
        return _fixed(found, pattern, "; deleted"), [Change(table, key, before, None)]


def _fixed(found: list[Finding], pattern: str, note: str) -> list[Finding]:
    return [Finding(f.pattern, f.detail + note, True) if f.pattern == pattern else f for f in found]


def _noted(found: list[Finding], pattern: str, note: str) -> list[Finding]:
    return [Finding(f.pattern, f.detail + note, f.fixed) if f.pattern == pattern else f for f in found]


def _zero(order: _Order) -> bool:
    return not _money(order.total_products) and not _money(order.total_paid_tax_incl)


def _loose(reference: Any) -> str:
    return str(reference).strip().casefold()


def _money(value: Any) -> Decimal:
    """A decimal as the driver gives it (a float on SQLite, whose repr is the stored text)."""
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _total_mismatch(order: _Order, lines: list[tuple]) -> str | None:
    total = _money(order.total_products)
    lines_total = sum((_money(excl) for _, _, excl in lines), Decimal(0))
    if abs(total - lines_total) <= TOLERANCE:
        return None
    return (f"total_products {total:.6f}, its {len(lines)} details' total_price_tax_excl add up to "
            f"{lines_total:.6f}")


def _date_problem(date_add: Any, date_upd: Any) -> str | None:
    added, updated = _date(date_add), _date(date_upd)
    if added is None:
        return f"date_add {date_add} is not a date"
    if updated is None:
        return f"date_upd {date_upd} is not a date"
    if updated < added:
        return f"date_upd {updated} is before date_add {added}"
    return None


def _date(value: Any) -> Any:
    """A datetime, or None for a value that is none (MySQL's zero date included)."""
    value = shop_datetime(value)
    return None if value is None or isinstance(value, str) else value
