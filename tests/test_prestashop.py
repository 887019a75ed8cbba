"""The PrestaShop connector and the export format, on SQLite and MariaDB.

Values read through the connector are checked against independent raw SQL on PrestaShop's tables.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
from decimal import Decimal

import jsonschema
import pytest
import sqlalchemy as sa

from connectors.platform import export_format as fmt
from connectors.prestashop import PrestaShop, create_demo_shop
from core.config import Connection
from core.errors import ConnectorError, Refused
from tests.helpers import execute, raw

N = 200


def ean13_is_valid(code: str) -> bool:
    digits = [int(c) for c in code]
    return len(digits) == 13 and (sum(digits[0::2]) + 3 * sum(digits[1::2])) % 10 == 0


# -- the demo shop ------------------------------------------------------------------------------


def test_demo_shop_has_products_categories_brands_and_combinations(demo_url):
    def count(table: str, where: str = "1=1") -> int:
        return raw(demo_url, f"SELECT COUNT(*) FROM ps_{table} WHERE {where}")[0][0]

    assert count("product") == count("product_shop") == count("product_lang", "id_lang = 1") == N
    assert count("product_lang", "id_lang = 2") == N  # and in French
    assert count("category") == count("category_lang", "id_lang = 1") == count("category_shop") == 30
    assert count("category_lang", "id_lang = 2") == 30
    assert count("manufacturer") == 10
    assert 0 < count("product_shop", "active = 0") < N * 0.15
    with_combinations = count("product", "id_product IN (SELECT id_product FROM ps_product_attribute)")
    assert N * 0.04 < with_combinations < N * 0.2
    per_product = raw(demo_url, "SELECT COUNT(*) FROM ps_product_attribute GROUP BY id_product")
    assert {n for (n,) in per_product} <= {2, 3, 4}
    assert count("product_attribute_shop") == count("product_attribute")
    assert count("stock_available") == N + count("product_attribute")
    assert raw(demo_url, "SELECT MIN(reference), MAX(reference) FROM ps_product")[0] == ("DEMO-000001",
                                                                                      "DEMO-000200")


def test_demo_product_quantity_is_the_sum_of_its_combinations(demo_url):
    mismatched = raw(demo_url, """
        SELECT p.id_product FROM ps_stock_available p
        JOIN ps_stock_available c ON c.id_product = p.id_product AND c.id_product_attribute > 0
        WHERE p.id_product_attribute = 0
        GROUP BY p.id_product, p.quantity HAVING SUM(c.quantity) <> p.quantity""")
    assert mismatched == []


def test_demo_eans_have_valid_check_digits_and_are_unique(demo_url):
    codes = [e for (e,) in raw(demo_url, "SELECT ean13 FROM ps_product UNION ALL "
                                         "SELECT ean13 FROM ps_product_attribute")]
    assert len(codes) > N and len(set(codes)) == len(codes)
    assert all(ean13_is_valid(code) for code in codes), [c for c in codes if not ean13_is_valid(c)]


def test_same_seed_gives_the_same_shop_on_every_backend(demo_url, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    create_demo_shop(other, products=N, seed=42)
    different = f"sqlite:///{tmp_path / 'different.db'}"
    create_demo_shop(different, products=N, seed=7)
    ids = list(range(1, N + 1))
    with PrestaShop(demo_url) as a, PrestaShop(other) as b, PrestaShop(different) as c:
        assert a.read_products(ids) == b.read_products(ids)
        assert a.read_products(ids) != c.read_products(ids)


def test_demo_shop_refuses_to_overwrite_an_existing_shop(demo_url):
    with pytest.raises(Refused, match="refusing to overwrite"):
        create_demo_shop(demo_url, products=5)
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_product")[0][0] == N

    assert create_demo_shop(demo_url, products=5, overwrite=True) == 5
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_product")[0][0] == 5


def test_failed_sqlite_demo_build_leaves_no_file(tmp_path):
    target = tmp_path / "demo-shop.db"
    with pytest.raises(TypeError):  # random.Random refuses a list seed, after the tables exist
        create_demo_shop(f"sqlite:///{target}", products=10, seed=[1])  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_demo_shop_uses_the_table_prefix(shop_url):
    create_demo_shop(shop_url, products=3, prefix="shop7_")
    PrestaShop(shop_url, prefix="shop7_").check()
    with pytest.raises(ConnectorError, match=r"table ps_product not found \(prefix 'ps_'\)"):
        PrestaShop(shop_url, prefix="ps_").check()


# -- the queue ----------------------------------------------------------------------------------


def test_queue_lists_every_product_once_in_id_order(shop, demo_url):
    queue = list(shop.iter_queue())
    expected = raw(demo_url, """
        SELECT p.id_product, p.reference, l.name FROM ps_product p
        JOIN ps_product_lang l ON l.id_product = p.id_product AND l.id_shop = 1 AND l.id_lang = 1
        ORDER BY p.id_product""")
    assert queue == [(i, 0, ref, name) for i, ref, name in expected]
    assert [q[0] for q in queue] == list(range(1, N + 1))


def test_queue_is_read_in_pages_and_can_be_abandoned(shop):
    whole = list(shop.iter_queue())
    shop.queue_page = 7  # pages end inside the catalogue and exactly at its end (200 = 28 * 7 + 4)
    assert list(shop.iter_queue()) == whole
    shop.queue_page = 8  # 200 = 25 * 8: the last page is full, the next one empty
    assert list(shop.iter_queue()) == whole

    queue = shop.iter_queue()
    assert inspect.isgenerator(queue)
    assert [next(queue)[0] for _ in range(10)] == list(range(1, 11))
    assert set(shop.read_products([1, 2])) == {1, 2}  # interleaved with an unfinished queue
    queue.close()
    assert len(list(shop.iter_queue())) == N


def test_products_of_another_shop_are_not_listed(shop, demo_url):
    execute(demo_url, """
        INSERT INTO ps_product (id_product, id_tax_rules_group, reference, date_add, date_upd)
        VALUES (9001, 1, 'OTHER-SHOP', '2024-01-01 00:00:00', '2024-01-01 00:00:00')""", """
        INSERT INTO ps_product_shop
            (id_product, id_shop, id_tax_rules_group, price, active, date_add, date_upd)
        VALUES (9001, 2, 1, 5, 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')""")
    assert 9001 not in {item[0] for item in shop.iter_queue()}
    assert shop.read_products([9001]) == {}
    with PrestaShop(demo_url, id_shop=2) as shop2:
        assert list(shop2.iter_queue()) == [(9001, 0, "OTHER-SHOP", "")]
        assert shop2.read_products([9001])[9001]["price"] == "5.00"


# -- reading products ---------------------------------------------------------------------------


def test_read_products_matches_the_shop_tables(shop, demo_url):
    ids = [1, 2, 3, 50, 117, N]
    products = shop.read_products(ids)
    assert list(products) == ids
    rows = raw(demo_url, """
        SELECT p.id_product, p.reference, p.ean13, p.mpn, l.name, l.description_short, s.active,
               s.price, s.wholesale_price, p.weight, st.quantity, s.id_category_default, cl.name,
               m.name
        FROM ps_product p
        JOIN ps_product_shop s ON s.id_product = p.id_product AND s.id_shop = 1
        JOIN ps_product_lang l ON l.id_product = p.id_product AND l.id_shop = 1 AND l.id_lang = 1
        JOIN ps_stock_available st ON st.id_product = p.id_product AND st.id_product_attribute = 0
        JOIN ps_category_lang cl ON cl.id_category = s.id_category_default AND cl.id_lang = 1
        LEFT JOIN ps_manufacturer m ON m.id_manufacturer = p.id_manufacturer
        WHERE p.id_product IN (1, 2, 3, 50, 117, 200) ORDER BY p.id_product""")
    for row in rows:
        p = products[row[0]]
        assert (p["reference"], p["ean13"], p["mpn"], p["name"], p["description_short"]) == row[1:6]
        assert p["active"] is bool(row[6])
        for key, value in zip(("price", "wholesale_price", "weight"), row[7:10], strict=True):
            assert Decimal(p[key]) == Decimal(str(value)), key
        assert p["quantity"] == row[10]
        assert p["category"] == {"id": row[11], "name": row[12], "path": shop.category_tree().path(row[11])}
        assert p["manufacturer"] == row[13]


def test_combinations_are_nested_in_their_product(shop, demo_url):
    rows = raw(demo_url, """
        SELECT pa.id_product, pa.id_product_attribute, pa.reference, pa.price, st.quantity
        FROM ps_product_attribute pa
        JOIN ps_stock_available st ON st.id_product_attribute = pa.id_product_attribute
        ORDER BY pa.id_product_attribute""")
    products = shop.read_products(range(1, N + 1))
    nested = [(p["id_product"], c["id_product_attribute"], c["reference"], c["price_impact"], c["quantity"])
              for p in products.values() for c in p["combinations"]]
    assert sorted(nested, key=lambda c: c[1]) == [
        (pid, pa, ref, fmt.format_decimal(Decimal(str(price))), qty) for pid, pa, ref, price, qty in rows
    ]
    for p in products.values():
        if p["combinations"]:
            assert p["quantity"] == sum(c["quantity"] for c in p["combinations"])
            for c in p["combinations"]:
                assert c["reference"].startswith(p["reference"] + "-")
                assert c["reference"].split("-")[2] == c["attributes"]["Size"]
                assert set(c["attributes"]) <= {"Size", "Color"}


def test_read_products_leaves_out_unknown_ids(shop):
    assert set(shop.read_products([2, 99_999, 1])) == {1, 2}
    assert shop.read_products([]) == {}


def test_names_come_from_the_configured_language(shop, demo_url):
    execute(
        demo_url, """
        INSERT INTO ps_product_lang (id_product, id_shop, id_lang, link_rewrite, name, description_short)
        VALUES (1, 1, 3, 'chemise', 'Chemise élégante', '<p>Française</p>')""",
        "INSERT INTO ps_attribute_group_lang VALUES (1, 3, 'Taille', 'Taille')",  # Size; Color untranslated
        "INSERT INTO ps_attribute_lang VALUES (1, 3, 'P'), (2, 3, 'M'), (3, 3, 'G'), (4, 3, 'TG')",
    )  # a third language (the demo has English and French), translated for product 1 only
    with PrestaShop(demo_url, id_lang=3) as french:
        products = french.read_products(range(1, N + 1))
        p1, p2 = products[1], products[2]
        assert (p1["name"], p1["description_short"]) == ("Chemise élégante", "<p>Française</p>")
        assert (p2["name"], p2["description_short"]) == ("", "")  # no translation
        assert p2["category"]["name"] == ""
        assert next(french.iter_queue())[3] == "Chemise élégante"
        sizes = {"S": "P", "M": "M", "L": "G", "XL": "TG"}
        combinations = [c for p in products.values() for c in p["combinations"]]
        assert combinations
        for c in combinations:
            assert c["attributes"] == {"Taille": sizes[c["reference"].split("-")[2]]}


def test_shop_from_a_heartbeat_connection(demo_url):
    options = {"url": demo_url, "prefix": "ps_", "id_shop": 1, "id_lang": 1}
    conn = Connection("main_shop", "prestashop", options)
    with PrestaShop.from_connection(conn) as s:
        assert s.name == "main_shop"
        s.check()
        assert len(s.read_products([1])) == 1


# -- the export format --------------------------------------------------------------------------


def test_export_file_of_demo_products_validates_against_the_schema(shop):
    from datetime import UTC, datetime

    products = shop.read_products(range(1, N + 1)).values()
    text = (fmt.file_head(task_id=7, profile="nightly", connection="demo_shop",
                          created_at=datetime(2026, 11, 2, 9, 0, 30, tzinfo=UTC))
            + fmt.SEPARATOR.join(fmt.dumps_product(p) for p in products) + fmt.FILE_TAIL)
    document = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(fmt.load_schema())
    jsonschema.Draft202012Validator(fmt.load_schema()).validate(document)
    assert document["task"]["created_at"] == "2026-11-02T09:00:30Z"
    assert text.splitlines()[1:-1] == [fmt.dumps_product(p) + "," for p in products][:-1] + [
        fmt.dumps_product(list(products)[-1])]  # one product per line
    assert any(p["combinations"] for p in document["products"])


@pytest.mark.parametrize("change", [
    {"price": 12.5},
    {"price": "12.500"},
    {"price": "-1.00"},
    {"quantity": "3"},
    {"ean13": "ABC"},
    {"category": {"id": 3}},
    {"surprise": 1},
    {"price_tax_incl": 15},
    {"condition": "broken"},
    {"languages": {"en": {"name": "n"}}},
])
def test_schema_rejects_malformed_products(change):
    product = fmt.product(
        id_product=1, reference="R", ean13="2000000000015", upc=None, mpn=None, name="n",
        description_short="", active=1, price=Decimal("12.5"), wholesale_price=0, quantity=1,
        weight=Decimal("0.5"), category_id=3, category_name="Shoes", manufacturer=None,
        date_upd=None, combinations=[], category_path="Home > Shoes",
        extra=fmt.listing(price_tax_incl=Decimal(15), tax_rate=Decimal(20), specific_price=None,
                          supplier_reference=None,
                          condition="new", visibility="both", available_for_order=1, minimal_quantity=1,
                          width=0, height=0, depth=0, categories=[], languages={}, images=[], features={}),
    )
    document = {"format": fmt.FORMAT, "products": [product],
                "task": {"id": 1, "profile": "p", "connection": "c", "created_at": "2026-01-01T00:00:00Z"}}
    validator = jsonschema.Draft202012Validator(fmt.load_schema())
    validator.validate(document)
    product.update(change)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(document)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("12.500000"), "12.50"), (Decimal("12.345678"), "12.345678"), (Decimal("12.340000"), "12.34"),
    (Decimal("0.000000"), "0.00"), (Decimal("-0.000000"), "0.00"), (Decimal("-1.500000"), "-1.50"),
    (Decimal("100"), "100.00"), (Decimal("1E+2"), "100.00"), (3, "3.00"), (24.166667, "24.166667"),
    (0.1, "0.10"), ("7.1000", "7.10"), (Decimal("1.0000005"), "1.000001"),
])
def test_decimals_keep_prestashop_precision_with_at_least_two_places(value, text):
    assert fmt.format_decimal(value) == text


def test_dumps_product_is_compact_and_keeps_unicode():
    assert fmt.dumps_product({"name": "Élégant", "b": [1, 2]}) == '{"name":"Élégant","b":[1,2]}'


# -- failures -----------------------------------------------------------------------------------


def test_missing_sqlite_shop_is_reported_and_not_created(tmp_path):
    path = tmp_path / "demo-shop.db"
    shop = PrestaShop(f"sqlite:///{path}", name="demo_shop")
    message = (f"connection demo_shop: shop database {path} does not exist "
               "(create it with `heartbeat demo init`)")
    for attempt in (shop.check, lambda: list(shop.iter_queue()), lambda: shop.read_products([1])):
        with pytest.raises(ConnectorError) as caught:
            attempt()
        assert str(caught.value) == message
    assert not path.exists()


def test_refused_connection_is_one_line_without_the_password():
    shop = PrestaShop("mysql+pymysql://nobody:secret@127.0.0.1:1/none", name="demo_shop")
    with pytest.raises(ConnectorError) as caught:
        shop.check()
    message = str(caught.value)
    assert message.startswith(
        "connection demo_shop: cannot connect to mysql+pymysql://nobody:***@127.0.0.1:1/none: (2003, ")
    assert "secret" not in message and "\n" not in message
    assert "secret" not in repr(shop)


def test_missing_product_table_is_named_with_the_prefix(shop_url, backend):
    if backend == "sqlite":  # an existing but empty database file
        sqlite3.connect(sa.make_url(shop_url).database).close()
    with pytest.raises(ConnectorError) as caught:
        PrestaShop(shop_url, name="demo_shop").check()
    assert str(caught.value) == "connection demo_shop: table ps_product not found (prefix 'ps_')"


def test_a_missing_table_while_reading_is_a_connector_error(shop, demo_url):
    execute(demo_url, "DROP TABLE ps_product_attribute_combination")
    with pytest.raises(ConnectorError, match=r"^connection demo_shop: reading .* failed: .*_combination"):
        shop.read_products([1])


@pytest.mark.parametrize(("url", "reason"), [
    ("not a url :secret@", "invalid database URL"),
    ("postgresx://u:secret@h/db", "unsupported database URL postgresx://u:***@h/db"),
])
def test_bad_urls_are_connector_errors_without_the_password(url, reason):
    with pytest.raises(ConnectorError) as caught:
        PrestaShop(url, name="demo_shop")
    assert str(caught.value).startswith(f"connection demo_shop: {reason}")
    assert "secret" not in str(caught.value)
