"""Export end to end: the file a task writes is valid against the schema and equals the shop."""

from __future__ import annotations

import json

import jsonschema
import pytest
import sqlalchemy as sa

from connectors.platform.export_format import load_schema
from connectors.prestashop import create_demo_shop
from reports import export_file
from tests.helpers import make_config, make_heartbeat

PRODUCTS = 40


@pytest.fixture
def exported(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=15), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    done = beat.store.get(task.id)
    return done, json.loads(b"".join(export_file.read(done))), shop_url


def test_export_file_is_valid_against_the_schema(exported):
    task, document, _ = exported
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert task.status == "completed" and len(document["products"]) == task.progress.processed


def test_exported_values_equal_the_shops(exported):
    _, document, shop_url = exported
    engine = sa.create_engine(shop_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT p.id_product, p.reference, pl.name, ps.price, ps.active, sa.quantity "
            "FROM ps_product p JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1 "
            "JOIN ps_product_lang pl ON pl.id_product = p.id_product AND pl.id_lang = 1 AND pl.id_shop = 1 "
            "JOIN ps_stock_available sa ON sa.id_product = p.id_product AND sa.id_product_attribute = 0 "
            "AND sa.id_shop = 1 ORDER BY p.id_product")).all()
    engine.dispose()
    assert len(rows) == PRODUCTS
    for row, product in zip(rows, document["products"], strict=True):
        assert product["id_product"] == row.id_product
        assert product["reference"] == row.reference and product["name"] == row.name
        assert float(product["price"]) == pytest.approx(float(row.price), abs=1e-6)
        assert product["active"] == bool(row.active) and product["quantity"] == row.quantity


def test_file_on_disk_is_exactly_the_committed_bytes(exported):
    task, _, _ = exported
    with open(task.export_path, "rb") as f:
        data = f.read()
    assert len(data) == task.export_bytes
    assert data == b"".join(export_file.read(task))


def test_uncommitted_bytes_are_dropped_on_the_next_append(tmp_path):
    path = tmp_path / "x.json"
    offset = export_file.append(path, 0, b"head\n")
    export_file.append(path, offset, b"a batch that never committed")  # then a crash
    offset = export_file.append(path, offset, b"the batch again")
    assert path.read_bytes() == b"head\nthe batch again" and offset == len(path.read_bytes())


def test_orders_export_sends_changed_orders_only(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS * 5)  # one order per ten products
    options = {"entity": "orders", "full": False, "allow_empty": False}
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=7, options=options), clock)
    profile = beat.config.profile("export-products")

    def run():
        task = beat.store.create(profile, "manual", clock.now(), clock.now())
        beat.run_until_idle()
        done = beat.store.get(task.id)
        return done, json.loads(b"".join(export_file.read(done)) or b"{}")

    first, doc = run()
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    assert first.status == "completed" and len(doc["orders"]) == first.progress.processed == 20
    clock.advance(60)
    again, _ = run()
    assert (again.status, again.progress.total) == ("completed", 0)  # nothing changed since
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:  # an order changes in the shop (PrestaShop keeps local time)
        local_now = clock.advance(60).astimezone().replace(tzinfo=None, microsecond=0)
        conn.execute(sa.text("UPDATE ps_orders SET date_upd = :t WHERE id_order = 3"), {"t": local_now})
    engine.dispose()
    clock.advance(1)
    third, doc = run()
    assert [o["id_order"] for o in doc["orders"]] == [3]


def test_the_report_says_what_changed_since_the_last_export(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=15), clock)
    profile = beat.config.profile("export-products")

    def run(**options):
        task = beat.store.create(profile, "manual", clock.now(), clock.now(), options=options or None)
        beat.run_until_idle()
        return {i.product_id: (i.status, i.detail) for i in beat.store.items(task.id)}, task.id

    first, first_id = run()
    assert set(first.values()) == {("processed", "first export")}
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE ps_product_shop SET price = price + 1 WHERE id_product = 3"))
        conn.execute(sa.text("UPDATE ps_stock_available SET quantity = quantity + 1 "
                             "WHERE id_product = 3 AND id_product_attribute = 0"))
        conn.execute(sa.text("UPDATE ps_product_lang SET name = 'Renamed \"price\": 1' WHERE id_product = 4"))
    engine.dispose()
    second, _ = run()
    assert second.pop(3) == ("processed", f"changed since task #{first_id}: price, quantity, price_tax_incl")
    assert second.pop(4) == ("processed", f"changed since task #{first_id}: name, languages")
    assert set(second.values()) == {("skipped", f"unchanged since task #{first_id}")}
    full, full_id = run(full=True)
    assert full[5] == ("processed", f"unchanged since task #{first_id} (full export)")
    engine = sa.create_engine(shop_url)  # a full export re-sent product 5 as it was: its digests still
    with engine.begin() as conn:  # name what changes next
        conn.execute(sa.text("UPDATE ps_product_shop SET price = price + 1 WHERE id_product = 5"))
    engine.dispose()
    third, _ = run()
    assert third[5] == ("processed", f"changed since task #{full_id}: price, price_tax_incl")


def test_a_signature_finds_each_field_whatever_the_texts_hold():
    from connectors.platform import export_format as fmt

    def line(**changes):
        product = fmt.product(
            id_product=1, reference="R", ean13=None, upc=None, mpn=None, name='say "price": 5',
            description_short='"quantity":', active=True, price=1, wholesale_price=0, quantity=2,
            weight=0, category_id=3, category_name='"manufacturer":', manufacturer=None, date_upd=None,
            combinations=[fmt.combination(id_product_attribute=9, reference=None, ean13=None,
                                          price_impact=0, quantity=1, attributes={"price": "x"})])
        return fmt.dumps_product({**product, **changes}).encode()

    before = fmt.signature(line())
    assert fmt.changed_fields(before, fmt.signature(line(price="2.00"))) == ["price"]
    assert fmt.changed_fields(before, fmt.signature(line(quantity=3, name="x"))) == ["name", "quantity"]
    assert fmt.changed_fields(before, before) == []
    assert fmt.changed_fields(None, before) is None
