"""Every per-batch read of an export uses a key on both backends (issue 28): EXPLAIN (MariaDB) and
EXPLAIN QUERY PLAN (SQLite) of each statement, for a dense and a sparse batch, on a shop of 100,000
products, before and after the database's statistics are taken (MariaDB chose bad plans with fresh
statistics after a bulk load). A full scan of a per-product table fails the test: its cost grows with
the catalogue at every batch, so an export would grow with the square of it.

The 100,000 products are a demo shop of 12,500 doubled three times by INSERT ... SELECT with every
per-product id shifted (seconds, where generating them takes about a minute on MariaDB).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.prestashop import PrestaShop, create_demo_shop

pytestmark = pytest.mark.slow

PER_PRODUCT = ("product", "product_shop", "product_lang", "stock_available", "product_attribute",
               "product_attribute_shop", "product_attribute_combination", "product_attribute_image",
               "image", "image_shop", "image_lang", "category_product", "feature_product", "specific_price",
               "specific_price_priority", "product_group_reduction_cache")
# each per-product id column and the table whose maximum shifts it
SHIFTED = {"id_product": "product", "id_product_attribute": "product_attribute", "id_image": "image",
           "id_stock_available": "stock_available", "id_specific_price": "specific_price",
           "id_specific_price_priority": "specific_price_priority"}
SEED_PRODUCTS, DOUBLINGS = 12_500, 3


def double(engine: sa.Engine, prefix: str = "ps_") -> None:
    """Copy every per-product row once more, its per-product ids shifted past the largest (0, as in
    id_product_attribute = 0, stays 0; catalogue-wide specific prices are not copied)."""
    meta = sa.MetaData()
    meta.reflect(engine, only=[prefix + name for name in PER_PRODUCT])
    with engine.begin() as conn:
        shift = {column: conn.execute(sa.select(sa.func.max(meta.tables[prefix + owner].c[column]))).scalar()
                 for column, owner in SHIFTED.items()}
        for name in PER_PRODUCT:
            table = meta.tables[prefix + name]
            values = [sa.case((c == 0, 0), else_=c + shift[c.name]) if c.name in shift else c
                      for c in table.c]
            select = sa.select(*values)
            if "id_product" in table.c:
                select = select.where(table.c.id_product != 0)
            conn.execute(table.insert().from_select([c.name for c in table.c], select))


def seed_rare_rows(engine: sa.Engine) -> None:
    """Give every 10th product a priority order and every 7th a group reduction: the demo shop has
    (next to) none, and a planner reads a table of one row whole, which says nothing of a big one."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM ps_specific_price_priority")
        conn.exec_driver_sql("DELETE FROM ps_product_group_reduction_cache")
        conn.execute(sa.text(
            "INSERT INTO ps_specific_price_priority (id_specific_price_priority, id_product, priority) "
            "SELECT id_product, id_product, 'id_customer;id_shop;id_currency;id_country;id_group' "
            "FROM ps_product WHERE id_product % 10 = 0"))
        conn.execute(sa.text(
            "INSERT INTO ps_product_group_reduction_cache (id_product, id_group, reduction) "
            "SELECT id_product, 1, 0.05 FROM ps_product WHERE id_product % 7 = 0"))


def analyze(engine: sa.Engine, prefix: str = "ps_") -> None:
    """Take the statistics the planner uses (SQLite: sqlite_stat1; MariaDB: persistent statistics)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE TABLE " + ", ".join(prefix + name for name in PER_PRODUCT))


KEYS = ("id_product", "id_image", "id_product_attribute", "rowid")  # what reaches a batch's rows


def full_scans(plan: list[tuple], dialect: str, batch: int, prefix: str = "ps_") -> list[str]:
    """The plan's steps that read the whole of a per-product table (or of one of its indexes, or
    all rows of a key as unselective as id_shop = 1 or id_cart = 0)."""
    tables = {prefix + name for name in PER_PRODUCT}
    if dialect == "sqlite":  # (id, parent, notused, detail): "SCAN t", "SEARCH t USING INDEX i (id_shop=?)"
        found = []
        for detail in (row[3] for row in plan):
            words = detail.split()
            if len(words) < 2 or words[0] not in ("SCAN", "SEARCH") or words[1] not in tables:
                continue
            if words[0] == "SCAN" or not any(key in detail.partition("(")[2] for key in KEYS):
                found.append(detail)
        return found
    # (id, select_type, table, type, possible_keys, key, key_len, ref, rows, Extra): ALL and index
    # read it all; so does a key read whose estimate is many times the batch (id_cart = 0)
    return [f"{row[2]}: type {row[3]}, key {row[5]}, rows {row[8]}" for row in plan if row[2] in tables and (
        row[3] in ("ALL", "index") or int(row[8] or 0) > 10 * batch)]


@pytest.fixture
def big_shop(shop_url):
    create_demo_shop(shop_url, products=SEED_PRODUCTS, seed=42)
    engine = sa.create_engine(shop_url)
    try:
        seed_rare_rows(engine)
        for _ in range(DOUBLINGS):
            double(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM ps_product")).scalar() == 100_000
    finally:
        engine.dispose()
    return shop_url


BATCHES = {"dense": list(range(50_001, 51_001)),  # a full export's batch: the range alone
           "sparse": list(range(20_001, 80_001, 60))}  # 1,000 ids far apart: the range and the list


def test_every_per_batch_read_uses_a_key_at_100k_products(big_shop):
    engine = sa.create_engine(big_shop)
    try:
        with PrestaShop(big_shop, name="big") as shop:
            for statistics in ("as loaded", "analyzed"):
                if statistics == "analyzed":
                    analyze(engine)
                for kind, ids in BATCHES.items():
                    plans = shop.plans(ids)
                    assert set(plans) >= {"products", "combinations", "texts", "images", "sales"}
                    scans = {name: found for name, plan in plans.items()
                             if (found := full_scans(plan, shop.dialect.name, len(ids)))}
                    assert scans == {}, f"{statistics}, {kind} batch: full scans {scans}"
            assert len(shop.read_products(BATCHES["dense"])) == 1000  # and the reads run
    finally:
        engine.dispose()
