"""ShopWriter on SQLite and MariaDB: lookups and idempotent writes on PrestaShop's tables.

Every write is checked with independent raw SQL on the shop's tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors.feeds.json_feed import product_rows
from connectors.prestashop.writer import UPDATABLE, ShopWriter, Target, Update
from core.errors import ConnectorError
from tests import helpers
from tests.helpers import execute, share_stock

N = 30
NOW = datetime(2026, 11, 2, 10, 15, 30, 123456)  # naive shop-local time; stored to the second
# Demo shop (seed 42): product 7 has combinations 1 (DEMO-000007-S) and 2 (DEMO-000007-XL).
PARENT, SMALL, XL = 7, 1, 2


def raw(url: str, sql: str, **params) -> list[tuple]:
    return [tuple(r) for r in helpers.raw(url, sql, **params)]


def dec(value) -> Decimal:
    """A DECIMAL column's value as read raw (float in SQLite, Decimal in MariaDB)."""
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def text(value) -> str:
    """A DATETIME column's value as read raw (text in SQLite, datetime in MariaDB)."""
    return str(value)


TABLES = {"product": "id_product", "product_shop": "id_product, id_shop",
          "product_lang": "id_product, id_shop, id_lang",
          "stock_available": "id_product, id_product_attribute, id_shop",
          "product_attribute": "id_product_attribute",
          "product_attribute_shop": "id_product_attribute, id_shop"}
PER_SHOP = ("product_shop", "product_lang", "stock_available", "product_attribute_shop")


def snapshot(url: str, where: str = "", tables=TABLES) -> dict[str, list[tuple]]:
    """Every row of the tables a write may touch (only per-shop tables with `where`), in key order."""
    names = [t for t in tables if not where or t in PER_SHOP]
    return {t: raw(url, f"SELECT * FROM ps_{t} {'WHERE ' + where if where else ''} ORDER BY {TABLES[t]}")
            for t in names}


@pytest.fixture
def demo_products():
    return N


@pytest.fixture
def writer(shop):
    return ShopWriter(shop)


# -- lookup -------------------------------------------------------------------------------------


def test_lookup_by_reference_gives_current_values(writer, demo_url):
    found = writer.lookup(["DEMO-000003", "DEMO-000001", "NOPE", ""], by="reference")
    assert sorted(found) == ["DEMO-000001", "DEMO-000003"]
    (target,) = found["DEMO-000003"]
    assert target[:2] == (3, 0) and set(target.current) == set(UPDATABLE)
    ((price, wholesale, active, name, ean13, weight, quantity),) = raw(demo_url, """
        SELECT ps.price, ps.wholesale_price, ps.active, pl.name, p.ean13, p.weight, st.quantity
        FROM ps_product p JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1
        JOIN ps_product_lang pl ON pl.id_product = p.id_product AND pl.id_shop = 1 AND pl.id_lang = 1
        JOIN ps_stock_available st ON st.id_product = p.id_product AND st.id_product_attribute = 0
         AND st.id_shop = 1
        WHERE p.id_product = 3""")
    assert target.current == {"price": dec(price), "wholesale_price": dec(wholesale),
                              "quantity": quantity, "active": bool(active), "name": name,
                              "ean13": ean13, "weight": dec(weight)}


def test_lookup_is_exact_on_every_backend(writer):
    assert writer.lookup(["demo-000001", "DEMO-000001 ", " DEMO-000001"], by="reference") == {}


def test_lookup_by_ean13_finds_products_and_combinations(writer, demo_url):
    (combination_ean,) = raw(demo_url, f"SELECT ean13 FROM ps_product_attribute "
                                       f"WHERE id_product_attribute = {XL}")[0]
    found = writer.lookup(["2000000000039", combination_ean], by="ean13")
    assert [t[:2] for t in found["2000000000039"]] == [(3, 0)]
    assert [t[:2] for t in found[combination_ean]] == [(PARENT, XL)]


def test_lookup_by_id(writer):
    found = writer.lookup(["5", "007", "abc", "999"], by="id")
    assert sorted(found) == ["007", "5"]
    assert [t[:2] for t in found["007"]] == [(7, 0)] and found["5"][0].id_product == 5


def test_combination_is_found_by_its_own_reference(writer, demo_url):
    (target,) = writer.lookup(["DEMO-000007-XL"], by="reference")["DEMO-000007-XL"]
    ((impact, quantity, active, name),) = raw(demo_url, f"""
        SELECT pas.price, st.quantity, ps.active, pl.name FROM ps_product_attribute_shop pas
        JOIN ps_stock_available st ON st.id_product_attribute = pas.id_product_attribute
         AND st.id_shop = 1
        JOIN ps_product_shop ps ON ps.id_product = pas.id_product AND ps.id_shop = 1
        JOIN ps_product_lang pl ON pl.id_product = pas.id_product AND pl.id_lang = 1
        WHERE pas.id_product_attribute = {XL} AND pas.id_shop = 1""")
    assert target[:2] == (PARENT, XL)
    assert target.current["price"] == dec(impact) == Decimal("2.5")
    assert (target.current["quantity"], target.current["active"], target.current["name"]) == (
        quantity, bool(active), name)


def test_ambiguous_reference_returns_every_match(writer, demo_url):
    execute(demo_url, "UPDATE ps_product SET reference = 'DEMO-000001' WHERE id_product = 9",
            "UPDATE ps_product_attribute SET reference = 'DEMO-000001' WHERE id_product_attribute = 2")
    found = writer.lookup(["DEMO-000001"], by="reference")
    assert [t[:2] for t in found["DEMO-000001"]] == [(1, 0), (PARENT, XL), (9, 0)]


def test_lookup_of_thousands_of_keys_takes_two_queries_per_chunk(writer, shop):
    assert shop.stock == (1, 0)  # read once per shop object, before its first lookup
    statements = []
    sa.event.listen(shop._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    keys = [f"DEMO-{i:06d}" for i in range(1, 4001)]
    found = writer.lookup(keys, by="reference")
    assert len(found) == N and len(statements) == 2


def test_lookup_by_an_unknown_kind_is_refused(writer):
    with pytest.raises(ValueError, match="lookup by 'sku'"):
        writer.lookup(["x"], by="sku")


def test_lookup_of_some_fields_reads_only_those(writer, shop):
    statements = []
    sa.event.listen(shop._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    found = writer.lookup(["DEMO-000003", "DEMO-000007-XL"], by="reference", fields=("price", "quantity"))
    full = writer.lookup(["DEMO-000003", "DEMO-000007-XL"], by="reference")
    for key in ("DEMO-000003", "DEMO-000007-XL"):
        (some,), (every,) = found[key], full[key]
        assert some[:2] == every[:2]
        assert some.current == {"price": every.current["price"], "quantity": every.current["quantity"]}
    assert "product_lang" not in statements[0]  # no name asked: its table is not joined
    with pytest.raises(ValueError, match="cannot look up sku"):
        writer.lookup(["x"], fields=("price", "sku"))


# -- apply ----------------------------------------------------------------------------------------


def test_apply_sets_price_quantity_active_and_name_exactly(writer, demo_url):
    execute(demo_url, "UPDATE ps_stock_available SET reserved_quantity = 2 "
                      "WHERE id_product = 3 AND id_product_attribute = 0")
    writer.apply([Update(3, 0, {"price": "12.5", "quantity": 17, "active": False, "name": "Renamed",
                                "wholesale_price": Decimal("6.1234567"), "weight": "1.25",
                                "ean13": "4006381333931"})], NOW)
    ((p_price, p_whole, p_active, p_ean, p_weight, p_upd),) = raw(demo_url, """
        SELECT price, wholesale_price, active, ean13, weight, date_upd FROM ps_product
        WHERE id_product = 3""")
    ((s_price, s_whole, s_active, s_upd),) = raw(demo_url, """
        SELECT price, wholesale_price, active, date_upd FROM ps_product_shop
        WHERE id_product = 3 AND id_shop = 1""")
    assert dec(p_price) == dec(s_price) == Decimal("12.5")
    assert dec(p_whole) == dec(s_whole) == Decimal("6.123457")  # PrestaShop's 6 decimals, half-up
    assert p_active == s_active == 0 and p_ean == "4006381333931" and dec(p_weight) == Decimal("1.25")
    assert text(p_upd) == text(s_upd) == "2026-11-02 10:15:30"
    assert raw(demo_url, "SELECT quantity, physical_quantity, reserved_quantity FROM ps_stock_available "
                         "WHERE id_product = 3 AND id_product_attribute = 0") == [(17, 19, 2)]
    assert raw(demo_url, "SELECT name FROM ps_product_lang "
                         "WHERE id_product = 3 AND id_lang = 1") == [("Renamed",)]


def test_apply_leaves_other_products_alone(writer, demo_url):
    before = snapshot(demo_url)
    writer.apply([Update(3, 0, {"price": "12.5", "quantity": 1})], NOW)
    after = snapshot(demo_url)
    for table in before:
        changed = [row for row in after[table] if row not in before[table]]
        assert {row[0] for row in changed} <= {3}, table


def test_combination_update_sets_impact_and_product_stock_is_the_sum(writer, demo_url):
    writer.apply([Update(PARENT, SMALL, {"quantity": 40, "price": "-1.5"}),
                  Update(PARENT, XL, {"quantity": 3})], NOW)
    assert raw(demo_url, f"SELECT price FROM ps_product_attribute WHERE id_product_attribute = {SMALL}") \
        == raw(demo_url, f"SELECT price FROM ps_product_attribute_shop WHERE id_product_attribute = {SMALL}")
    assert dec(raw(demo_url, f"SELECT price FROM ps_product_attribute_shop "
                             f"WHERE id_product_attribute = {SMALL}")[0][0]) == Decimal("-1.5")
    assert raw(demo_url, f"""SELECT id_product_attribute, quantity, physical_quantity
        FROM ps_stock_available WHERE id_product = {PARENT} ORDER BY id_product_attribute""") == [
        (0, 43, 43), (SMALL, 40, 40), (XL, 3, 3)]
    assert text(raw(demo_url, f"SELECT date_upd FROM ps_product WHERE id_product = {PARENT}")[0][0]) \
        == "2026-11-02 10:15:30"


def test_applying_the_same_updates_twice_changes_nothing_the_second_time(writer, demo_url):
    updates = [Update(3, 0, {"price": "12.50", "quantity": 9, "active": True, "name": "Again"}),
               Update(PARENT, SMALL, {"quantity": 11, "price": "0.5", "ean13": "2010000000017"}),
               Update(5, 0, {"quantity": 0})]
    writer.apply(updates, NOW)
    once = snapshot(demo_url)
    writer.apply(updates, NOW)
    assert snapshot(demo_url) == once


def test_other_shops_rows_are_left_untouched(writer, demo_url):
    execute(demo_url,
            "INSERT INTO ps_product_shop (id_product, id_shop, id_category_default, id_tax_rules_group,"
            " price, wholesale_price, active, date_add, date_upd) SELECT id_product, 2,"
            " id_category_default, id_tax_rules_group, price, wholesale_price, active, date_add,"
            " date_upd FROM ps_product_shop WHERE id_shop = 1",
            "INSERT INTO ps_product_lang (id_product, id_shop, id_lang, description, description_short,"
            " link_rewrite, name) SELECT id_product, 2, id_lang, description, description_short,"
            " link_rewrite, name FROM ps_product_lang WHERE id_shop = 1",
            "INSERT INTO ps_product_attribute_shop (id_product, id_product_attribute, id_shop,"
            " wholesale_price, price, weight, default_on) SELECT id_product, id_product_attribute, 2,"
            " wholesale_price, price, weight, default_on FROM ps_product_attribute_shop",
            "INSERT INTO ps_stock_available (id_product, id_product_attribute, id_shop, id_shop_group,"
            " quantity, physical_quantity, reserved_quantity) SELECT id_product, id_product_attribute,"
            " 2, id_shop_group, quantity, physical_quantity, reserved_quantity FROM ps_stock_available")
    shop2 = snapshot(demo_url, "id_shop = 2")
    writer.apply([Update(3, 0, {"price": "1", "quantity": 1, "active": False, "name": "x"}),
                  Update(PARENT, XL, {"price": "9", "quantity": 99})], NOW)
    assert snapshot(demo_url, "id_shop = 2") == shop2
    assert len(shop2["product_shop"]) == N and all(shop2[t] for t in PER_SHOP)


def test_missing_stock_row_is_created(writer, demo_url):
    execute(demo_url, "DELETE FROM ps_stock_available WHERE id_product = 4")
    assert writer.lookup(["4"], by="id")["4"][0].current["quantity"] == 0
    writer.apply([Update(4, 0, {"quantity": 6})], NOW)
    assert raw(demo_url, "SELECT id_shop, id_shop_group, quantity, physical_quantity, reserved_quantity "
                         "FROM ps_stock_available WHERE id_product = 4") == [(1, 0, 6, 6, 0)]


def test_a_failed_apply_writes_nothing(writer, demo_url):
    before = snapshot(demo_url)
    execute(demo_url, "DROP TABLE ps_product_lang")
    with pytest.raises(ConnectorError, match=r"^connection demo_shop: writing to .* failed: "):
        writer.apply([Update(3, 0, {"price": "1.00", "quantity": 1, "name": "fails"})], NOW)
    after = snapshot(demo_url, tables=[t for t in TABLES if t != "product_lang"])
    assert after == {t: rows for t, rows in before.items() if t != "product_lang"}


@pytest.mark.parametrize("update, message", [
    (Update(3, 0, {"colour": "red"}), "'colour' cannot be set on a product"),
    (Update(7, 1, {"name": "x"}), "'name' cannot be set on a combination"),
    (Update(3, 0, {"price": "abc"}), "'abc' is not a number"),
    (Update(3, 0, {"quantity": "1.5"}), "quantity '1.5' is not a whole number"),
])
def test_invalid_updates_are_refused_before_any_write(writer, demo_url, update, message):
    before = snapshot(demo_url)
    with pytest.raises(ValueError, match=message):
        writer.apply([Update(5, 0, {"price": "1"}), update], NOW)
    assert snapshot(demo_url) == before


# -- export -> JSON feed -> lookup --------------------------------------------------------------


def test_exported_products_read_back_equal_the_shops_current_values(shop, writer):
    products = shop.read_products(range(1, N + 1))
    rows = [row for i, p in enumerate(products.values(), 1) for row in product_rows(i, p)]
    found = writer.lookup([r.fields.get("combination_reference") or r.fields["reference"] for r in rows],
                          by="reference")
    for row in rows:
        key = row.fields.get("combination_reference") or row.fields["reference"]
        (target,) = found[key]
        assert isinstance(target, Target)
        for field in ("price", "wholesale_price", "weight"):
            if field in row.fields:
                assert Decimal(row.fields[field]) == target.current[field], (key, field)
        assert int(row.fields["quantity"]) == target.current["quantity"]
        if "active" in row.fields:
            assert (row.fields["active"] == "1") == target.current["active"]
            assert row.fields["name"] == target.current["name"]


# -- set-based writes against the row-by-row reference ---------------------------------------------


@pytest.fixture
def twin_url(backend, tmp_path, request):
    """A second fresh shop database on the same backend as `demo_url`."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'twin-shop.db'}"
        return
    from tests.conftest import MARIADB_SERVER

    name = "hb_test_twin_" + uuid.uuid4().hex[:8]
    server = sa.create_engine(MARIADB_SERVER)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    yield f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
    with server.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    server.dispose()


def mixed_updates() -> list[Update]:
    """Every field on products and combinations, a target named twice (its last values count), a
    product whose stock row is missing (4), one deleted from the shop (12), a negative impact."""
    updates = [Update(pid, 0, {"price": f"{pid}.125", "quantity": pid * 3, "active": pid % 2 == 0,
                               "name": f"Name {pid} é", "wholesale_price": "1.0000005", "weight": "0.5",
                               "ean13": f"{pid:013d}"}) for pid in range(1, 13) if pid != PARENT]
    updates += [Update(PARENT, SMALL, {"price": "-1.5", "quantity": 40, "wholesale_price": "2",
                                       "weight": "0.25", "ean13": "2010000000017"}),
                Update(PARENT, XL, {"quantity": 3}),
                Update(3, 0, {"price": "99", "quantity": 7}),  # the second update of 3 wins
                Update(PARENT, 0, {"active": False, "name": "Parent"})]
    return updates


@pytest.mark.parametrize("stock", ["own", "shared"])
def test_set_based_apply_leaves_the_shop_as_row_by_row_updates_do(demo_url, twin_url, stock):
    import sqlite3

    from connectors.prestashop import PrestaShop, create_demo_shop

    if demo_url.startswith("sqlite") and sqlite3.sqlite_version_info < (3, 33):
        pytest.skip("UPDATE ... FROM needs SQLite 3.33")
    create_demo_shop(twin_url, products=N, seed=42)
    for url in (demo_url, twin_url):
        if stock == "shared":
            share_stock(url)
        execute(url, "DELETE FROM ps_stock_available WHERE id_product = 4",
                "UPDATE ps_stock_available SET reserved_quantity = 2 WHERE id_product = 5",
                "DELETE FROM ps_product_shop WHERE id_product = 12")
    for url, set_based in ((demo_url, True), (twin_url, False)):
        with PrestaShop(url, name="demo_shop") as shop:
            if stock == "shared":
                assert shop.stock == (0, 1)
            statements: list[str] = []
            sa.event.listen(shop._engine, "before_cursor_execute",
                            lambda *a, seen=statements: seen.append(a[2]))
            ShopWriter(shop, set_based=set_based).apply(mixed_updates(), NOW)
            if set_based:  # (forced on SQLite too) one UPDATE per table and field, whatever the
                # number of rows: products 9 (price, wholesale_price, active: 2 tables each; weight,
                # ean13, name), combinations 7, stock 3 (again after creating 4's row, then the
                # parent's sum), date_upd 2
                updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
                assert len(updates) == 21, updates
    assert snapshot(demo_url) == snapshot(twin_url)
    scope = "id_shop = 0 AND id_shop_group = 1" if stock == "shared" else "id_shop = 1"
    assert raw(demo_url, f"SELECT id_product, quantity, physical_quantity FROM ps_stock_available "
                         f"WHERE id_product IN (3, 4, 5) AND id_product_attribute = 0 AND {scope} "
                         "ORDER BY id_product") == [(3, 7, 7), (4, 12, 12), (5, 15, 17)]
    assert [(r[0], dec(r[1])) for r in raw(demo_url, "SELECT id_product, price FROM ps_product "
                                                     "WHERE id_product IN (3, 5) ORDER BY id_product")] \
        == [(3, Decimal("99")), (5, Decimal("5.125"))]
    assert raw(demo_url, f"SELECT quantity FROM ps_stock_available WHERE id_product = {PARENT} AND "
                         f"id_product_attribute = 0 AND {scope}") == [(43,)]
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_product_shop WHERE id_product = 12") == [(0,)]


def test_a_thousand_updates_take_a_few_statements(writer, shop):
    assert shop.stock == (1, 0)  # read once per shop object, before its first write
    statements = []
    sa.event.listen(shop._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    writer.apply([Update(pid, 0, {"price": "3.5", "quantity": 2}) for pid in range(1, N + 1)] * 40, NOW)
    # ps_product.price, ps_product_shop.price, the stock rows, then date_upd on both product tables
    # (SQLite also sets PRAGMA automatic_index around each: not a round trip, the database is in-process)
    assert [s.split()[:2] for s in statements if not s.startswith("PRAGMA")] == [
        ["UPDATE", "ps_product"], ["UPDATE", "ps_product_shop"], ["UPDATE", "ps_stock_available"],
        ["UPDATE", "ps_product"], ["UPDATE", "ps_product_shop"]]
