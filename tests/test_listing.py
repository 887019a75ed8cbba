"""What a marketplace listing needs (format /2): every field checked against the shop's own tables,
taxes as PrestaShop computes them, current specific prices, image URLs, deleted entries, and reads
that stay one query per table per batch. Database tests run on SQLite and MariaDB."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import jsonschema
import pytest
import sqlalchemy as sa

from connectors.platform import export_format as fmt
from connectors.prestashop import PrestaShop, create_demo_shop
from connectors.prestashop.listing import image_url, tax_rate
from reports import export_file
from tests.helpers import execute, make_config, make_heartbeat, raw

N = 120
NOW = datetime(2026, 11, 29, 12, 0)  # the demo's week-long sale (27 Nov - 3 Dec) is on


@pytest.fixture
def demo_products():
    return N


@pytest.fixture
def shop(demo_url):
    with PrestaShop(demo_url, name="demo_shop", base_url="https://shop.example/") as s:
        yield s


# -- pure rules ---------------------------------------------------------------------------------


def test_image_urls_are_built_as_prestashops_link_get_image_link_builds_them():
    assert image_url("https://shop.example", 123, "large_default") == \
        "https://shop.example/img/p/1/2/3/123-large_default.jpg"
    assert image_url("https://shop.example/", 7) == "https://shop.example/img/p/7/7.jpg"
    assert image_url("https://shop.example/", 7, "home_default", "blue-mug", friendly=True) == \
        "https://shop.example/7-home_default/blue-mug.jpg"
    assert image_url(None, 7) is None


@pytest.mark.parametrize("rules, rate", [
    ([], "0"),
    ([(0, 20.0)], "20.0"),
    ([(0, 20.0), (0, 5.5)], "20.0"),  # behavior 0: this tax only
    ([(1, 5.0), (1, 9.975)], "14.975"),  # combined: rates added (Quebec's GST + QST)
    ([(2, 10.0), (2, 10.0)], "21.000"),  # one after another: 1.1 * 1.1
    ([(1, 5.0), (0, 3.0), (1, 7.0)], "8.0"),  # a behavior-0 rule ends the list
])
def test_a_tax_rules_group_rate_follows_prestashops_tax_calculator(rules, rate):
    assert tax_rate(rules) == Decimal(rate)


# -- against the shop's tables ------------------------------------------------------------------


def test_every_listing_field_equals_the_shops(shop, demo_url):
    pid = raw(demo_url, "SELECT MIN(id_product) FROM ps_product_attribute")[0][0]
    product = shop.read_products([pid], at=NOW)[pid]
    row = raw(demo_url, f"""
        SELECT p.supplier_reference, p.width, p.height, p.depth, s.condition, s.visibility,
               s.available_for_order, s.minimal_quantity, s.price
        FROM ps_product p JOIN ps_product_shop s ON s.id_product = p.id_product AND s.id_shop = 1
        WHERE p.id_product = {pid}""")[0]
    assert product["supplier_reference"] == row[0]
    dimensions = [Decimal(product[k]) for k in ("width", "height", "depth")]
    assert dimensions == [Decimal(str(v)) for v in row[1:4]]
    assert (product["condition"], product["visibility"]) == (row[4], row[5])
    assert (product["available_for_order"], product["minimal_quantity"]) == (bool(row[6]), row[7])
    price = Decimal(str(row[8]))
    default = raw(demo_url, f"SELECT price FROM ps_product_attribute_shop WHERE id_product = {pid} "
                            "AND id_shop = 1 AND default_on = 1")[0][0]  # PrestaShop shows a product so
    assert Decimal(product["price_tax_incl"]) == ((price + Decimal(str(default))) * Decimal("1.2")).quantize(
        Decimal("0.000001"))
    assert product["tax_rate"] == "20.00"
    texts = {iso: (n, d, s, r) for iso, n, d, s, r in raw(demo_url, f"""
        SELECT l.iso_code, pl.name, pl.description, pl.description_short, pl.link_rewrite
        FROM ps_product_lang pl JOIN ps_lang l ON l.id_lang = pl.id_lang WHERE pl.id_product = {pid}""")}
    assert set(product["languages"]) == {"en", "fr"}
    for iso, (name, long, short, rewrite) in texts.items():
        assert product["languages"][iso] == {"name": name, "description_short": short, "description": long,
                                             "link_rewrite": rewrite}
    images = raw(demo_url, f"SELECT id_image, position, cover FROM ps_image WHERE id_product = {pid} "
                           "ORDER BY position")
    assert [(i["id"], i["position"], i["cover"]) for i in product["images"]] == [
        (i, p, bool(c)) for i, p, c in images]
    assert product["images"][0]["url"] == image_url("https://shop.example", images[0][0], "large_default")
    assert product["images"][0]["legend"] == {"en": texts["en"][0], "fr": texts["fr"][0]}
    linked = [c for (c,) in raw(demo_url, "SELECT id_category FROM ps_category_product "
                                          f"WHERE id_product = {pid} ORDER BY id_category")]
    assert [c["id"] for c in product["categories"]] == linked
    assert product["category"]["path"].startswith("Home > ")
    material = raw(demo_url, f"""
        SELECT fl.name, fvl.value FROM ps_feature_product fp
        JOIN ps_feature_lang fl ON fl.id_feature = fp.id_feature AND fl.id_lang = 2
        JOIN ps_feature_value_lang fvl ON fvl.id_feature_value = fp.id_feature_value AND fvl.id_lang = 2
        WHERE fp.id_product = {pid} AND fp.id_feature = 1""")[0]
    assert product["features"]["fr"][material[0]] == material[1]
    for c in product["combinations"]:
        impact = Decimal(c["price_impact"])
        assert Decimal(c["price_tax_excl"]) == price + impact
        assert set(c["languages"]) == {"en", "fr"} and c["languages"]["en"] == c["attributes"]
        shown = [i for (i,) in raw(demo_url, "SELECT id_image FROM ps_product_attribute_image "
                                             f"WHERE id_product_attribute = {c['id_product_attribute']}")]
        assert c["images"] == shown and shown and shown[0] in [i["id"] for i in product["images"]]


def test_taxes_follow_the_group_the_country_and_ps_tax(shop, demo_url):
    execute(demo_url, "UPDATE ps_product_shop SET id_tax_rules_group = 2 WHERE id_product = 3",
            "UPDATE ps_product_shop SET id_tax_rules_group = 0 WHERE id_product = 4")
    with PrestaShop(demo_url) as fresh:
        got = fresh.read_products([1, 3, 4])
    assert [got[p]["tax_rate"] for p in (1, 3, 4)] == ["20.00", "5.50", "0.00"]
    price = Decimal(got[3]["price"])
    assert Decimal(got[3]["price_tax_incl"]) == (price * Decimal("1.055")).quantize(Decimal("0.000001"))
    execute(demo_url, "UPDATE ps_configuration SET value = '0' WHERE name = 'PS_TAX'")
    with PrestaShop(demo_url) as untaxed:
        assert untaxed.read_products([1])[1]["tax_rate"] == "0.00"
    execute(demo_url, "UPDATE ps_configuration SET value = '1' WHERE name = 'PS_TAX'",
            "INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) "
            "VALUES (NULL, 1, 'PS_COUNTRY_DEFAULT', '21', '2024-01-01 00:00:00', '2024-01-01 00:00:00')")
    with PrestaShop(demo_url) as elsewhere:  # the shop's own value wins: a country without rules
        assert elsewhere.read_products([1])[1]["tax_rate"] == "0.00"


def test_the_current_sale_is_chosen_as_prestashop_does(shop, demo_url):
    at_week = shop.read_products([7, 20, 40, 60], at=NOW)
    before = shop.read_products([7, 20, 40, 60], at=datetime(2026, 11, 2))
    assert at_week[40]["specific_price"]["reduction"] == "0.10"  # for good
    assert at_week[20]["specific_price"]["reduction"] == "0.25"  # the dated one wins over the unlimited
    assert before[20]["specific_price"]["reduction"] == "0.10" == before[60]["specific_price"]["reduction"]
    assert before[7]["specific_price"] is None is at_week[7]["specific_price"]
    sale = at_week[60]["specific_price"]
    assert (sale["from"], sale["to"]) == ("2026-11-27T00:00:00", "2026-12-03T23:59:59")
    assert Decimal(sale["price_tax_excl"]) == (Decimal(at_week[60]["price"]) * Decimal("0.75")).quantize(
        Decimal("0.000001"))
    quote = '"' if demo_url.startswith("sqlite") else "`"  # from and to are reserved words
    execute(demo_url, "INSERT INTO ps_specific_price (id_product, id_shop, id_group, price, reduction, "
                      f"reduction_tax, reduction_type, {quote}from{quote}, {quote}to{quote}) "
                      "VALUES (40, 1, 3, -1, 0.5, 1, 'percentage', '0000-00-00 00:00:00', "
                      "'0000-00-00 00:00:00')")
    with PrestaShop(demo_url) as again:  # a customer group's price is not the public one
        assert again.read_products([40], at=NOW)[40]["specific_price"]["reduction"] == "0.10"


def test_reads_stay_one_query_per_table_per_batch(shop, demo_url):
    statements = []
    engine = shop._engine

    def count(*_args):
        statements.append(1)

    shop.read_products([1], at=NOW)  # the shop-wide facts, read once
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        shop.read_products(range(1, 11), at=NOW)
        few = len(statements)
        statements.clear()
        shop.read_products(range(1, N + 1), at=NOW)
        assert len(statements) == few <= 12  # products, combinations, and one per listing table
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


# -- end to end ---------------------------------------------------------------------------------


def test_a_deleted_product_is_announced_once_then_forgotten(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=30)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=7), clock)
    profile = beat.config.profile("export-products")

    def run():
        task = beat.store.create(profile, "manual", clock.now(), clock.now())
        beat.run_until_idle()
        done = beat.store.get(task.id)
        document = json.loads(b"".join(export_file.read(done)))
        jsonschema.Draft202012Validator(fmt.load_schema()).validate(document)
        items = {i.product_id: (i.status, i.detail) for i in beat.store.items(task.id)}
        return done, document["products"], items

    first, products, _ = run()
    assert len(products) == 30 and all("languages" in p for p in products)
    execute(shop_url, "DELETE FROM ps_product_shop WHERE id_product IN (4, 30)")
    second, products, items = run()
    assert products == [{"id_product": 4, "reference": "DEMO-000004", "deleted": True},
                        {"id_product": 30, "reference": "DEMO-000030", "deleted": True}]
    assert items[4] == ("processed", f"deleted from the shop since task #{first.id}: announced")
    assert second.progress.processed == 2 and second.progress.skipped == 28
    assert 4 not in beat.store.sent.tracked("export-products")
    third, products, _ = run()
    assert products == [] and third.progress.total == 28


def test_a_json_feed_of_an_export_file_leaves_deleted_entries_out(tmp_path):
    from connectors.feeds import open_feed

    kept = {"id_product": 3, "reference": "DEMO-000003", "price": "10.00", "quantity": 4}
    lines = [fmt.dumps_product(kept), fmt.dumps_product(fmt.deleted(4, "DEMO-000004"))]
    path = tmp_path / "feed.json"
    head = fmt.file_head(task_id=1, profile="p", connection="c", created_at=NOW.astimezone())
    path.write_text(head + fmt.SEPARATOR.join(lines) + fmt.FILE_TAIL)
    rows = list(open_feed({"path": str(path)}, "supplier").rows())
    assert [(r.fields.get("reference"), r.error) for r in rows] == [("DEMO-000003", None)]


def test_a_second_shop_exports_its_own_products_prices_stock_and_names(shop_url):
    create_demo_shop(shop_url, products=40, shops=2)
    with PrestaShop(shop_url, id_shop=2, base_url="https://outlet.example") as outlet, \
            PrestaShop(shop_url) as main:
        sold = outlet.read_products(range(1, 41), at=NOW)
        everything = main.read_products(range(1, 41), at=NOW)
    assert sorted(sold) == list(range(2, 41, 2))  # the products the outlet has a ps_product_shop row for
    for pid, product in sold.items():
        full = everything[pid]
        assert Decimal(product["price"]) == (Decimal(full["price"]) * Decimal("0.9")).quantize(
            Decimal("0.000001"))
        assert product["quantity"] == full["quantity"] // 2  # its own stock rows
        assert product["category"]["path"].startswith("Outlet Home > Outlet ")
        assert product["images"][0]["url"].startswith("https://outlet.example/img/p/")
    document = {"format": fmt.FORMAT, "task": {"id": 1, "profile": "p", "connection": "outlet",
                                               "created_at": "2026-11-29T12:00:00Z"},
                "products": list(sold.values())}
    jsonschema.Draft202012Validator(fmt.load_schema()).validate(json.loads(json.dumps(document)))


def test_a_long_running_daemon_reads_the_shops_taxes_again_for_each_task(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=5)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=5,
                                      options={"entity": "products", "full": True}), clock)

    def exported_rate() -> str:
        task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
        beat.run_until_idle()  # the same heartbeat, the same cached worker, as under `heartbeat run`
        return json.loads(b"".join(export_file.read(beat.store.get(task.id))))["products"][0]["tax_rate"]

    assert exported_rate() == "20.00"
    execute(shop_url, "UPDATE ps_tax SET rate = 21 WHERE id_tax = 1")  # the VAT changes
    assert exported_rate() == "21.00"
