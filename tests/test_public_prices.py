"""Issue 24's bar: the export of a multistore, two-language shop with catalog price rules, group
prices, dated sales, combinations with impacts and images, per-shop features and three tax groups
equals, field for field, what PrestaShop 8.1 computes for an anonymous visitor (tests/prestashop_oracle.py
computes it a second way, running PrestaShop's own queries). Plus the listing rules around prices:
combination images by position, features per shop, image URLs, rounding, dirty specific prices,
shops from 1.7.7. On SQLite and MariaDB."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors.prestashop import PrestaShop, create_demo_shop
from tests.helpers import execute, raw
from tests.prestashop_oracle import Oracle

N = 160
NOW = datetime(2026, 11, 29, 12, 0, 30)  # the demo's week-long sale (27 Nov - 3 Dec) is on
DAY = "'2024-01-01 00:00:00'"
ZERO = "'0000-00-00 00:00:00'"


def specific_prices(q: str, where: str, **values) -> str:
    """INSERT ... SELECT of one specific price per product matching `where` (SQL on ps_product p)."""
    row = {"id_specific_price_rule": 0, "id_cart": 0, "id_shop": 0, "id_shop_group": 0, "id_currency": 0,
           "id_country": 0, "id_group": 0, "id_customer": 0, "id_product_attribute": 0, "price": -1,
           "from_quantity": 1, "reduction": 0, "reduction_tax": 1, "reduction_type": "'percentage'",
           "from": ZERO, "to": ZERO, **values}
    names = ", ".join(f"{q}{k}{q}" for k in row)
    return (f"INSERT INTO ps_specific_price (id_product, {names}) "
            f"SELECT p.id_product, {', '.join(str(v) for v in row.values())} FROM ps_product p WHERE {where}")


def scenario(q: str) -> list[str]:
    """What turns the two-shop demo into the issue's shop."""
    combos = "p.id_product IN (SELECT id_product FROM ps_product_attribute)"
    return [
        # three tax groups: standard 20 %, reduced 5.5 % (with a Paris and a state rule that never
        # apply to the public price), and a combined one; Spain's rules for the outlet
        "INSERT INTO ps_tax (id_tax, rate, active, deleted) VALUES (3, 10, 1, 0), (4, 7, 1, 0), (5, 5, 1, "
        "0), "
        "(6, 2.5, 1, 0), (7, 21, 1, 0), (8, 4, 1, 0)",
        f"INSERT INTO ps_tax_rules_group (id_tax_rules_group, name, active, deleted, date_add, date_upd) "
        f"VALUES (3, 'Combined', 1, 0, {DAY}, {DAY})",
        "INSERT INTO ps_tax_rule (id_tax_rules_group, id_country, id_state, zipcode_from, zipcode_to, "
        "id_tax, "
        "behavior, description) VALUES (2, 8, 0, '75000', '75999', 3, 0, 'Paris'), "
        "(2, 8, 14, '0', '0', 4, 0, 'a state'), (3, 8, 0, '0', '0', 5, 1, 'a'), (3, 8, 0, '0', '0', 6, 1, "
        "'b'), "
        "(1, 6, 0, '0', '0', 7, 0, 'ES'), (2, 6, 0, '0', '0', 8, 0, 'ES reduced'), (3, 6, 0, '0', '0', 7, "
        "0, 'ES')",
        "UPDATE ps_product_shop SET id_tax_rules_group = 1 + id_product % 3",
        # the outlet: Spain's prices, friendly URLs, and not the second feature
        f"INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES "
        f"(NULL, 2, 'PS_COUNTRY_DEFAULT', '6', {DAY}, {DAY}), (NULL, 2, 'PS_REWRITING_SETTINGS', '1', "
        f"{DAY}, {DAY})",
        "DELETE FROM ps_feature_shop WHERE id_feature = 2 AND id_shop = 2",
        # catalog price rule (30 %, shop 1) against manual prices (10 %, every shop, until 2030)
        specific_prices(q, "p.id_product % 7 = 0", id_specific_price_rule=1, id_shop=1, reduction=0.3),
        specific_prices(q, "p.id_product % 14 = 0", reduction=0.1, to="'2030-01-01 00:00:00'"),
        # group prices: the Visitor group's apply, the Customer group's do not
        specific_prices(q, "p.id_product % 11 = 0", id_group=1, reduction=0.12),
        specific_prices(q, "p.id_product % 5 = 0", id_group=3, reduction=0.5),
        # dated sales: one to come, one over (the demo has one on, and undated ones)
        specific_prices(q, "p.id_product % 13 = 0", reduction=0.4, **{"from": "'2026-12-10 00:00:00'"}),
        specific_prices(q, "p.id_product % 17 = 0", reduction=0.35, **{"to": "'2026-11-01 00:00:00'"}),
        # prices in another currency (not the visitor's), in the default one
        specific_prices(q, "p.id_product % 29 = 0", id_currency=2, reduction=0.45),
        specific_prices(q, "p.id_product % 37 = 0", id_currency=1, price=15.5),
        # Spain's prices (the outlet's country), amounts with and without tax, quantity discounts
        specific_prices(q, "p.id_product % 9 = 0", id_country=6, reduction=0.15),
        specific_prices(q, "p.id_product % 19 = 0", reduction=3, reduction_type="'amount'"),
        specific_prices(q, "p.id_product % 23 = 0", reduction=2, reduction_type="'amount'", reduction_tax=0),
        specific_prices(q, "p.id_product % 3 = 0", from_quantity=5, reduction=0.5),
        # fixed prices on products with combinations, and a combination's own sale
        specific_prices(q, f"p.id_product % 2 = 1 AND {combos}", id_shop=1, price=20),
        "INSERT INTO ps_specific_price (id_specific_price_rule, id_cart, id_product, id_shop, id_shop_group, "
        "id_currency, id_country, id_group, id_customer, id_product_attribute, price, from_quantity, "
        "reduction, "
        f"reduction_tax, reduction_type, {q}from{q}, {q}to{q}) SELECT 0, 0, id_product, 0, 0, 0, 0, 0, 0, "
        f"id_product_attribute, -1, 1, 0.4, 1, 'percentage', {ZERO}, {ZERO} FROM ps_product_attribute "
        "WHERE id_product_attribute % 3 = 0",
        "INSERT INTO ps_specific_price_priority (id_specific_price_priority, id_product, priority) "
        "VALUES (1, 77, 'id_group;id_country;id_currency;id_shop')",
        specific_prices(q, "p.id_product = 77", id_country=8, reduction=0.2),
        # a first image for each product with combinations, shown for all of them: by position, it
        # comes before their own (of a lower id)
        "INSERT INTO ps_image (id_image, id_product, position, cover) SELECT 5000 + p.id_product, "
        "p.id_product, "
        f"0, NULL FROM ps_product p WHERE {combos}",
        "INSERT INTO ps_image_shop (id_product, id_image, id_shop, cover) SELECT i.id_product, i.id_image, "
        "s.id_shop, "
        "NULL FROM ps_image i JOIN ps_product_shop s ON s.id_product = i.id_product WHERE i.id_image > 5000",
        "INSERT INTO ps_image_lang (id_image, id_lang, legend) SELECT id_image, l.id_lang, 'front' FROM "
        "ps_image i "
        "JOIN ps_lang l ON 1 = 1 WHERE i.id_image > 5000",
        "INSERT INTO ps_product_attribute_image (id_product_attribute, id_image) SELECT "
        "id_product_attribute, "
        "5000 + id_product FROM ps_product_attribute",
    ]


def sale_of(oracle: Oracle, pid: int, pa: int) -> dict | None:
    row = oracle.specific_price(pid, pa)
    if row is None:
        return None
    return {"price_tax_excl": oracle.price(pid, pa, False, True),
            "price_tax_incl": oracle.price(pid, pa, True, True),
            "reduction": Decimal(str(row[1])), "reduction_type": row[3], "reduction_tax": bool(row[2])}


def got_sale(record: dict) -> dict | None:
    sale = record["specific_price"]
    if sale is None:
        return None
    return {"price_tax_excl": Decimal(sale["price_tax_excl"]),
            "price_tax_incl": Decimal(sale["price_tax_incl"]),
            "reduction": Decimal(sale["reduction"]), "reduction_type": sale["reduction_type"],
            "reduction_tax": sale["reduction_tax"]}


def test_the_export_equals_what_prestashop_computes_for_an_anonymous_visitor(shop_url):
    create_demo_shop(shop_url, products=N, shops=2)
    q = '"' if shop_url.startswith("sqlite") else "`"
    execute(shop_url, *scenario(q))
    engine = sa.create_engine(shop_url)
    checked = {"sales": 0, "combinations": 0, "friendly": 0}
    try:
        for id_shop in (1, 2):
            with PrestaShop(shop_url, id_shop=id_shop, base_url="https://shop.example") as reader:
                products = reader.read_products(range(1, N + 1), at=NOW)
            with engine.connect() as conn:
                oracle = Oracle(conn, id_shop, NOW)
                for pid, product in products.items():
                    checked.update(check_product(oracle, id_shop, pid, product, checked))
    finally:
        engine.dispose()
    assert checked["sales"] > 40 and checked["combinations"] > 20 and checked["friendly"] > 50, checked


def check_product(oracle: Oracle, id_shop: int, pid: int, product: dict, checked: dict) -> dict:
    where = f"shop {id_shop} product {pid}"
    group = int(oracle.value("SELECT id_tax_rules_group FROM ps_product_shop WHERE id_product = :p "
                             "AND id_shop = :s", p=pid, s=id_shop))
    rate = oracle.tax_rate(group)
    assert Decimal(product["tax_rate"]) == Decimal(rate.numerator) / Decimal(rate.denominator), where
    default = oracle.default_combination(pid)
    assert Decimal(product["price_tax_incl"]) == oracle.price(pid, default, True, False), where
    assert got_sale(product) == sale_of(oracle, pid, default), where
    checked["sales"] += product["specific_price"] is not None
    for c in product["combinations"]:
        pa = c["id_product_attribute"]
        assert Decimal(c["price_tax_excl"]) == oracle.price(pid, pa, False, False), (where, pa)
        assert Decimal(c["price_tax_incl"]) == oracle.price(pid, pa, True, False), (where, pa)
        assert got_sale(c) == sale_of(oracle, pid, pa), (where, pa)
        assert c["images"] == oracle.combination_images(pa), (where, pa)
        checked["combinations"] += 1
    for iso, lang in (("en", 1), ("fr", 2)):
        assert product["features"].get(iso, {}) == oracle.features(pid, lang), (where, iso)
    rewrite = product["languages"]["en"]["link_rewrite"]
    for image in product["images"]:
        digits = str(image["id"])
        expected = (f"https://shop.example/{digits}-large_default/{rewrite}.jpg" if id_shop == 2 else
                    f"https://shop.example/img/p/{'/'.join(digits)}/{digits}-large_default.jpg")
        assert image["url"] == expected, where
        checked["friendly"] += id_shop == 2
    return checked


# -- the rules around prices, one by one -------------------------------------------------------------


@pytest.fixture
def demo(shop_url):
    create_demo_shop(shop_url, products=40, shops=2)
    return shop_url


def test_combination_images_follow_their_position_not_their_id(demo):
    pa, pid = raw(demo, "SELECT MIN(id_product_attribute), MIN(id_product) FROM ps_product_attribute "
                        "WHERE id_product = (SELECT MIN(id_product) FROM ps_product_attribute)")[0]
    shown = raw(demo, "SELECT id_image FROM ps_product_attribute_image "
                      f"WHERE id_product_attribute = {pa}")[0][0]
    execute(demo,
            f"INSERT INTO ps_image (id_image, id_product, position, cover) VALUES (900, {pid}, 0, NULL)",
            "INSERT INTO ps_image_lang (id_image, id_lang, legend) VALUES (900, 1, 'front'), (900, 2, "
            "'face')",
            f"INSERT INTO ps_image_shop (id_product, id_image, id_shop, cover) VALUES ({pid}, 900, 1, NULL)",
            f"INSERT INTO ps_product_attribute_image (id_product_attribute, id_image) VALUES ({pa}, 900)")
    with PrestaShop(demo) as shop:
        combination = next(c for c in shop.read_products([pid])[pid]["combinations"]
                           if c["id_product_attribute"] == pa)
    assert combination["images"] == [900, shown]  # position 0 before position 2, though a later id


def test_features_not_linked_to_the_shop_are_not_exported(demo):
    execute(demo, "DELETE FROM ps_feature_shop WHERE id_feature = 1 AND id_shop = 2")
    with PrestaShop(demo, id_shop=2) as outlet, PrestaShop(demo) as main:
        there, here = outlet.read_products([2])[2], main.read_products([2])[2]
    assert set(here["features"]["en"]) == {"Material", "Made in"}
    assert set(there["features"]["en"]) == {"Made in"} and set(there["features"]["fr"]) == {"Fabriqué en"}


def test_image_urls_are_friendly_when_the_shop_rewrites_urls_and_use_the_connections_image_type(demo):
    execute(demo, "UPDATE ps_configuration SET value = '1' WHERE name = 'PS_REWRITING_SETTINGS'")
    with PrestaShop(demo, base_url="https://shop.example/", image_type="home_default", id_lang=2) as shop:
        product = shop.read_products([3])[3]
    rewrite = product["languages"]["fr"]["link_rewrite"]  # the connection's language
    assert product["images"][0]["url"] == f"https://shop.example/3-home_default/{rewrite}.jpg"


def test_the_shops_round_mode_rounds_the_public_price(demo):
    execute(demo, "UPDATE ps_product_shop SET price = 10.000001, id_tax_rules_group = 1 WHERE id_product = 3",
            "UPDATE ps_configuration SET value = '0' WHERE name = 'PS_PRICE_ROUND_MODE'")  # PS_ROUND_UP
    with PrestaShop(demo) as shop:
        up = shop.read_products([3])[3]["price_tax_incl"]
    down_mode = "UPDATE ps_configuration SET value = '1' WHERE name = 'PS_PRICE_ROUND_MODE'"  # PS_ROUND_DOWN
    execute(demo, down_mode)
    with PrestaShop(demo) as shop:
        down = shop.read_products([3])[3]["price_tax_incl"]
    stored = Decimal(str(raw(demo, "SELECT price FROM ps_product_shop WHERE id_product = 3 "
                                   "AND id_shop = 1")[0][0]))
    exact = stored * Decimal("1.2")
    assert (Decimal(up), Decimal(down)) == (exact.quantize(Decimal("0.000001"), rounding="ROUND_CEILING"),
                                            exact.quantize(Decimal("0.000001"), rounding="ROUND_FLOOR"))
    assert up != down  # 12.0000012: up and down differ


def test_a_specific_price_that_is_not_a_number_costs_its_product_only(shop_url, backend):
    if backend != "sqlite":
        pytest.skip("only SQLite keeps text in a DECIMAL column")
    create_demo_shop(shop_url, products=10)
    execute(shop_url, "INSERT INTO ps_specific_price (id_product, id_shop, price, reduction, reduction_tax, "
                      "reduction_type, \"from\", \"to\") VALUES (4, 0, -1, 'ten', 1, 'percentage', "
                      "'0000-00-00 00:00:00', '0000-00-00 00:00:00')")
    problems: dict = {}
    with PrestaShop(shop_url) as shop:
        got = shop.read_products(range(1, 11), problems, at=NOW)
    assert sorted(got) == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert problems[4].error.startswith("specific price ") and "'ten' is not a number" in problems[4].error


def test_a_shop_from_177_without_80s_columns_is_exported(demo):
    """Shops from 1.7.7 on are supported: the export reads no column 8.0 added."""
    execute(demo, "ALTER TABLE ps_product DROP COLUMN product_type",
            "ALTER TABLE ps_category_lang DROP COLUMN additional_description")
    with PrestaShop(demo) as shop:
        assert sorted(shop.read_products(range(1, 41), at=NOW)) == list(range(1, 41))
