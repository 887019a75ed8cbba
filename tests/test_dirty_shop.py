"""Dirty shops and feeds: a bad value costs its own item, is named in the report, and never reaches
the export file or the shop."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest

from connectors.platform import export_format as fmt
from connectors.prestashop import create_demo_shop
from profiles.importer import valid_gtin
from reports import export_file
from tests.helpers import execute, import_config, make_config, make_heartbeat, raw, shop_rows, write_csv

PRODUCTS = 30


def run(beat, profile_name: str, clock):
    task = beat.store.create(beat.config.profile(profile_name), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    return beat.store.get(task.id)


def outcomes(beat, task_id: int) -> dict[int, tuple[str, str | None]]:
    """product id -> (status, detail) of every item."""
    return {i.product_id: (i.status, i.detail) for i in beat.store.items(task_id)}


def seed_dirty_shop(shop_url: str, backend: str) -> dict[int, tuple[str, str]]:
    """Bad values in a demo shop; product id -> (expected status, expected detail)."""
    execute(shop_url,
            "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9",
            "UPDATE ps_product SET ean13 = '12AB-34' WHERE id_product = 7",
            "UPDATE ps_product SET upc = '1234-567' WHERE id_product = 8",
            "UPDATE ps_product_shop SET wholesale_price = -0.5 WHERE id_product = 11")
    expected = {
        9: ("error", "price: -5.00 is negative"),
        7: ("processed", "first export; ean13: '12AB-34' is not a valid barcode (digits only, at most 13): "
                         "exported as null"),
        8: ("processed", "first export; upc: '1234-567' is not a valid barcode (digits only, at most 12): "
                         "exported as null"),
        11: ("error", "wholesale_price: -0.50 is negative"),
    }
    if backend == "sqlite":  # SQLite keeps whatever it is given; MariaDB's typed columns refuse these
        execute(shop_url,
                "UPDATE ps_product_shop SET price = 'abc' WHERE id_product = 3",
                "UPDATE ps_product_lang SET name = CAST(X'426164FFFE4E616D65' AS TEXT) WHERE id_product = 5 "
                "AND id_lang = 1",
                "UPDATE ps_product_shop SET date_upd = 'yesterday' WHERE id_product = 10",
                "UPDATE ps_stock_available SET quantity = 'lots' WHERE id_product = 12 "
                "AND id_product_attribute = 0")
        expected.update({
            3: ("error", "price: 'abc' is not a number"),
            5: ("processed", "first export; name: invalid UTF-8 in the shop repaired "
                             "('Bad\ufffd\ufffdName')"),
            10: ("processed", "first export; date_upd: 'yesterday' is not a date: exported as null"),
            12: ("error", "quantity: 'lots' is not a whole number"),
        })
    return expected


def test_export_of_a_dirty_shop_costs_each_bad_product_its_own_item(tmp_path, db_url, shop_url, backend,
                                                                     clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    expected = seed_dirty_shop(shop_url, backend)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=8), clock)
    task = run(beat, "export-products", clock)

    assert task.status == "completed" and task.progress.pending == 0
    got = outcomes(beat, task.id)
    for pid, want in expected.items():
        assert got.pop(pid) == want, pid
    assert set(got.values()) == {("processed", "first export")}  # the clean ones, untouched by the others
    document = json.loads(b"".join(export_file.read(task)))
    jsonschema.Draft202012Validator(fmt.load_schema()).validate(document)
    exported = {p["id_product"]: p for p in document["products"]}
    errors = {pid for pid, (status, _) in expected.items() if status == "error"}
    assert errors.isdisjoint(exported) and len(exported) == PRODUCTS - len(errors)
    assert exported[7]["ean13"] is None and exported[8]["upc"] is None


def test_a_bad_combination_costs_its_product_only(tmp_path, clock):
    """SQLite only: MariaDB's DECIMAL columns cannot hold text."""
    db_url, shop_url = f"sqlite:///{tmp_path / 'state.db'}", f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    (pid, pa), = raw(shop_url, "SELECT id_product, MIN(id_product_attribute) FROM ps_product_attribute "
                               "GROUP BY id_product ORDER BY id_product LIMIT 1")
    execute(shop_url, f"UPDATE ps_product_attribute_shop SET price = 'x1' WHERE id_product_attribute = {pa}")
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=50), clock)
    task = run(beat, "export-products", clock)

    got = outcomes(beat, task.id)
    assert got.pop(pid) == ("error", f"combination {pa} price_impact: 'x1' is not a number")
    assert set(got.values()) == {("processed", "first export")}


def test_an_unreadable_value_in_the_target_shop_errors_its_item_and_the_rest_is_applied(tmp_path, clock):
    """SQLite only: MariaDB's DECIMAL and INT columns cannot hold text."""
    db_url, shop_url = f"sqlite:///{tmp_path / 'state.db'}", f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    refs = dict(raw(shop_url, "SELECT id_product, reference FROM ps_product"))
    execute(shop_url, "UPDATE ps_product_shop SET price = 'abc' WHERE id_product = 3",
            "UPDATE ps_product_lang SET name = CAST(X'426164FFFE' AS TEXT) WHERE id_product = 4")
    feed = write_csv(tmp_path / "feed.csv", [["reference", "price", "quantity"]] + [
        [refs[pid], "17.50", "11"] for pid in (1, 2, 3, 4)])
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)},
                                        fields=["price", "quantity", "name"]), clock)
    task = run(beat, "supplier", clock)

    assert task.status == "completed" and task.progress.processed == 3 and task.progress.error == 1
    items = {i.reference: (i.status, i.detail) for i in beat.store.items(task.id)}
    assert items[refs[3]] == ("error", "price in the shop is 'abc', not a number: fix it in the shop first "
                                       "(line 4)")
    applied = raw(shop_url, "SELECT ps.price, st.quantity FROM ps_product_shop ps JOIN ps_stock_available st "
                            "ON st.id_product = ps.id_product AND st.id_product_attribute = 0 "
                            "WHERE ps.id_product IN (1, 2, 4) ORDER BY ps.id_product")
    assert [(float(p), q) for p, q in applied] == [(17.5, 11)] * 3
    assert raw(shop_url, "SELECT price FROM ps_product_shop WHERE id_product = 3") == [("abc",)]


BAD_ROWS = {  # feed line -> (cells after the reference, the error it must give)
    2: (["-3.00", "5"], "price '-3.00' is negative (line 2)"),
    3: (["12.00", "-2"], "quantity '-2' is negative (set allow_negative_quantity = true to import "
                         "oversold stock) (line 3)"),
    4: (["1e999999", "5"], "price '1e999999' is not a number (line 4)"),
    5: (["12.00", "5", "4006381333932"], "ean13 '4006381333932' is not a valid EAN (8, 12 or 13 digits "
                                         "with a valid check digit) (line 5)"),
    6: (["12.00", "5.5"], "quantity '5.5' is not a whole number (line 6)"),
    7: (["1e15", "5"], "price '1e15' is out of range (at most 99999999999999.999999) (line 7)"),
    8: (["12.00", "3000000000"], "quantity '3000000000' is out of range (at most 1,000,000,000) (line 8)"),
    9: (["12.00", "--5"], "quantity '--5' is not a whole number (line 9)"),
}


def test_feed_values_are_validated_row_by_row(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    refs = [r for (r,) in raw(shop_url, "SELECT reference FROM ps_product ORDER BY id_product")]
    rows = [["reference", "price", "quantity", "ean13"]]
    rows += [[refs[line], *cells, ""][:4] for line, (cells, _) in BAD_ROWS.items()]
    rows += [[refs[10], "9.99", "4", "4006381333931"], ["R" * 65, "1.00", "1", ""]]  # 10 valid, 11 too long
    feed = write_csv(tmp_path / "feed.csv", rows)
    before = shop_rows(shop_url)
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)},
                                        fields=["price", "quantity", "ean13"]), clock)
    task = run(beat, "supplier", clock)

    assert task.status == "completed", task.message
    items = list(beat.store.items(task.id))
    bad = len(BAD_ROWS)
    assert [(i.status, i.detail) for i in items[:bad]] == [("error", why) for _, why in BAD_ROWS.values()]
    assert items[bad].status == "processed"
    assert (items[bad + 1].status, items[bad + 1].detail) == (
        "error", f"reference '{'R' * 35}...' is longer than 64 characters (line 11)")
    after = shop_rows(shop_url)
    assert after[refs[10]][:2] == (Decimal("9.990000"), 4)
    del after[refs[10]], before[refs[10]]
    assert after == before


def test_ids_a_shop_cannot_have_match_nothing(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    feed = write_csv(tmp_path / "feed.csv", [["id_product", "price"], ["\u00b2", "1.00"],
                                             ["99999999999", "2.00"], ["1", "3.00"]])
    (old,), = raw(shop_url, "SELECT price FROM ps_product_shop WHERE id_product = 1")
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)}, match_by="id",
                                        fields=["price"]), clock)
    task = run(beat, "supplier", clock)
    assert task.status == "completed", task.message
    assert [(i.status, i.detail) for i in beat.store.items(task.id)] == [
        ("skipped", "not found in shop"), ("skipped", "not found in shop"),
        ("processed", f"price: {fmt.format_decimal(old)} -> 3.00")]


def test_negative_quantity_is_imported_when_the_profile_allows_it(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    ref, = raw(shop_url, "SELECT reference FROM ps_product WHERE id_product = 1")[0]
    feed = write_csv(tmp_path / "feed.csv", [["reference", "quantity"], [ref, "-2"]])
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)},
                                        fields=["quantity"], allow_negative_quantity=True), clock)
    task = run(beat, "supplier", clock)
    assert task.progress.processed == 1 and shop_rows(shop_url)[ref][1] == -2


@pytest.mark.parametrize("code, valid", [
    ("4006381333931", True), ("4006381333932", False), ("96385074", True), ("96385075", False),
    ("036000291452", True), ("036000291453", False), ("400638133393", False), ("40063813339A1", False),
    ("", False), ("４００６３８１３３３９３１", False),
])
def test_gtin_check_digit(code, valid):
    assert valid_gtin(code) is valid


@pytest.mark.parametrize("value, why", [
    ("abc", "price: 'abc' is not a number"), (-1, "price: -1.00 is negative"),
    (float("nan"), "price: nan is not a number"), ("Infinity", "price: 'Infinity' is not a number"),
])
def test_an_amount_the_format_cannot_carry_names_the_field_and_value(value, why):
    with pytest.raises(fmt.InvalidValue, match=f"^{why}$".replace("(", r"\(").replace(")", r"\)")):
        fmt.amount("price", value)
