"""A shop whose group shares stock (ps_shop_group.share_stock = 1) keeps its quantities on the
group's rows (id_shop 0, id_shop_group G): exports read them, imports write them, as PrestaShop's
StockAvailable does."""

from __future__ import annotations

import json

from connectors.prestashop import PrestaShop, create_demo_shop
from reports import export_file
from tests.helpers import import_config, make_config, make_heartbeat, raw, share_stock, write_csv

PRODUCTS = 12


def test_a_shop_of_a_group_sharing_stock_reads_the_groups_rows(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    share_stock(shop_url)
    with PrestaShop(shop_url) as shop:
        assert shop.stock == (0, 1)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=5), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    products = json.loads(b"".join(export_file.read(beat.store.get(task.id))))["products"]
    simple = {p["id_product"]: p["quantity"] for p in products if not p["combinations"]}
    assert simple and all(q == (0 if pid == 2 else 1000 + pid) for pid, q in simple.items())


def test_an_import_writes_the_groups_stock_rows(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    share_stock(shop_url)
    simple = [r for r, in raw(shop_url, "SELECT p.reference FROM ps_product p WHERE p.id_product IN (1, 2) "
                                        "ORDER BY p.id_product")]
    feed = write_csv(tmp_path / "feed.csv", [["reference", "quantity"], [simple[0], "42"], [simple[1], "5"]])
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)},
                                        fields=["quantity"]), clock)
    task = beat.store.create(beat.config.profile("supplier"), "manual", clock.now(), clock.now())
    beat.run_until_idle()

    assert beat.store.get(task.id).progress.processed == 2
    rows = raw(shop_url, "SELECT id_product, id_shop, id_shop_group, quantity FROM ps_stock_available "
                         "WHERE id_product IN (1, 2) AND id_product_attribute = 0 "
                         "ORDER BY id_product, id_shop")
    assert [tuple(r) for r in rows] == [(1, 0, 1, 42), (1, 1, 0, 7), (2, 0, 1, 5), (2, 1, 0, 7)]


def test_a_shop_of_its_own_stock_keeps_using_its_rows(demo_url):
    with PrestaShop(demo_url) as shop:
        assert shop.stock == (1, 0)
