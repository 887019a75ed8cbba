"""A seeded corruptor of the demo shop's sales orders: breaks a known number of orders (and adds
orphan rows) for each pattern of the orders maintenance checks, and says what an analysis must find
and what each fix must repair.

Every pattern gets orders of its own (drawn by the seed), so one order has one problem and counts
are exact. On MariaDB, ps_order_detail.product_quantity is made signed first (PrestaShop's is
unsigned: only such an altered shop, or SQLite, can hold a negative quantity), and the zero date is
written with a lax sql_mode, as an old shop may hold it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sqlalchemy as sa

MISSING_ORDER = 999_000  # ids of orders that do not exist, from here on


@dataclass
class Corruption:
    """`counts`: what analyze-integrity finds, per pattern (every pattern present);
    `fixable`: per fix operation, the findings it repairs, per pattern;
    `deleted`: per table, the rows fix-orphans deletes."""

    counts: dict[str, int]
    fixable: dict[str, dict[str, int]] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)


PATTERNS = ("order_without_details", "orphan_order_detail", "orphan_order_history",
            "orphan_order_carrier", "order_total_mismatch", "order_missing_customer",
            "order_missing_address", "order_missing_currency", "invalid_order_date", "negative_quantity",
            "order_state_missing", "untrimmed_reference")
WRITTEN = ("orders", "order_detail", "order_history", "order_carrier")  # the tables fix-orphans writes


def corrupt(url: str, seed: int = 1) -> Corruption:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            return _Corruptor(conn, seed).run()
    finally:
        engine.dispose()


class _Corruptor:
    def __init__(self, conn: sa.Connection, seed: int):
        self.conn, self.mysql = conn, conn.dialect.name != "sqlite"
        ids = [i for (i,) in self._q("SELECT id_order FROM ps_orders ORDER BY id_order")]
        random.Random(seed).shuffle(ids)
        self.free = ids
        self.c = Corruption(counts=dict.fromkeys(PATTERNS, 0),
                            fixable={"fix-orphans": {}, "fix-integrity": {}},
                            deleted=dict.fromkeys(WRITTEN, 0))

    def _q(self, sql: str, **params) -> list:
        return self.conn.execute(sa.text(sql), params).all()

    def _x(self, sql: str, **params) -> None:
        self.conn.execute(sa.text(sql), params)

    def _take(self, n: int) -> list[int]:
        taken, self.free = self.free[:n], self.free[n:]
        return taken

    def _found(self, pattern: str, n: int = 1, fixed_by: str | None = None) -> None:
        self.c.counts[pattern] += n
        if fixed_by:
            fixes = self.c.fixable[fixed_by]
            fixes[pattern] = fixes.get(pattern, 0) + n

    def run(self) -> Corruption:
        self.without_details()
        self.orphans()
        self.values()
        self.dates()
        self.negative_quantities()
        self.references()
        return self.c

    def without_details(self) -> None:
        """Two orders without details and with zero totals (fix-orphans deletes them with their
        history and carrier rows), one without details that still has its totals (kept)."""
        for n, id_order in enumerate(self._take(3)):
            self._x("DELETE FROM ps_order_detail WHERE id_order = :o", o=id_order)
            if n < 2:
                self._x("UPDATE ps_orders SET total_products = 0, total_paid_tax_incl = 0 "
                        "WHERE id_order = :o", o=id_order)
                self.c.deleted["orders"] += 1
                for table in ("order_history", "order_carrier"):
                    self.c.deleted[table] += self._q(f"SELECT COUNT(*) FROM ps_{table} WHERE id_order = :o",
                                                     o=id_order)[0][0]
            self._found("order_without_details", fixed_by="fix-orphans" if n < 2 else None)

    def orphans(self) -> None:
        """One order deleted (its details, history and carrier rows are left behind), and one
        orphan row of each table copied from a live row onto an order that never existed."""
        (gone,) = self._take(1)
        self._x("DELETE FROM ps_orders WHERE id_order = :o", o=gone)
        for table, pattern, column in (("order_detail", "orphan_order_detail", "id_order_detail"),
                                       ("order_history", "orphan_order_history", "id_order_history"),
                                       ("order_carrier", "orphan_order_carrier", "id_order_carrier")):
            left = self._q(f"SELECT COUNT(*) FROM ps_{table} WHERE id_order = :o", o=gone)[0][0]
            self._copy(table, column, MISSING_ORDER + len(pattern))
            self._found(pattern, left + 1, fixed_by="fix-orphans")
            self.c.deleted[table] += left + 1

    def _copy(self, table: str, column: str, id_order: int) -> None:
        row = dict(self._q(f"SELECT * FROM ps_{table} ORDER BY {column} LIMIT 1")[0]._mapping)
        row[column] = self._q(f"SELECT MAX({column}) FROM ps_{table}")[0][0] + 1000
        row["id_order"] = id_order
        names = ", ".join(row)
        self._x(f"INSERT INTO ps_{table} ({names}) VALUES ({', '.join(':' + n for n in row)})", **row)

    def values(self) -> None:
        for pattern, sql in (
            ("order_total_mismatch",
             "UPDATE ps_orders SET total_products = total_products + 5 WHERE id_order = :o"),
            ("order_missing_customer", "UPDATE ps_orders SET id_customer = 9999999 WHERE id_order = :o"),
            ("order_missing_currency", "UPDATE ps_orders SET id_currency = 99 WHERE id_order = :o"),
            ("order_state_missing", "UPDATE ps_orders SET current_state = 99 WHERE id_order = :o"),
        ):
            for id_order in self._take(2):
                self._x(sql, o=id_order)
                self._found(pattern)
        delivery, invoice, both = self._take(3)
        self._x("UPDATE ps_orders SET id_address_delivery = 9999998 WHERE id_order = :o", o=delivery)
        self._x("UPDATE ps_orders SET id_address_invoice = 9999998 WHERE id_order = :o", o=invoice)
        self._x("UPDATE ps_orders SET id_address_delivery = 9999997, id_address_invoice = 9999996 "
                "WHERE id_order = :o", o=both)
        self._found("order_missing_address", 3)  # one finding per order

    def dates(self) -> None:
        """date_upd a day before date_add, and a date_add that is no date: MySQL's zero date, or
        text on SQLite."""
        before, nodate = self._take(2)
        self._x("UPDATE ps_orders SET date_upd = :d WHERE id_order = :o", o=before, d="2020-01-01 00:00:00")
        if self.mysql:
            mode = self._q("SELECT @@SESSION.sql_mode")[0][0]
            self._x("SET SESSION sql_mode = ''")
            self._x("UPDATE ps_orders SET date_add = '0000-00-00 00:00:00' WHERE id_order = :o", o=nodate)
            self._x("SET SESSION sql_mode = :m", m=mode)
        else:
            self._x("UPDATE ps_orders SET date_add = 'yesterday' WHERE id_order = :o", o=nodate)
        self._found("invalid_order_date", 2)

    def negative_quantities(self) -> None:
        """A line of two orders, and two lines of a third (one finding per order)."""
        if self.mysql:
            self._x("ALTER TABLE ps_order_detail MODIFY product_quantity INT NOT NULL DEFAULT 0")
        orders = self._take(3)
        for id_order in orders[:2]:
            (line,) = self._q("SELECT MIN(id_order_detail) FROM ps_order_detail WHERE id_order = :o",
                              o=id_order)[0]
            self._x("UPDATE ps_order_detail SET product_quantity = -product_quantity "
                    "WHERE id_order_detail = :d", d=line)
        self._x("UPDATE ps_order_detail SET product_quantity = -1 WHERE id_order = :o", o=orders[2])
        self._found("negative_quantity", 3)

    def references(self) -> None:
        """Spaces around two references, a tab before a third (kept within varchar(9))."""
        for id_order, padded in zip(self._take(3), (" {} ", "{}  ", "\t{}"), strict=True):
            (reference,) = self._q("SELECT reference FROM ps_orders WHERE id_order = :o", o=id_order)[0]
            self._x("UPDATE ps_orders SET reference = :r WHERE id_order = :o", o=id_order,
                    r=padded.format(reference[:7]))
            self._found("untrimmed_reference", fixed_by="fix-integrity")
