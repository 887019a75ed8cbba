"""Import profiles end to end: a feed in, the shop updated exactly, every row accounted for."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors.prestashop import create_demo_shop
from profiles.base import Effect
from tests.helpers import (
    PRESTASHOP_PRODUCT_HEADERS,
    assert_counters_match_items,
    import_config,
    make_config,
    make_heartbeat,
    prestashop_row,
    shop_rows,
    write_csv,
)
from tests.processes import hb, make_project, run_hooked

PRODUCTS = 30






def run_import(config, clock):
    beat = make_heartbeat(config, clock)
    task = beat.store.create(config.profiles[0], "manual", clock.now(), clock.now())
    beat.run_until_idle()
    return beat, beat.store.get(task.id)


def report(beat, task_id) -> dict[int, tuple]:
    return {i.position: (i.status, i.detail) for i in beat.store.items(task_id)}


@pytest.fixture
def shop(shop_url):
    create_demo_shop(shop_url, products=PRODUCTS)
    return shop_url


def test_csv_import_updates_exactly_and_accounts_for_every_row(tmp_path, db_url, shop, clock):
    before = shop_rows(shop)
    p2, q3 = before["DEMO-000002"], before["DEMO-000003"]
    feed = write_csv(tmp_path / "feed.csv", [
        ["Reference #", "Price tax excluded", "Quantity", "Active (0/1)"],
        ["DEMO-000002", "12.50", str(p2[1]), "1" if p2[2] else "0"],          # line 2: price
        ["DEMO-000003", str(q3[0]), "7", "1" if q3[2] else "0"],              # line 3: quantity
        ["DEMO-000004", str(before["DEMO-000004"][0]), str(before["DEMO-000004"][1]), ""],  # unchanged
        ["NOPE-1", "1.00", "1", ""],                                          # line 5: unknown
        ["DEMO-000005", "abc", "1", ""],                                      # line 6: bad price
        ["DEMO-000002", "99.00", "1", ""],                                    # line 7: duplicate
    ])
    beat, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(feed)}), clock)
    after = shop_rows(shop)
    assert task.status == "completed"
    assert after["DEMO-000002"][0] == Decimal("12.500000") and after["DEMO-000003"][1] == 7
    assert {k: v for k, v in after.items() if k not in ("DEMO-000002", "DEMO-000003")} == {
        k: v for k, v in before.items() if k not in ("DEMO-000002", "DEMO-000003")}
    rows = report(beat, task.id)
    assert rows[1] == ("processed", f"price: {_money(p2[0])} -> 12.50")
    assert rows[2] == ("processed", f"quantity: {q3[1]} -> 7")
    assert rows[3] == ("skipped", "unchanged")
    assert rows[4] == ("skipped", "not found in shop")
    assert rows[5] == ("error", "price 'abc' is not a number (line 6)")
    assert rows[6] == ("skipped", "duplicate reference in feed (first at line 2)")
    assert (task.progress.processed, task.progress.skipped, task.progress.error) == (2, 3, 1)
    assert_counters_match_items(beat.store, task.id)


def _money(value: Decimal) -> str:
    from connectors.platform.export_format import format_decimal

    return format_decimal(value)


def test_prestashop_import_layout_needs_no_mapping(tmp_path, db_url, shop, clock):

    feed = write_csv(tmp_path / "ps.csv", [PRESTASHOP_PRODUCT_HEADERS, prestashop_row(**{
        "Reference #": "DEMO-000010", "Price tax excluded": "33.30", "Quantity": "12", "Active (0/1)": "0"})])
    beat, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(feed)}), clock)
    assert shop_rows(shop)["DEMO-000010"] == (Decimal("33.300000"), 12, False)
    assert task.progress.processed == 1


def test_export_then_import_round_trip_is_all_unchanged(tmp_path, db_url, shop, clock):
    from reports import export_file

    exporter = make_heartbeat(make_config(tmp_path, db_url, shop, batch_size=50), clock)
    profile = exporter.config.profile("export-products")
    export = exporter.store.create(profile, "manual", clock.now(), clock.now())
    exporter.run_until_idle()
    path = tmp_path / "export.json"
    path.write_bytes(b"".join(export_file.read(exporter.store.get(export.id))))
    before = shop_rows(shop)
    beat, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(path), "type": "json"}), clock)
    assert task.status == "completed" and task.progress.processed == 0 and task.progress.error == 0
    assert task.progress.skipped == task.progress.total > PRODUCTS  # products and their combinations
    assert {d for _, d in report(beat, task.id).values()} == {"unchanged"}
    assert shop_rows(shop) == before


def test_applying_a_committed_plan_again_changes_nothing(tmp_path, db_url, shop, clock):
    feed = write_csv(tmp_path / "feed.csv", [["Reference #", "Quantity"], ["DEMO-000001", "555"]])
    config = import_config(tmp_path, db_url, shop, {"path": str(feed)})
    beat, task = run_import(config, clock)
    once = shop_rows(shop)
    worker = beat.runner.worker(config.profiles[0])
    worker.apply([Effect(1, [1, 0, {"quantity": 555}])], clock.now().isoformat())  # the same batch, again
    assert shop_rows(shop) == once and once["DEMO-000001"][1] == 555


def test_http_feed_404_and_truncated_are_start_errors(tmp_path, db_url, shop, clock, server):  # noqa: F811
    body = b"Reference #;Quantity\nDEMO-000001;3\n"
    server.routes["/cut.csv"] = (200, body, {"Content-Length": str(len(body) + 100)})
    before = shop_rows(shop)
    for path, expected in (("/missing.csv", "HTTP 404 Not Found"), ("/cut.csv", "truncated")):
        beat, task = run_import(import_config(tmp_path, db_url, shop, {"url": server.url(path)}), clock)
        assert task.status == "error", (path, task.message)
        assert expected in task.message and task.progress.total == 0
    assert shop_rows(shop) == before


def test_empty_feed_is_an_error_unless_allowed(tmp_path, db_url, shop, clock):
    feed = write_csv(tmp_path / "empty.csv", [["Reference #", "Quantity"]])
    _, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(feed)}), clock)
    assert (task.status, task.message) == (
        "error", "could not grab data from connection feed, No available items to grab")
    _, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(feed)}, allow_empty=True), clock)
    assert (task.status, task.progress.total) == ("completed", 0)


def test_missing_feed_file_is_a_start_error(tmp_path, db_url, shop, clock):
    _, task = run_import(import_config(tmp_path, db_url, shop, {"path": str(tmp_path / "nope.csv")}), clock)
    assert task.status == "error" and "not found" in task.message


@pytest.mark.slow
def test_crash_after_the_shop_write_redoes_the_same_plan(tmp_path, db_url):
    """The process dies after writing the shop but before committing the batch: the next run applies
    the saved plan again and reports exactly what an uninterrupted run reports."""

    reports, shops = [], []
    for name, crash in (("clean", False), ("crash", True)):
        project = make_project(tmp_path / name, db_url if crash else f"sqlite:///{tmp_path / name / 's.db'}")
        hb(project, "demo", "init", "--products", "50")
        task_id = int(hb(project, "profiles", "run", "demo-import").stdout.split()[-1])
        if crash:
            died = run_hooked(project, "tick", crash_after_apply=1)
            assert died.returncode == 71, died.stderr
        hb(project, "tick", "--until-idle")
        shown = json.loads(hb(project, "tasks", "show", str(task_id), "--json").stdout)
        assert shown["status"] == "completed"
        reports.append(hb(project, "tasks", "report", str(task_id)).stdout)
        shops.append(shop_rows(f"sqlite:///{project / 'data' / 'demo-shop.db'}"))
    assert reports[0] == reports[1]
    assert shops[0] == shops[1]
    assert ",processed,updated," in reports[1]


def test_profile_mapping_names_a_suppliers_own_headers(tmp_path, db_url, shop, clock):
    feed = write_csv(tmp_path / "own.csv", [["SKU", "Stock"], ["DEMO-000011", "42"]])
    config = import_config(tmp_path, db_url, shop, {"path": str(feed)},
                           mapping={"SKU": "reference", "Stock": "quantity"})
    _, task = run_import(config, clock)
    assert task.progress.processed == 1 and shop_rows(shop)["DEMO-000011"][1] == 42


def test_a_shop_missing_a_column_ends_the_task_instead_of_retrying(tmp_path, db_url, shop, clock):
    engine = sa.create_engine(shop)
    with engine.begin() as conn:  # as on a PrestaShop older than 1.7.7
        conn.execute(sa.text("ALTER TABLE ps_product DROP COLUMN mpn"))
    engine.dispose()

    beat = make_heartbeat(make_config(tmp_path, db_url, shop, batch_size=10), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.tick(clock.advance(1))
    failed = beat.store.get(task.id)
    assert failed.status == "error" and "mpn" in failed.message


def test_a_saved_plan_reads_back_as_planned_in_either_format():
    """Plans keep Decimals as exact text; a plan saved by an earlier version (its plan encoded as a
    JSON string inside the JSON, or its effects flat: [position, id_product, id_product_attribute,
    values]) still reads back, so a redo after an upgrade applies it."""

    from profiles.base import Processed
    from tasks.models import Outcome
    from tasks.states import ItemStatus

    plan = Processed(outcomes=[Outcome(1, ItemStatus.PROCESSED, "updated", "price: 1.00 -> 1.10", 4, 0),
                               Outcome(2, ItemStatus.SKIPPED, "none", "unchanged", 5, 0)],
                     effects=[Effect(1, [4, 0, {"price": Decimal("1.100000"), "quantity": 3,
                                                "active": True}])])
    text = plan.plan_json("2026-11-02T10:00:00+00:00")
    back, at = Processed.from_plan_json(text)
    assert at == "2026-11-02T10:00:00+00:00" and back.outcomes == plan.outcomes
    assert back.effects == [Effect(1, [4, 0, {"price": "1.100000", "quantity": 3, "active": True}])]
    old = json.dumps({"at": at, "processed": json.dumps(json.loads(text)["processed"])})
    assert Processed.from_plan_json(old) == (back, at)
    flat = json.loads(text)
    flat["processed"]["effects"] = [[1, 4, 0, {"price": "1.100000", "quantity": 3, "active": True}]]
    assert Processed.from_plan_json(json.dumps(flat)) == (back, at)


def test_the_action_log_names_the_first_changes_of_each_batch(tmp_path, db_url, shop, clock):
    from reports.action_log import CHANGES_LOGGED

    before = shop_rows(shop)
    refs = sorted(before)[:CHANGES_LOGGED + 3]
    feed = write_csv(tmp_path / "feed.csv", [["reference", "quantity"]] + [
        [ref, str(before[ref][1] + 1)] for ref in refs])
    config = import_config(tmp_path, db_url, shop, {"path": str(feed)}, fields=["quantity"])
    config = dataclasses.replace(config, profiles=(dataclasses.replace(config.profiles[0], batch_size=100),))
    beat, task = run_import(config, clock)

    log = [line.message for line in beat.store.log(task.id)]
    named = [line for line in log if line.startswith("DEMO-")]
    assert named == [f"{ref}: quantity: {before[ref][1]} -> {before[ref][1] + 1}"
                     for ref in refs[:CHANGES_LOGGED]]
    assert "... and 3 more changes (see the report)" in log
