"""The limit's shop work: the same reads and writes as the product's profiles, in plain SQL.

Export: the queue is read with the connector's query (keyset pages of 5000); a batch reads its
products with the same joins as `PrestaShop.read_products` (product, shop, language, stock, category,
manufacturer; then combinations with their stock and attribute names) and encodes them with the
product's own export format (connectors/platform/export_format.py), so the export files are
byte-identical and a difference in speed is a difference in everything around that.

Import: the feed is a CSV in PrestaShop's import layout (bench/feed.py), queued as the product
queues it (each item carries its row as JSON); a batch looks its references up among the shop's
products and combinations (two queries, as connectors/prestashop/writer.py), and sets what changed
as the writer does: price on ps_product and ps_product_shop, quantity on ps_stock_available,
date_upd on the products touched; the shop commits before the state database (values are set,
never added, so a batch redone after a crash is harmless).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bench import rawlisting
from bench.sql import Db
from connectors.platform import export_format as fmt
from connectors.prestashop.shop import build_product

QUEUE_PAGE = 5000
IDS_PER_QUERY = 5000
ID_SHOP, ID_LANG = 1, 1
NOT_FOUND = "not found in shop (deleted after the task started)"
MICRO = Decimal("0.000001")

QUEUE_SQL = (
    "SELECT ps.id_product, p.reference, pl.name FROM ps_product_shop ps "
    "JOIN ps_product p ON p.id_product = ps.id_product "
    "LEFT OUTER JOIN ps_product_lang pl ON pl.id_product = ps.id_product AND pl.id_shop = ps.id_shop "
    "AND pl.id_lang = ? WHERE ps.id_shop = ? AND ps.id_product > ? ORDER BY ps.id_product LIMIT ?"
)
PRODUCTS_SQL = (
    "SELECT p.id_product, p.reference, p.ean13, p.upc, p.mpn, pl.name, pl.description_short, "
    "ps.active, ps.price, ps.wholesale_price, sa.quantity, p.weight, ps.id_category_default, "
    "cl.name, m.name, ps.date_upd, p.supplier_reference, p.width, p.height, p.depth, ps.{q}condition{q}, "
    "ps.visibility, ps.available_for_order, ps.minimal_quantity, ps.id_tax_rules_group FROM ps_product p "
    "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = ? "
    "LEFT OUTER JOIN ps_product_lang pl ON pl.id_product = p.id_product AND pl.id_shop = ? "
    "AND pl.id_lang = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = p.id_product "
    "AND sa.id_product_attribute = 0 AND sa.id_shop = ? "
    "LEFT OUTER JOIN ps_category_lang cl ON cl.id_category = ps.id_category_default "
    "AND cl.id_shop = ? AND cl.id_lang = ? "
    "LEFT OUTER JOIN ps_manufacturer m ON m.id_manufacturer = p.id_manufacturer "
    "WHERE p.id_product IN ({ids}) ORDER BY p.id_product"
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
    "WHERE pa.id_product IN ({ids}) ORDER BY pa.id_product_attribute, a.id_attribute_group, a.position"
)
IMPORT_READ_SQL = (
    "SELECT p.id_product, p.reference, ps.price, sa.quantity FROM ps_product p "
    "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = p.id_product "
    "AND sa.id_product_attribute = 0 AND sa.id_shop = ? WHERE p.reference IN ({refs})"
)
IMPORT_READ_COMBINATIONS_SQL = (
    "SELECT pa.id_product, pa.id_product_attribute, pa.reference, pas.price, sa.quantity "
    "FROM ps_product_attribute pa "
    "JOIN ps_product_attribute_shop pas ON pas.id_product_attribute = pa.id_product_attribute "
    "AND pas.id_shop = ? "
    "LEFT OUTER JOIN ps_stock_available sa ON sa.id_product = pa.id_product "
    "AND sa.id_product_attribute = pa.id_product_attribute AND sa.id_shop = ? "
    "WHERE pa.reference IN ({refs})"
)


def queue(shop: Db) -> Iterator[tuple]:
    """(id_product, 0, reference, name) of every product, ascending, in keyset pages."""
    sql, last = shop.sql(QUEUE_SQL), 0
    while True:
        shop.cur.execute(sql, (ID_LANG, ID_SHOP, last, QUEUE_PAGE))
        page = shop.cur.fetchall()
        for id_product, reference, name in page:
            yield id_product, 0, reference or "", name or ""
        if len(page) < QUEUE_PAGE:
            return
        last = page[-1][0]


def export_batch(shop: Db, items: list[tuple], at: datetime) -> tuple[list[tuple], dict[int, str]]:
    """Outcomes (position, status, action, detail) and the JSON record of each product found;
    `at`, the shop's local time when the task started, picks the current specific prices."""
    ids = [i[1] for i in items]
    products: dict[int, dict] = {}
    facts = _facts(shop)
    quote = "`" if shop.mysql else '"'
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        combinations = _combinations(shop, chunk)
        shop.cur.execute(shop.sql(PRODUCTS_SQL.format(ids=shop.marks(len(chunk)), q=quote)),
                         (ID_SHOP, ID_SHOP, ID_LANG, ID_SHOP, ID_SHOP, ID_LANG, *chunk))
        found = shop.cur.fetchall()
        extras = rawlisting.extras(shop, facts.languages, chunk, at)
        for r in found:
            products[r[0]] = build_product(r, combinations.get(r[0], []), extras, facts, None, ID_LANG)
    outcomes, records = [], {}
    for position, product_id, *_ in items:
        product = products.get(product_id)
        if product is None:
            outcomes.append((position, "skipped", "none", NOT_FOUND))
            continue
        records[product_id] = fmt.dumps_product(product)
        outcomes.append((position, "processed", "exported", None))
    return outcomes, records


_FACTS: dict[int, object] = {}


def _facts(shop: Db):
    """The shop-wide facts, read once per shop connection (the product: once per task)."""
    if id(shop) not in _FACTS:
        _FACTS[id(shop)] = rawlisting.facts(shop)
    return _FACTS[id(shop)]


def _combinations(shop: Db, ids: list[int]) -> dict[int, list[dict]]:
    shop.cur.execute(shop.sql(COMBINATIONS_SQL.format(ids=shop.marks(len(ids)))),
                     (ID_SHOP, ID_SHOP, ID_LANG, ID_LANG, *ids))
    by_product: dict[int, list[dict]] = {}
    current = None
    for id_product, id_pa, reference, ean13, price, quantity, group, value in shop.cur.fetchall():
        if current is None or current["id_product_attribute"] != id_pa:
            current = fmt.combination(id_product_attribute=id_pa, reference=reference, ean13=ean13,
                                      price_impact=price, quantity=quantity, attributes={})
            by_product.setdefault(id_product, []).append(current)
        if group is not None and value is not None:
            current["attributes"][group] = value
    return by_product


def _datetime(value) -> datetime | None:
    """sqlite3 gives the text SQLAlchemy would have parsed; pymysql gives a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- import ---------------------------------------------------------------------------------------


def feed_queue(path: str) -> Iterator[tuple]:
    """(0, 0, reference, None, payload) per feed row, the payload being the row as the product
    keeps it: {"line": physical line, "fields": {canonical field: text}}."""
    names = {"Reference #": "reference", "Price tax excluded": "price", "Quantity": "quantity"}
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter=";")
        header = [names[h] for h in next(rows)]
        for line, row in enumerate(rows, start=2):
            fields = dict(zip(header, row, strict=True))
            yield 0, 0, fields["reference"], None, json.dumps({"line": line, "fields": fields},
                                                             ensure_ascii=False)


def import_batch(shop: Db, items: list[tuple], now: datetime) -> list[tuple]:
    """Compare each item's row with the shop, write what changed (committed), return the outcomes
    (position, status, action, detail[, id_product matched])."""
    refs = [i[3] for i in items if i[3] and not i[6]]
    found: dict[str, tuple] = {}
    if refs:
        marks = shop.marks(len(refs))
        shop.cur.execute(shop.sql(IMPORT_READ_SQL.format(refs=marks)), (ID_SHOP, ID_SHOP, *refs))
        found = {r[1]: r for r in shop.cur.fetchall()}
        # The feed names products only, but an import must look for combinations too.
        shop.cur.execute(shop.sql(IMPORT_READ_COMBINATIONS_SQL.format(refs=marks)), (ID_SHOP, ID_SHOP, *refs))
        shop.cur.fetchall()
    outcomes, prices, quantities = [], [], []
    for position, _pid, _cid, reference, _name, payload, detail in items:
        row = found.get(reference)
        if detail or row is None:
            outcomes.append((position, "skipped", "none", detail or "not found in shop"))
            continue
        data = json.loads(payload)
        fields = data["fields"]
        try:
            price, quantity = Decimal(fields["price"]).quantize(MICRO), int(fields["quantity"])
        except (InvalidOperation, ValueError):
            outcomes.append((position, "error", "none", f"bad value (line {data['line']})", row[0]))
            continue
        old_price, old_quantity = decimal_of(row[2]), int(row[3] or 0)
        changes = []
        if price != old_price:
            prices.append((row[0], price))
            changes.append(f"price: {fmt.format_decimal(old_price)} -> {fmt.format_decimal(price)}")
        if quantity != old_quantity:
            quantities.append((row[0], quantity))
            changes.append(f"quantity: {old_quantity} -> {quantity}")
        outcomes.append((position, "processed", "updated", "; ".join(changes), row[0]) if changes
                        else (position, "skipped", "none", "unchanged", row[0]))
    _write_shop(shop, prices, quantities, now)
    return outcomes


def _write_shop(shop: Db, prices: list[tuple], quantities: list[tuple], now: datetime) -> None:
    touched = sorted({i for i, _ in prices} | {i for i, _ in quantities})
    if not touched:
        return
    shop.begin()
    cast = str if shop.mysql else float
    if prices:
        shop.cur.executemany(shop.sql("UPDATE ps_product SET price = ? WHERE id_product = ?"),
                             [(cast(p), i) for i, p in prices])
        shop.cur.executemany(shop.sql("UPDATE ps_product_shop SET price = ? WHERE id_product = ? "
                                      "AND id_shop = ?"), [(cast(p), i, ID_SHOP) for i, p in prices])
    if quantities:
        shop.cur.executemany(shop.sql(
            "UPDATE ps_stock_available SET quantity = ?, physical_quantity = ? + reserved_quantity "
            "WHERE id_product = ? AND id_product_attribute = 0 AND id_shop = ?"),
            [(q, q, i, ID_SHOP) for i, q in quantities])
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    for start in range(0, len(touched), IDS_PER_QUERY):
        chunk = touched[start:start + IDS_PER_QUERY]
        shop.cur.execute(shop.sql(f"UPDATE ps_product SET date_upd = ? WHERE id_product IN "
                                  f"({shop.marks(len(chunk))})"), (stamp, *chunk))
        shop.cur.execute(shop.sql(f"UPDATE ps_product_shop SET date_upd = ? WHERE id_product IN "
                                  f"({shop.marks(len(chunk))}) AND id_shop = ?"), (stamp, *chunk, ID_SHOP))
    shop.commit()


def decimal_of(value) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(MICRO)
    return Decimal(value or 0).quantize(MICRO)
