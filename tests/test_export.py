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
