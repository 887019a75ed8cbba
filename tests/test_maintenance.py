"""Maintenance tasks end to end: analyses find nothing on a fresh shop and exactly what was broken,
fixes repair it as tasks like any other, the result validates against its schema, and an undo
restores the shop exactly (or refuses, restoring nothing)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa

from connectors.prestashop import create_demo_shop
from core.config import Profile
from core.errors import Refused
from heartbeat.cli.views import waiting_lines
from heartbeat.services.tasks import TaskManager
from tests.helpers import execute, make_config, make_heartbeat, raw
from tests.processes import ROOT, hb, make_project, run_hooked, show

PRODUCTS = 60
SCHEMA = json.loads((ROOT / "connectors/platform/maintenance-result.schema.json").read_text())


@pytest.fixture
def tasks(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    config = make_config(tmp_path, db_url, shop_url, batch_size=25)
    beat = make_heartbeat(config, clock)
    manager = TaskManager(config, beat.store, clock)
    manager.beat = beat
    return manager


def run(tasks: TaskManager, operation: str, scope: str = "products"):
    task = tasks.run_maintenance("shop", operation, scope)
    tasks.beat.run_until_idle()
    done = tasks.store.get(task.id)
    assert done.status == "completed" and done.kind == "maintenance", done.message
    result = tasks.result(done.id)
    jsonschema.Draft202012Validator(SCHEMA).validate(result)
    return done, result


def found(result: dict) -> dict[str, int]:
    return {name: p["count"] for name, p in result["patterns"].items() if p["count"]}


def dump(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n.startswith("ps_")]
        tables = {n: sorted(map(repr, conn.exec_driver_sql(f"SELECT * FROM {n}").all())) for n in names}
    engine.dispose()
    return tables


@pytest.mark.parametrize("scope, operations", [
    ("products", ["analyze-integrity", "analyze-repeated-ids"]), ("orders", ["analyze-integrity"])])
def test_a_fresh_demo_shop_is_clean(tasks, scope, operations):
    for operation in operations:
        task, result = run(tasks, operation, scope)
        assert found(result) == {} and result["not_checked"] == []
        assert (result["operation"], result["scope"], result["connection"]) == (operation, scope, "shop")
        assert result["patterns"] and all(p == {"count": 0, "fixed": 0, "examples": []}
                                          for p in result["patterns"].values())
    assert sum(result["checked"].values()) == task.progress.processed == task.progress.total


def test_an_analysis_finds_exactly_what_was_broken_and_writes_nothing(tasks, shop_url):
    execute(shop_url, "UPDATE ps_product SET price = price + 1 WHERE id_product = 12",
            "UPDATE ps_product SET reference = CONCAT(' ', reference) WHERE id_product = 13"
            if not shop_url.startswith("sqlite") else
            "UPDATE ps_product SET reference = ' ' || reference WHERE id_product = 13",
            "DELETE FROM ps_stock_available WHERE id_product = 14 AND id_product_attribute = 0")
    before = dump(shop_url)
    task, result = run(tasks, "analyze-integrity")
    assert found(result) == {"price_drift": 1, "untrimmed_reference": 1, "stock_row_missing": 1}
    reference = raw(shop_url, "SELECT reference FROM ps_product WHERE id_product = 12")[0][0]
    assert result["patterns"]["price_drift"]["examples"] == [reference]
    assert dump(shop_url) == before
    items = {i.product_id: i for i in tasks.store.items(task.id)}
    assert items[12].action == "found" and items[12].detail.startswith("price_drift: ")
    assert items[1].action == "checked"


def test_a_fix_repairs_keeps_an_undo_file_and_undo_restores_the_shop_exactly(tasks, shop_url):
    execute(shop_url, "INSERT INTO ps_stock_available (id_product, id_product_attribute, id_shop, "
                      "id_shop_group, quantity, physical_quantity, reserved_quantity) "
                      "VALUES (999999, 0, 1, 0, 5, 5, 0)")
    before = dump(shop_url)
    fix, result = run(tasks, "fix-orphans")
    assert result["patterns"]["orphan_stock_row"] == {"count": 1, "fixed": 1,
                                                      "examples": [result["patterns"]["orphan_stock_row"]
                                                                   ["examples"][0]]}
    after = dump(shop_url)
    assert {t for t in before if before[t] != after[t]} == {"ps_stock_available"}
    assert not raw(shop_url, "SELECT * FROM ps_stock_available WHERE id_product = 999999")

    assert tasks.undo(fix.id) == 1
    assert dump(shop_url) == before
    log = [line.message for line in tasks.store.log(fix.id)]
    assert log[-1] == "undone: 1 row of the shop restored as they were before this fix"
    with pytest.raises(Refused, match=f"task {fix.id} was undone already"):
        tasks.undo(fix.id)


def test_an_undo_refuses_when_a_row_changed_since_the_fix(tasks, shop_url):
    execute(shop_url, "UPDATE ps_product SET price = price + 1 WHERE id_product = 12")
    fix, result = run(tasks, "fix-integrity")
    assert result["patterns"]["price_drift"]["fixed"] == 1
    execute(shop_url, "UPDATE ps_product SET price = 123.45 WHERE id_product = 12")  # someone edits it
    kept = dump(shop_url)
    with pytest.raises(Refused, match="changed after the fix .*; nothing was undone"):
        tasks.undo(fix.id)
    assert dump(shop_url) == kept


def test_undo_is_for_finished_fixes_of_maintenance_tasks(tasks):
    analysis, _ = run(tasks, "analyze-integrity")
    with pytest.raises(Refused, match="changed nothing in the shop; there is nothing to undo"):
        tasks.undo(analysis.id)
    with pytest.raises(Refused, match="not an operation of scope orders"):
        tasks.run_maintenance("shop", "analyze-repeated-ids", "orders")
    with pytest.raises(Refused, match="no prestashop connection named 'nope'"):
        tasks.run_maintenance("nope", "analyze-integrity")


@pytest.mark.slow
def test_a_fix_killed_right_after_its_shop_write_is_redone_exactly_once(tmp_path, db_url):
    project = make_project(tmp_path, db_url)
    hb(project, "demo", "init", "--products", "200")
    shop = f"sqlite:///{project / 'data' / 'demo-shop.db'}"
    execute(shop, *[f"INSERT INTO ps_stock_available (id_product, id_product_attribute, id_shop, "
                    f"id_shop_group, quantity, physical_quantity, reserved_quantity) "
                    f"VALUES ({900000 + i}, 0, 1, 0, 1, 1, 0)" for i in range(3)])
    before = dump(shop)
    out = hb(project, "maintenance", "run", "demo_shop", "fix-orphans").stdout
    task_id = int(out.split()[-1])
    crashed = run_hooked(project, "tick", "--until-idle", crash_after_apply=1)
    assert crashed.returncode == 71  # the shop write happened, the batch did not commit
    hb(project, "tick", "--until-idle")
    assert show(project, task_id)["status"] == "completed"
    result = json.loads(hb(project, "tasks", "result", str(task_id)).stdout)
    orphans = result["patterns"]["orphan_stock_row"]
    assert orphans["count"] == 3 == orphans["fixed"]
    hb(project, "tasks", "undo", str(task_id))
    assert dump(shop) == before  # each deleted row restored exactly once


def test_a_maintenance_profile_is_checked_against_its_scope(tmp_path):
    from core.errors import ConfigError
    from heartbeat.config.loader import load

    def config(operation: str) -> Path:
        path = tmp_path / "heartbeat.toml"
        path.write_text('[connections.shop]\ntype = "prestashop"\nurl = "sqlite:///shop.db"\n\n'
                        '[[profiles]]\nname = "nightly"\nkind = "maintenance"\nsource = "shop"\n'
                        f'scope = "orders"\noperation = "{operation}"\n')
        return path

    profile = load(config("fix-orphans")).profile("nightly")
    assert (profile.kind, profile.options) == ("maintenance", {"scope": "orders", "operation": "fix-orphans",
                                                               "rename_repeated_references": False})
    with pytest.raises(ConfigError, match=r"profiles\[0\] \(nightly\)\.operation: 'analyze-repeated-ids' is "
                                          "not an operation of scope orders; expected one of"):
        load(config("analyze-repeated-ids"))


def test_fix_stats_forgets_tracking_of_products_gone_from_the_shop(tasks, shop_url, clock):
    beat = tasks.beat
    export = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    assert beat.store.get(export.id).progress.processed == PRODUCTS
    execute(shop_url, "DELETE FROM ps_product_shop WHERE id_product IN (5, 6)")

    analysis, result = run(tasks, "analyze-repeated-ids")
    assert result["patterns"]["stale_sync_state"] == {"count": 2, "fixed": 0, "examples": [
        "export-products: product 5", "export-products: product 6"]}
    assert result["patterns"]["repeated_sync_state"]["count"] == 0  # the key makes it impossible
    assert tasks.store.sent.tracked("export-products") == list(range(1, PRODUCTS + 1))  # nothing written

    fix, result = run(tasks, "fix-stats")
    assert result["patterns"]["stale_sync_state"]["fixed"] == 2 and result["checked"] == {"sync_state": 2}
    assert tasks.store.sent.tracked("export-products") == [i for i in range(1, PRODUCTS + 1)
                                                           if i not in (5, 6)]
    with pytest.raises(Refused, match="changed nothing in the shop; there is nothing to undo"):
        tasks.undo(fix.id)
    _, again = run(tasks, "fix-stats")
    assert again["patterns"]["stale_sync_state"]["count"] == 0
    _, orders = run(tasks, "fix-stats", "orders")
    assert orders["patterns"] == {} and orders["checked"] == {}


def test_profile_stats_count_what_an_export_would_send(tasks, shop_url, clock):
    beat = tasks.beat
    assert tasks.profile_stats("export-products") == {"profile": "export-products", "new": PRODUCTS,
                                                      "changed": 0, "unchanged": 0, "deleted": 0,
                                                      "invalid": 0}
    beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    execute(shop_url, "UPDATE ps_product_shop SET price = price + 1 WHERE id_product IN (1, 2, 3)",
            "UPDATE ps_product_shop SET price = -1 WHERE id_product = 4",
            "DELETE FROM ps_product_shop WHERE id_product = 9")
    assert tasks.profile_stats("export-products") == {"profile": "export-products", "new": 0, "changed": 3,
                                                      "unchanged": PRODUCTS - 5, "deleted": 1, "invalid": 1}


def test_fix_stats_forgets_a_product_deleted_from_ps_product_only(tasks, shop_url, clock):
    beat = tasks.beat
    beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    execute(shop_url, "DELETE FROM ps_product WHERE id_product = 7")  # its shop row stays behind
    _, result = run(tasks, "fix-stats")
    assert result["patterns"]["stale_sync_state"] == {"count": 1, "fixed": 1,
                                                      "examples": ["export-products: product 7"]}
    assert 7 not in tasks.store.sent.tracked("export-products")
    assert tasks.profile_stats("export-products")["deleted"] == 0


def test_a_result_says_whether_it_is_final_and_counts_only_checked_records(tasks):
    task = tasks.run_maintenance("shop", "analyze-integrity")
    pending = tasks.result(task.id)
    jsonschema.Draft202012Validator(SCHEMA).validate(pending)
    assert pending["status"] == "pending" and pending["checked"] == {}
    tasks.beat.run_until_idle()
    done = tasks.result(task.id)
    assert done["status"] == "completed" and done["checked"] == {"products": PRODUCTS}
    with pytest.raises(Refused, match="is not a configured profile; queue a maintenance task with"):
        tasks.queue("maintenance:shop:products:analyze-integrity")


def test_fixes_queued_together_wait_their_turn_one_at_a_time(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    config = make_config(tmp_path, db_url, shop_url, batch_size=25)
    nightly = Profile(name="nightly-fix", kind="maintenance", source="shop", batch_size=10,
                      options={"scope": "products", "operation": "fix-integrity"})
    config = dataclasses.replace(config, profiles=(*config.profiles, nightly))
    beat = make_heartbeat(config, clock)
    manager = TaskManager(config, beat.store, clock)
    first = manager.queue("nightly-fix")
    beat.tick(clock.now())
    assert beat.store.get(first.id).status == "running"
    second = manager.run_maintenance("shop", "fix-orphans")
    third = manager.run_maintenance("shop", "fix-orphans")  # the same operation again: waits too
    analysis = manager.run_maintenance("shop", "analyze-integrity")  # reads only: may run beside it
    beat.tick(clock.advance(60))
    waiting = beat.store.get(second.id)
    assert waiting.status == "pending" == beat.store.get(third.id).status
    assert waiting.message == (f"waiting: task {first.id} (nightly-fix) is fixing connection shop; one fix "
                               "at a time, this one starts when it ends")
    assert [line.message for line in beat.store.log(second.id)] == [waiting.message]  # logged once
    assert waiting_lines(manager.list())[-1] == f"task {second.id} {waiting.message}"  # `tasks list`
    beat.tick(clock.advance(60))
    assert [line.message for line in beat.store.log(second.id)] == [waiting.message]
    beat.run_until_idle()
    done = [beat.store.get(t.id) for t in (first, second, third, analysis)]
    assert [t.status for t in done] == ["completed"] * 4
    assert done[0].finished_at <= done[1].started_at and done[1].finished_at <= done[2].started_at  # in turn
    assert "started after waiting" in beat.store.log(second.id)[1].message


@pytest.mark.parametrize("rename", [False, True])
def test_fix_repeated_ids_renames_shared_references_when_asked(tmp_path, db_url, shop_url, clock, rename):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    (shared,), = raw(shop_url, "SELECT reference FROM ps_product WHERE id_product = 15")
    execute(shop_url, f"UPDATE ps_product SET reference = '{shared}' WHERE id_product IN (16, 18)")
    config = make_config(tmp_path, db_url, shop_url, batch_size=25)
    profile = Profile(name="dedupe", kind="maintenance", source="shop", batch_size=10,
                      options={"scope": "products", "operation": "fix-repeated-ids",
                               "rename_repeated_references": rename})
    config = dataclasses.replace(config, profiles=(*config.profiles, profile))
    beat = make_heartbeat(config, clock)
    manager = TaskManager(config, beat.store, clock)
    before = dump(shop_url)
    task = manager.queue("dedupe")
    beat.run_until_idle()
    result = manager.result(task.id)
    query = "SELECT reference FROM ps_product WHERE id_product IN (15, 16, 18) ORDER BY id_product"
    references = [r for (r,) in raw(shop_url, query)]
    if not rename:
        assert result["patterns"]["repeated_reference"] == {"count": 1, "fixed": 0, "examples": [shared]}
        assert references == [shared] * 3 and dump(shop_url) == before
        return
    assert result["patterns"]["repeated_reference"] == {"count": 1, "fixed": 1, "examples": [shared]}
    assert references == [shared, f"{shared}-16", f"{shared}-18"]
    assert manager.undo(task.id) == 2 and dump(shop_url) == before
