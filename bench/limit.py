"""The limit: the best raw pipeline a strong engineer would write for the same work, with the same
durability, in plain DBAPI (`sqlite3`, `pymysql`; no SQLAlchemy).

    python -m bench.limit '<spec as JSON>'

runs in a fresh process (as the product's `heartbeat tick --until-idle` does): builds its queue
of items, then runs one transaction per batch until done, and prints a JSON line with its own
phase timings. It keeps its own minimal item table (`limit_items`, in the state database): per
item a position, the product id or key, the feed row for imports, and an outcome. None of the
product's bookkeeping (task row, attempt record, lease, saved plan, log lines, counters, change
tracking): that is what the ratio measures.

- queue: one bulk insert (multi-row INSERTs of 5000 rows); an export reads the shop's product ids
  in one query, an import reads the feed with `csv` and finds repeated keys in one query.
- export batch: one read of the batch's products (with language, shop, stock, category and
  manufacturer) and one of their combinations (with stock and attribute names), the same SQL as
  the connector's, encoded by the product's export format (byte-identical files); the batch's
  bytes appended and fsynced; the items' outcomes in one statement (`update_rows`); commit.
- import batch: one lookup of the batch's keys among products and one among combinations; what
  changed written one statement per table (prices on ps_product and ps_product_shop, quantities
  on ps_stock_available, date_upd on both product tables): set-based on MariaDB, an executemany on
  SQLite (`update_rows` says why), the shop committing first; the items' outcomes, the same way;
  commit. Values are set, never added: a redo is harmless.

`Runner` is also what each python-rq job of the peer runs (bench/peer.py). `connect` is the
bench's DBAPI connection helper (the checks in bench/verify.py use it too).
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from bench import rawlisting
from connectors.platform import export_format as fmt
from connectors.prestashop.shop import build_product

CHUNK = 5000  # rows per multi-row INSERT
ID_SHOP, ID_LANG = 1, 1
MICRO = Decimal("0.000001")
NOT_FOUND, UNCHANGED = "not found in shop", "unchanged"
SQLITE_PREFIX = "sqlite:///"

ITEMS_TABLE = ("CREATE TABLE limit_items (position INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, "
               "reference VARCHAR(64), payload TEXT, status VARCHAR(16) NOT NULL, detail TEXT)")
PRODUCTS_SQL = (
    "SELECT p.id_product, p.reference, p.ean13, p.upc, p.mpn, pl.name, pl.description_short, "
    "ps.active, ps.price, ps.wholesale_price, sa.quantity, p.weight, ps.id_category_default, "
    "cl.name, m.name, ps.date_upd, p.supplier_reference, p.width, p.height, p.depth, ps.{q}condition{q}, "
    "ps.visibility, ps.available_for_order, ps.minimal_quantity, ps.id_tax_rules_group, ps.ecotax "
    "FROM ps_product p "
    "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = ? "
    "LEFT OUTER JOIN ps_product_lang pl ON pl.id_product = p.id_product AND pl.id_shop = ? "
    "AND pl.id_lang = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = p.id_product "
    "AND sa.id_product_attribute = 0 AND sa.id_shop = ? "
    "LEFT OUTER JOIN ps_category_lang cl ON cl.id_category = ps.id_category_default "
    "AND cl.id_shop = ? AND cl.id_lang = ? "
    "LEFT OUTER JOIN ps_manufacturer m ON m.id_manufacturer = p.id_manufacturer "
    "WHERE p.id_product BETWEEN ? AND ? ORDER BY p.id_product"
)
COMBINATIONS_SQL = (
    "SELECT pa.id_product, pa.id_product_attribute, pa.reference, pa.ean13, pas.price, sa.quantity, "
    "agl.name, al.name FROM ps_product_attribute pa "
    "JOIN ps_product_attribute_shop pas ON pas.id_product_attribute = pa.id_product_attribute "
    "AND pas.id_shop = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = pa.id_product "
    "AND sa.id_product_attribute = pa.id_product_attribute AND sa.id_shop = ? "
    "LEFT OUTER JOIN ps_product_attribute_combination pac "
    "ON pac.id_product_attribute = pa.id_product_attribute "
    "LEFT OUTER JOIN ps_attribute a ON a.id_attribute = pac.id_attribute "
    "LEFT OUTER JOIN ps_attribute_group_lang agl ON agl.id_attribute_group = a.id_attribute_group "
    "AND agl.id_lang = ? "
    "LEFT OUTER JOIN ps_attribute_lang al ON al.id_attribute = a.id_attribute AND al.id_lang = ? "
    "WHERE pa.id_product BETWEEN ? AND ? ORDER BY pa.id_product_attribute, a.id_attribute_group, a.position"
)
LOOKUP_SQL = (
    "SELECT p.reference, p.id_product, ps.price, sa.quantity FROM ps_product p "
    "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = p.id_product "
    "AND sa.id_product_attribute = 0 AND sa.id_shop = ? WHERE p.reference IN ({keys})"
)
LOOKUP_COMBINATIONS_SQL = (  # the feed names products only, but an import must look among combinations
    "SELECT pa.reference FROM ps_product_attribute pa JOIN ps_product_attribute_shop pas "
    "ON pas.id_product_attribute = pa.id_product_attribute AND pas.id_shop = ? WHERE pa.reference IN ({keys})"
)


# -- connections ----------------------------------------------------------------------------------


@dataclass
class Db:
    """One DBAPI connection and the few things that differ between the two drivers."""

    conn: Any
    mysql: bool

    def __post_init__(self):
        self.cur = self.conn.cursor()

    def marks(self, n: int, width: int = 1) -> str:
        """n placeholders, or n rows of `width` placeholders."""
        mark = "%s" if self.mysql else "?"
        if width == 1:
            return ", ".join([mark] * n)
        return ", ".join([f"({', '.join([mark] * width)})"] * n)

    def sql(self, text: str) -> str:
        """`text` written with `?` placeholders, in this driver's style."""
        return text.replace("?", "%s") if self.mysql else text

    def begin(self) -> None:
        """Start a write transaction (pymysql has one open implicitly)."""
        if not self.mysql:
            self.cur.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.commit() if self.mysql else self.cur.execute("COMMIT")

    def rollback(self) -> None:
        if self.mysql:
            self.conn.rollback()
        elif self.conn.in_transaction:
            self.cur.execute("ROLLBACK")

    def ts(self, moment: datetime) -> Any:
        """A naive datetime as the product stores it (SQLAlchemy's SQLite text format)."""
        return moment if self.mysql else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def close(self) -> None:
        self.conn.close()


def connect(url: str, *, state: bool) -> Db:
    """A connection to a state database (`state=True`: on SQLite, WAL with synchronous=NORMAL as
    the product's) or a shop (the driver's defaults, as the connector's), from its URL."""
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX):]
        if state:
            conn = sqlite3.connect(path, isolation_level=None, timeout=60)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000"):
                conn.execute(f"PRAGMA {pragma}")
        else:  # mode=rw, as the connector opens a shop
            conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=60)
        return Db(conn, mysql=False)
    return Db(mysql_connect(url), mysql=True)


def mysql_connect(url: str, database: bool = True):
    """A pymysql connection (autocommit off, READ COMMITTED) from a mysql+pymysql:// URL."""
    import pymysql

    u = urlsplit(url)
    conn = pymysql.connect(
        host=u.hostname or "127.0.0.1", port=u.port or 3306, user=unquote(u.username or "root"),
        password=unquote(u.password or ""), database=(u.path.lstrip("/") or None) if database else None,
        charset="utf8mb4", autocommit=False,
    )
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    return conn


def update_rows(db: Db, table: str, sets: list[str], keys: list[str], rows: list[tuple],
                where: str = "", params: tuple = ()) -> None:
    """UPDATE `table` from `rows` (the values of `sets`, then of `keys`), the fastest way each
    driver has: on MariaDB one set-based statement, UPDATE ... JOIN (SELECT ... UNION ALL VALUES
    ...) (executemany would send one UPDATE per row); on SQLite, in-process, an executemany of one
    prepared UPDATE (twice as fast as UPDATE ... FROM (VALUES ...) there). A `sets` entry may be
    `column = +other`: the row's value plus the table's `other` column."""
    columns = [s.split(" = ")[0] for s in sets]
    if db.mysql:
        names = columns + keys
        first = ", ".join(f"%s AS c{i}" for i in range(len(names)))
        more = f" UNION ALL VALUES {db.marks(len(rows) - 1, len(names))}" if len(rows) > 1 else ""
        assign = ", ".join(f"{table}.{c} = v.c{i}" + (f" + {table}.{s.split('+')[1]}" if "+" in s else "")
                           for i, (c, s) in enumerate(zip(columns, sets, strict=True)))
        join = " AND ".join(f"{table}.{k} = v.c{len(columns) + i}" for i, k in enumerate(keys))
        db.cur.execute(f"UPDATE {table} JOIN (SELECT {first}{more}) AS v ON {join} SET {assign}"
                       + (f" WHERE {where}" if where else ""), (*(v for row in rows for v in row), *params))
        return
    assign = ", ".join(f"{c} = ?" + (f" + {s.split('+')[1]}" if "+" in s else "")
                       for c, s in zip(columns, sets, strict=True))
    match = " AND ".join(f"{k} = ?" for k in keys)
    db.cur.executemany(f"UPDATE {table} SET {assign} WHERE {match}" + (f" AND {where}" if where else ""),
                       [(*row, *params) for row in rows])


# -- the task -------------------------------------------------------------------------------------


@dataclass
class Spec:
    kind: str  # export | import
    state_url: str
    shop_url: str
    batch_size: int
    export_dir: str  # where the export file goes
    feed_path: str | None = None  # import
    profile: str = "bench-export"
    connection: str = "shop"

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Runner:
    """The limit's task: `create_and_start` builds the queue, `run_batch` does one batch."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.state = connect(spec.state_url, state=True)
        self.shop = connect(spec.shop_url, state=False)
        self.path = os.path.join(spec.export_dir, f"{spec.profile}-limit.json")
        self.done, self.total, self.offset, self.records, self.created = 0, 0, 0, 0, utcnow()
        self.at = datetime.now()  # the shop's local time: which specific prices are current, as the product
        self._facts = None  # the shop's languages, tax rates and category tree: read once

    def create_and_start(self) -> tuple[int, int, float]:
        """The queue built: (task id, items, seconds it took). The id is always 1: one task."""
        started, db = time.perf_counter(), self.state
        db.begin()
        db.cur.execute(ITEMS_TABLE)
        # every value a placeholder: only then does pymysql send a chunk as one multi-row INSERT
        insert = db.sql("INSERT INTO limit_items (position, product_id, reference, payload, status) "
                        "VALUES (?, ?, ?, ?, ?)")
        chunk: list[tuple] = []
        for row in self._entries():
            self.total += 1
            chunk.append((self.total, *row, "pending"))
            if len(chunk) == CHUNK:
                db.cur.executemany(insert, chunk)
                chunk = []
        if chunk:
            db.cur.executemany(insert, chunk)
        if self.spec.kind == "import":  # repeated keys: the first row counts, the others are skipped
            db.cur.execute("SELECT reference, MIN(position) FROM limit_items GROUP BY reference "
                           "HAVING COUNT(*) > 1")
            for reference, first in db.cur.fetchall():
                note = f"duplicate reference in feed (first at item {first})"
                db.cur.execute(db.sql("UPDATE limit_items SET detail = ? WHERE reference = ? "
                                      "AND position > ?"), (note, reference, first))
        db.commit()
        return 1, self.total, time.perf_counter() - started

    def _entries(self):
        if self.spec.kind == "export":
            self.shop.cur.execute(self.shop.sql(
                "SELECT ps.id_product, p.reference FROM ps_product_shop ps JOIN ps_product p "
                "ON p.id_product = ps.id_product WHERE ps.id_shop = ? ORDER BY ps.id_product"), (ID_SHOP,))
            yield from ((pid, ref, None) for pid, ref in self.shop.cur.fetchall())
            return
        with open(self.spec.feed_path, encoding="utf-8", newline="") as f:
            rows = csv.reader(f, delimiter=";")
            next(rows)  # Reference #;Price tax excluded;Quantity
            for reference, price, quantity in rows:
                yield 0, reference, f"{price};{quantity}"

    def _resume(self) -> None:
        """Where the task stands, for a Runner that did not build the queue (a peer's job)."""
        db = self.state
        db.cur.execute("SELECT COUNT(*), COALESCE(MAX(CASE WHEN status <> 'pending' THEN position END), 0), "
                       "SUM(CASE WHEN status = 'processed' THEN 1 ELSE 0 END) FROM limit_items")
        self.total, self.done, records = db.cur.fetchone()
        self.records = int(records or 0) if self.spec.kind == "export" else 0
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        db.rollback()

    def run_batch(self, task_id: int = 1) -> bool:
        """One batch in one transaction; True when it was the task's last."""
        if not self.total:
            self._resume()
        db = self.state
        db.begin()
        try:
            db.cur.execute(db.sql("SELECT position, product_id, reference, payload, detail FROM limit_items "
                                  "WHERE position > ? ORDER BY position LIMIT ?"),
                           (self.done, self.spec.batch_size))
            items = db.cur.fetchall()
            last = self.done + len(items) >= self.total
            if self.spec.kind == "export":
                outcomes = self._export(items, last)
            else:
                outcomes = self._import(items)
            if outcomes:
                update_rows(db, "limit_items", ["status", "detail"], ["position"],
                            [(status, detail, position) for position, status, detail in outcomes])
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self.done += len(items)
        return last

    def _export(self, items: list[tuple], last: bool) -> list[tuple]:
        if not items:
            return []
        products = self._read(items[0][1], items[-1][1])
        outcomes, records = [], []
        for position, product_id, *_ in items:
            product = products.get(product_id)
            if product is None:
                outcomes.append((position, "skipped", "not found in shop (deleted after the task started)"))
            else:
                records.append(fmt.encode_product(product))
                outcomes.append((position, "processed", None))
        data = b""
        if not self.offset:
            data = fmt.file_head(task_id=1, profile=self.spec.profile, connection=self.spec.connection,
                                 created_at=self.created.replace(tzinfo=UTC)).encode()
        if records:
            separator = fmt.SEPARATOR.encode()
            text = separator.join(records)
            data += text if not self.records else separator + text
            self.records += len(records)
        if last:
            data += fmt.FILE_TAIL.encode()
        os.makedirs(self.spec.export_dir, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:  # at the committed offset, then fsync: a redo after a crash overwrites the same bytes
            os.pwrite(fd, data, self.offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.offset += len(data)
        return outcomes

    def _read(self, first: int, last: int) -> dict[int, dict]:
        """The export records of the products with ids first..last (a batch's ids are ascending)."""
        shop, combinations, current = self.shop, {}, None
        shop.cur.execute(shop.sql(COMBINATIONS_SQL), (ID_SHOP, ID_SHOP, ID_LANG, ID_LANG, first, last))
        for id_product, id_pa, reference, ean13, price, quantity, group, value in shop.cur.fetchall():
            if current is None or current["id_product_attribute"] != id_pa:
                current = fmt.combination(id_product_attribute=id_pa, reference=reference, ean13=ean13,
                                          price_impact=price, quantity=quantity, attributes={})
                combinations.setdefault(id_product, []).append(current)
            if group is not None and value is not None:
                current["attributes"][group] = value
        shop.cur.execute(shop.sql(PRODUCTS_SQL.format(q="`" if shop.mysql else '"')),
                         (ID_SHOP, ID_SHOP, ID_LANG, ID_SHOP, ID_SHOP, ID_LANG, first, last))
        found = shop.cur.fetchall()
        if self._facts is None:
            self._facts = rawlisting.facts(shop)
        # format /2's listing reads: one query per table for the batch, as the product's
        extras = rawlisting.extras(shop, self._facts.languages, first, last, self.at)
        return {r[0]: build_product(r, combinations.get(r[0], []), extras, self._facts, None, ID_LANG)
                for r in found}

    def _import(self, items: list[tuple]) -> list[tuple]:
        shop = self.shop
        keys = [i[2] for i in items if i[2] and not i[4]]
        found: dict[str, tuple] = {}
        in_combinations: set[str] = set()
        if keys:
            marks = shop.marks(len(keys))
            shop.cur.execute(shop.sql(LOOKUP_SQL.format(keys=marks)), (ID_SHOP, ID_SHOP, *keys))
            found = {r[0]: r for r in shop.cur.fetchall()}
            shop.cur.execute(shop.sql(LOOKUP_COMBINATIONS_SQL.format(keys=marks)), (ID_SHOP, *keys))
            in_combinations = {r[0] for r in shop.cur.fetchall()}
        outcomes, prices, quantities = [], [], []
        for position, _, reference, payload, detail in items:
            row = found.get(reference)
            if detail or row is None or reference in in_combinations:
                outcomes.append((position, "skipped", detail or (NOT_FOUND if row is None else "ambiguous")))
                continue
            price_text, quantity_text = payload.split(";")
            try:
                price, quantity = Decimal(price_text).quantize(MICRO), int(quantity_text)
            except (InvalidOperation, ValueError):
                outcomes.append((position, "error", f"bad value (item {position})"))
                continue
            old_price, old_quantity = decimal_of(row[2]), int(row[3] or 0)
            changes = []
            if price != old_price:
                prices.append((price if shop.mysql else float(price), row[1]))
                changes.append(f"price: {fmt.format_decimal(old_price)} -> {fmt.format_decimal(price)}")
            if quantity != old_quantity:
                quantities.append((quantity, row[1]))
                changes.append(f"quantity: {old_quantity} -> {quantity}")
            outcomes.append((position, "processed", "; ".join(changes)) if changes
                            else (position, "skipped", UNCHANGED))
        self._write(prices, quantities)
        return outcomes

    def _write(self, prices: list[tuple], quantities: list[tuple]) -> None:
        """One statement per table (`update_rows`), the shop committing first."""
        touched = sorted({i for _, i in prices} | {i for _, i in quantities})
        if not touched:
            return
        shop = self.shop
        shop.begin()
        if prices:
            update_rows(shop, "ps_product", ["price"], ["id_product"], prices)
            update_rows(shop, "ps_product_shop", ["price"], ["id_product"], prices,
                        shop.sql("ps_product_shop.id_shop = ?"), (ID_SHOP,))
        if quantities:
            update_rows(shop, "ps_stock_available", ["quantity", "physical_quantity = +reserved_quantity"],
                        ["id_product"], [(q, q, pid) for q, pid in quantities],
                        shop.sql("ps_stock_available.id_product_attribute = 0 "
                                 "AND ps_stock_available.id_shop = ?"), (ID_SHOP,))
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # PrestaShop keeps local time
        marks = shop.marks(len(touched))
        shop.cur.execute(shop.sql(f"UPDATE ps_product SET date_upd = ? WHERE id_product IN ({marks})"),
                         (stamp, *touched))
        shop.cur.execute(shop.sql(f"UPDATE ps_product_shop SET date_upd = ? WHERE id_product IN ({marks}) "
                                  "AND id_shop = ?"), (stamp, *touched, ID_SHOP))
        shop.commit()

    def close(self) -> None:
        self.state.close()
        self.shop.close()


def decimal_of(value) -> Decimal:
    """A DECIMAL column as the driver gives it (float on SQLite, Decimal on MariaDB)."""
    return Decimal(repr(value) if isinstance(value, float) else value or 0).quantize(MICRO)


def main(argv: list[str]) -> int:
    runner = Runner(Spec(**json.loads(argv[0])))
    task_id, total, queue_s = runner.create_and_start()
    started, batches = time.perf_counter(), 0
    while True:
        batches += 1
        if runner.run_batch(task_id):
            break
    runner.close()
    print(json.dumps({"task_id": task_id, "total": total, "queue_s": queue_s,
                      "batches_s": time.perf_counter() - started, "batches": batches,
                      "export_path": runner.path if runner.spec.kind == "export" else None,
                      "export_bytes": runner.offset}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
