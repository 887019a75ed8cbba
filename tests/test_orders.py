"""Sales orders: the demo shop's orders, OrderReader, and the orders export format, on SQLite and MariaDB.

Values read through the reader are checked against independent raw SQL on PrestaShop's tables.
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import sqlalchemy as sa

from connectors.platform import export_format as fmt
from connectors.prestashop import PrestaShop, create_demo_shop
from connectors.prestashop.orders import OrderReader
from core.errors import ConnectorError
from tests.helpers import execute, raw

N = 200  # products: 20 orders
ORDERS = N // 10
SINCE = datetime(2025, 12, 1)


def as_datetime(value) -> datetime:
    """A DATETIME from raw SQL: a datetime from MySQL, text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def dec(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def reader(shop):
    return OrderReader(shop)


def document(entity: str, records: list[dict]) -> dict:
    head = fmt.file_head(task_id=7, profile="orders", connection="demo_shop",
                         created_at=datetime(2026, 11, 2, 9, 0, 30, tzinfo=UTC), entity=entity)
    return json.loads(head + fmt.SEPARATOR.join(map(fmt.dumps_order, records)) + fmt.FILE_TAIL)


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(fmt.load_schema())


# -- the demo shop's orders ---------------------------------------------------------------------


def test_demo_shop_has_one_order_per_ten_products_with_one_to_four_lines(demo_url):
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_orders")[0][0] == ORDERS
    per_order = raw(demo_url, """
        SELECT o.id_order, COUNT(d.id_order_detail) FROM ps_orders o
        LEFT JOIN ps_order_detail d ON d.id_order = o.id_order GROUP BY o.id_order""")
    assert len(per_order) == ORDERS and {n for _, n in per_order} <= {1, 2, 3, 4}
    assert len({n for _, n in per_order}) > 1
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_customer")[0][0] == ORDERS // 2
    unnamed = raw(demo_url, """
        SELECT o.id_order FROM ps_orders o
        LEFT JOIN ps_order_state_lang s ON s.id_order_state = o.current_state AND s.id_lang = 1
        LEFT JOIN ps_customer c ON c.id_customer = o.id_customer
        LEFT JOIN ps_currency cu ON cu.id_currency = o.id_currency
        WHERE s.name IS NULL OR c.email IS NULL OR cu.iso_code IS NULL""")
    assert unnamed == []


def test_demo_order_lines_are_existing_products_and_combinations(demo_url):
    lines = raw(demo_url, """
        SELECT d.product_id, d.product_attribute_id, d.product_reference, d.product_ean13,
               d.product_name, p.reference, p.ean13, l.name, pa.id_product, pa.reference, pa.ean13
        FROM ps_order_detail d
        LEFT JOIN ps_product p ON p.id_product = d.product_id
        LEFT JOIN ps_product_lang l ON l.id_product = d.product_id AND l.id_lang = 1
        LEFT JOIN ps_product_attribute pa ON pa.id_product_attribute = d.product_attribute_id""")
    with_combinations = {pid for (pid,) in raw(demo_url, "SELECT id_product FROM ps_product_attribute")}
    assert any(line[1] for line in lines)  # some lines are combinations
    for (pid, pa, ref, ean, name, p_ref, p_ean, p_name, pa_product, pa_ref, pa_ean) in lines:
        assert p_ref is not None, f"line of unknown product {pid}"
        if pa:
            assert (pa_product, ref, ean) == (pid, pa_ref, pa_ean)
            assert name.startswith(p_name + " - Size : ")
        else:
            assert pid not in with_combinations
            assert (ref, ean, name) == (p_ref, p_ean, p_name)


def test_demo_order_totals_add_up(demo_url):
    lines = raw(demo_url, """SELECT id_order, product_quantity, unit_price_tax_excl, unit_price_tax_incl,
                                    total_price_tax_excl, total_price_tax_incl FROM ps_order_detail""")
    sums: dict[int, list[Decimal]] = {}
    for id_order, quantity, unit_excl, unit_incl, total_excl, total_incl in lines:
        assert dec(total_excl) == dec(unit_excl) * quantity and dec(total_incl) == dec(unit_incl) * quantity
        assert dec(unit_incl) == (dec(unit_excl) * Decimal("1.2")).quantize(Decimal("0.000001"))
        s = sums.setdefault(id_order, [Decimal(0), Decimal(0)])
        s[0] += dec(total_excl)
        s[1] += dec(total_incl)
    for row in raw(demo_url, """
            SELECT id_order, total_products, total_products_wt, total_shipping_tax_excl,
                   total_shipping_tax_incl, total_discounts_tax_excl, total_discounts_tax_incl,
                   total_paid_tax_excl, total_paid_tax_incl FROM ps_orders"""):
        products, products_wt, ship, ship_wt, disc, disc_wt, paid, paid_wt = map(dec, row[1:])
        assert [products, products_wt] == sums[row[0]]
        assert paid == products + ship - disc and paid_wt == products_wt + ship_wt - disc_wt


def test_demo_orders_are_placed_in_the_90_days_before_a_fixed_date(demo_url):
    rows = raw(demo_url, "SELECT date_add, date_upd FROM ps_orders ORDER BY id_order")
    added = [as_datetime(a) for a, _ in rows]
    updated = [as_datetime(u) for _, u in rows]
    assert added == sorted(added)  # ids follow dates
    assert datetime(2025, 10, 3) <= added[0] and updated[-1] < datetime(2026, 1, 1)
    assert all(u >= a for a, u in zip(added, updated, strict=True))
    assert any(u > a for a, u in zip(added, updated, strict=True))
    assert added[0] < SINCE < max(updated)


def test_same_seed_gives_the_same_orders_on_every_backend(reader, tmp_path):
    other, different = f"sqlite:///{tmp_path / 'other.db'}", f"sqlite:///{tmp_path / 'different.db'}"
    create_demo_shop(other, products=N, seed=42)
    create_demo_shop(different, products=N, seed=7)
    ids = range(1, ORDERS + 1)
    with PrestaShop(other) as a, PrestaShop(different) as b:
        assert OrderReader(a).read_orders(ids) == reader.read_orders(ids)
        assert OrderReader(b).read_orders(ids) != reader.read_orders(ids)


@pytest.mark.parametrize(("products", "orders"), [(0, 0), (1, 1), (9, 1), (25, 2)])
def test_a_small_demo_shop_has_at_least_one_order(tmp_path, products, orders):
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    create_demo_shop(url, products=products)
    assert raw(url, "SELECT COUNT(*) FROM ps_orders")[0][0] == orders
    assert raw(url, "SELECT COUNT(*) FROM ps_order_detail WHERE product_id > :n", n=products)[0][0] == 0


# -- the queue ----------------------------------------------------------------------------------


def test_queue_lists_every_order_of_the_shop_in_id_order(reader, demo_url):
    expected = raw(demo_url, """
        SELECT o.id_order, o.reference, c.firstname, c.lastname FROM ps_orders o
        JOIN ps_customer c ON c.id_customer = o.id_customer ORDER BY o.id_order""")
    assert list(reader.iter_queue()) == list(reader.iter_queue(None)) == [
        (i, 0, ref, f"{first} {last}") for i, ref, first, last in expected]
    assert [item[0] for item in reader.iter_queue()] == list(range(1, ORDERS + 1))


def test_queue_since_lists_only_orders_changed_after_it(reader, demo_url):
    expected = [i for (i,) in raw(demo_url, "SELECT id_order FROM ps_orders WHERE date_upd > :since "
                                            "ORDER BY id_order", since=SINCE)]
    assert 0 < len(expected) < ORDERS
    assert [item[0] for item in reader.iter_queue(SINCE)] == expected
    assert list(reader.iter_queue(datetime(2026, 1, 1))) == []


def test_queue_since_excludes_an_order_changed_exactly_then(reader, demo_url):
    id_order, date_upd = raw(demo_url, "SELECT id_order, date_upd FROM ps_orders WHERE id_order = 5")[0]
    date_upd = as_datetime(date_upd)
    assert id_order not in {item[0] for item in reader.iter_queue(date_upd)}
    assert id_order in {item[0] for item in reader.iter_queue(date_upd - timedelta(seconds=1))}
    assert id_order in {item[0] for item in reader.iter_queue(date_upd - timedelta(microseconds=1))}


def test_an_old_order_changed_again_is_queued_again(reader, demo_url):
    execute(demo_url, "UPDATE ps_orders SET date_upd = '2026-01-05 10:00:00' WHERE id_order = 2")
    assert [item[0] for item in reader.iter_queue(datetime(2026, 1, 1))] == [2]


def test_latest_update_is_the_next_since(reader, demo_url):
    latest = reader.latest_update()
    assert latest == max(as_datetime(u) for (u,) in raw(demo_url, "SELECT date_upd FROM ps_orders"))
    assert list(reader.iter_queue(latest)) == []
    execute(demo_url, "UPDATE ps_orders SET date_upd = '2026-01-05 10:00:00' WHERE id_order = 4")
    assert [item[0] for item in reader.iter_queue(latest)] == [4]
    assert reader.latest_update() == datetime(2026, 1, 5, 10, 0)
    execute(demo_url, "DELETE FROM ps_orders")
    assert reader.latest_update() is None


def test_queue_is_read_in_pages_and_can_be_abandoned(reader):
    whole, recent = list(reader.iter_queue()), list(reader.iter_queue(SINCE))
    for page in (3, 4, 5):  # 20 orders: pages ending inside the list and exactly at its end
        reader.queue_page = page
        assert list(reader.iter_queue()) == whole
        assert list(reader.iter_queue(SINCE)) == recent

    queue = reader.iter_queue()
    assert inspect.isgenerator(queue)
    assert [next(queue)[0] for _ in range(7)] == list(range(1, 8))
    assert set(reader.read_orders([1, 2])) == {1, 2}  # interleaved with an unfinished queue
    queue.close()
    assert len(list(reader.iter_queue())) == ORDERS


def test_aware_since_is_converted_to_the_shop_time_zone(shop):
    paris = ZoneInfo("Europe/Paris")
    aware = datetime(2025, 11, 30, 23, 0, tzinfo=UTC)  # midnight in Paris
    with pytest.raises(ValueError, match="timezone"):
        list(OrderReader(shop).iter_queue(aware))
    in_paris = OrderReader(shop, timezone=paris)
    assert list(in_paris.iter_queue(aware)) == list(OrderReader(shop).iter_queue(SINCE))


def test_orders_of_another_shop_are_not_listed(reader, demo_url):
    execute(demo_url, """
        INSERT INTO ps_orders (id_order, reference, id_shop, id_carrier, id_lang, id_customer, id_cart,
            id_currency, id_address_delivery, id_address_invoice, current_state, payment,
            total_paid_tax_incl, invoice_date, delivery_date, date_add, date_upd)
        VALUES (9001, 'OTHERSHOP', 2, 1, 1, 1, 9001, 2, 1, 1, 2, 'PayPal', 12.5,
            '2025-12-24 10:00:00', '2025-12-24 10:00:00', '2025-12-24 10:00:00', '2025-12-24 10:00:00')""")
    assert 9001 not in {item[0] for item in reader.iter_queue()}
    assert reader.read_orders([9001]) == {}
    with PrestaShop(demo_url, id_shop=2) as shop2:
        other = OrderReader(shop2)
        name = raw(demo_url, "SELECT firstname, lastname FROM ps_customer WHERE id_customer = 1")[0]
        assert list(other.iter_queue()) == [(9001, 0, "OTHERSHOP", " ".join(name))]
        order = other.read_orders([9001])[9001]
        assert (order["currency"], order["total_paid_tax_incl"], order["lines"]) == ("USD", "12.50", [])


def test_an_order_whose_customer_is_gone_keeps_its_customer_id(reader, demo_url):
    (id_customer,) = raw(demo_url, "SELECT id_customer FROM ps_orders WHERE id_order = 3")[0]
    execute(demo_url, f"DELETE FROM ps_customer WHERE id_customer = {id_customer}")
    assert [item for item in reader.iter_queue() if item[0] == 3][0][3] == ""
    customer = reader.read_orders([3])[3]["customer"]
    assert customer == {"id": id_customer, "firstname": "", "lastname": "", "email": None}


# -- reading orders -----------------------------------------------------------------------------


def test_read_orders_matches_the_shop_tables(reader, demo_url):
    orders = reader.read_orders(range(ORDERS, 0, -1))
    assert list(orders) == list(range(1, ORDERS + 1))
    rows = raw(demo_url, """
        SELECT o.id_order, o.reference, o.current_state, s.name, o.valid, o.payment, cu.iso_code,
               o.conversion_rate, o.total_products, o.total_products_wt, o.total_shipping_tax_excl,
               o.total_shipping_tax_incl, o.total_discounts_tax_excl, o.total_discounts_tax_incl,
               o.total_paid_tax_excl, o.total_paid_tax_incl, o.id_customer, c.firstname, c.lastname,
               c.email, o.date_add, o.date_upd
        FROM ps_orders o
        JOIN ps_order_state_lang s ON s.id_order_state = o.current_state AND s.id_lang = 1
        JOIN ps_currency cu ON cu.id_currency = o.id_currency
        JOIN ps_customer c ON c.id_customer = o.id_customer
        ORDER BY o.id_order""")
    assert len(rows) == ORDERS
    for row in rows:
        o = orders[row[0]]
        assert (o["reference"], o["state"], o["valid"], o["payment"], o["currency"]) == (
            row[1], {"id": row[2], "name": row[3]}, bool(row[4]), row[5], row[6])
        amounts = ["conversion_rate", *fmt.ORDER_TOTALS]
        assert [Decimal(o[key]) for key in amounts] == [dec(v) for v in row[7:16]]
        assert o["customer"] == {"id": row[16], "firstname": row[17], "lastname": row[18], "email": row[19]}
        assert (o["date_add"], o["date_upd"]) == (as_datetime(row[20]).isoformat(),
                                                  as_datetime(row[21]).isoformat())
    assert {o["valid"] for o in orders.values()} == {True, False}


def test_order_lines_match_the_shop_tables(reader, demo_url):
    orders = reader.read_orders(range(1, ORDERS + 1))
    rows = raw(demo_url, """
        SELECT id_order, id_order_detail, product_id, product_attribute_id, product_reference,
               product_ean13, product_name, product_quantity, unit_price_tax_excl, unit_price_tax_incl,
               total_price_tax_excl, total_price_tax_incl
        FROM ps_order_detail ORDER BY id_order, id_order_detail""")
    nested = [(o["id_order"], line) for o in orders.values() for line in o["lines"]]
    assert len(nested) == len(rows)
    for (id_order, line), row in zip(nested, rows, strict=True):
        assert (id_order, line["id_order_detail"], line["product_id"], line["product_attribute_id"],
                line["reference"], line["ean13"], line["name"], line["quantity"]) == tuple(row[:8])
        prices = [line[key] for key in ("unit_price_tax_excl", "unit_price_tax_incl",
                                         "total_price_tax_excl", "total_price_tax_incl")]
        assert prices == [fmt.format_decimal(dec(v)) for v in row[8:]]


def test_read_orders_uses_two_queries_and_leaves_out_unknown_ids(reader, shop):
    statements: list[str] = []
    engine = shop._engine  # the shop's own engine: what the reader's queries run on

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(reader.read_orders(range(1, ORDERS + 1))) == ORDERS
        assert len(statements) == 2
        assert set(reader.read_orders([2, 99_999, 1])) == {1, 2}
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert reader.read_orders([]) == {}


def test_state_names_come_from_the_configured_language(demo_url):
    execute(demo_url, "INSERT INTO ps_order_state_lang VALUES (5, 2, 'Livré', ''), "
                      "(4, 2, 'Expédié', 'shipped')")
    with PrestaShop(demo_url, id_lang=2) as french:
        orders = OrderReader(french).read_orders(range(1, ORDERS + 1)).values()
    names = {o["state"]["id"]: o["state"]["name"] for o in orders}
    assert names[5] == "Livré" and names[4] == "Expédié"
    assert {name for state, name in names.items() if state not in (4, 5)} == {""}


# -- the export format --------------------------------------------------------------------------


def test_export_file_of_demo_orders_validates_against_the_schema(reader):
    orders = list(reader.read_orders(range(1, ORDERS + 1)).values())
    doc = document("orders", orders)
    jsonschema.Draft202012Validator.check_schema(fmt.load_schema())
    validator().validate(doc)
    assert "products" not in doc and doc["orders"] == orders
    assert any(line["product_attribute_id"] for o in orders for line in o["lines"])


def test_a_products_document_still_validates(shop):
    products = list(shop.read_products(range(1, 21)).values())
    head = fmt.file_head(task_id=7, profile="p", connection="c", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert head == fmt.file_head(task_id=7, profile="p", connection="c",
                                 created_at=datetime(2026, 1, 1, tzinfo=UTC), entity="products")
    doc = json.loads(head + fmt.SEPARATOR.join(map(fmt.dumps_product, products)) + fmt.FILE_TAIL)
    validator().validate(doc)
    assert doc["products"] == products


def test_file_head_names_the_array_and_refuses_unknown_entities():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert fmt.file_head(task_id=1, profile="p", connection="c", created_at=moment,
                         entity="orders").endswith(',"orders":[\n')
    with pytest.raises(ValueError, match="unknown export entity 'customers'"):
        fmt.file_head(task_id=1, profile="p", connection="c", created_at=moment, entity="customers")


def sample_order(**changes) -> dict:
    line = fmt.order_line(
        id_order_detail=1, product_id=7, product_attribute_id=None, reference="DEMO-000007",
        ean13="2000000000077", name="Mug", quantity=2, unit_price_tax_excl=Decimal("10.000000"),
        unit_price_tax_incl=Decimal("12.000000"), total_price_tax_excl=20, total_price_tax_incl=24,
    )
    fields = dict(
        id_order=1, reference="ABCDEFGHI", state_id=2, state_name="Payment accepted", valid=1,
        payment="PayPal", currency="eur", conversion_rate=Decimal("1.000000"),
        totals=dict.fromkeys(fmt.ORDER_TOTALS, Decimal("0.000000")), customer_id=3, firstname="Zoë",
        lastname="Müller", email="zoe@example.com", date_add=datetime(2025, 12, 1, 10, 0), date_upd=None,
        lines=[line],
    )
    return fmt.order(**{**fields, **changes})


def test_order_builder_normalises_codes_and_amounts():
    order = sample_order()
    line = order["lines"][0]
    assert order["currency"] == "EUR" and line["product_attribute_id"] == 0
    assert (line["unit_price_tax_excl"], line["total_price_tax_incl"]) == ("10.00", "24.00")
    assert (order["date_add"], order["date_upd"]) == ("2025-12-01T10:00:00", None)
    assert sample_order(currency="0")["currency"] is None  # PrestaShop's column default
    assert sample_order(email="", reference=" ")["customer"]["email"] is None


@pytest.mark.parametrize("change", [
    {"total_paid_tax_incl": 12.5},
    {"total_paid_tax_incl": "-1.00"},
    {"currency": "euro"},
    {"state": "Payment accepted"},
    {"customer": {"id": 3}},
    {"reference": "TOO-LONG-REFERENCE"},
    {"lines": [{"product_id": 7}]},
    {"surprise": 1},
])
def test_schema_rejects_malformed_orders(change):
    doc = {"format": fmt.FORMAT, "orders": [sample_order()],
           "task": {"id": 1, "profile": "p", "connection": "c", "created_at": "2026-01-01T00:00:00Z"}}
    validator().validate(doc)
    doc["orders"][0].update(change)
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(doc)


@pytest.mark.parametrize(("arrays", "valid"), [
    ({"products": []}, True), ({"orders": []}, True), ({}, False), ({"products": [], "orders": []}, False),
])
def test_a_document_has_exactly_one_of_products_and_orders(arrays, valid):
    doc = {"format": fmt.FORMAT, **arrays,
           "task": {"id": 1, "profile": "p", "connection": "c", "created_at": "2026-01-01T00:00:00Z"}}
    assert validator().is_valid(doc) is valid


# -- failures -----------------------------------------------------------------------------------


def test_missing_orders_table_is_named_with_the_prefix(reader, demo_url):
    reader.check()
    execute(demo_url, "DROP TABLE ps_orders")
    with pytest.raises(ConnectorError) as caught:
        reader.check()
    assert str(caught.value) == "connection demo_shop: table ps_orders not found (prefix 'ps_')"
    with pytest.raises(ConnectorError, match=r"^connection demo_shop: reading .* failed: .*ps_orders"):
        list(reader.iter_queue())


def test_a_missing_lines_table_while_reading_is_a_connector_error(reader, demo_url):
    execute(demo_url, "DROP TABLE ps_order_detail")
    with pytest.raises(ConnectorError, match=r"^connection demo_shop: reading .* failed: .*ps_order_detail"):
        reader.read_orders([1])


def test_refused_connection_is_one_line_without_the_password():
    reader = OrderReader(PrestaShop("mysql+pymysql://nobody:secret@127.0.0.1:1/none", name="demo_shop"))
    for attempt in (reader.check, lambda: list(reader.iter_queue()), lambda: reader.read_orders([1])):
        with pytest.raises(ConnectorError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith("connection demo_shop: cannot connect to "
                                  "mysql+pymysql://nobody:***@127.0.0.1:1/none: (2003, ")
        assert "secret" not in message and "\n" not in message
    assert "secret" not in repr(reader)
