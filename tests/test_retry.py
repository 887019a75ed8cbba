"""Retry of a finished task's error items (`tasks retry`, POST /api/tasks/ID/retry): a new task of
the same profile with only those items, an import's rows as they were stored (not the feed as it
is now), no suspicious-feed guard nor unchanged-feed check; an export's products read from the
shop now; refusals with the reason. On SQLite and MariaDB."""

from __future__ import annotations

import json

import pytest

from connectors.prestashop import create_demo_shop
from core.errors import Refused, TaskNotFound
from reports import export_file
from tests.helpers import (
    assert_counters_match_items,
    execute,
    import_config,
    make_config,
    make_heartbeat,
    manager,
    shop_rows,
    write_csv,
)
from tests.processes import hb, make_project

PRODUCTS = 30


@pytest.fixture
def shop(shop_url):
    create_demo_shop(shop_url, products=PRODUCTS)
    return shop_url


def queue_and_run(tasks, profile: str) -> int:
    task = tasks.queue(profile)
    tasks.beat.run_until_idle()
    return task.id


def importing(tmp_path, db_url, shop, clock, rows):
    feed = write_csv(tmp_path / "feed.csv", [["Reference #", "Price tax excluded", "Quantity"], *rows])
    config = import_config(tmp_path, db_url, shop, {"path": str(feed)}, fields=["price", "quantity"])
    beat = make_heartbeat(config, clock)
    tasks = manager(beat)
    tasks.beat = beat
    return tasks, feed


def test_an_import_retry_replays_the_stored_rows_of_its_error_items_only(tmp_path, db_url, shop, clock):
    tasks, feed = importing(tmp_path, db_url, shop, clock, [
        ["DEMO-000002", "12.50", "5"], ["DEMO-000003", "abc", "6"], ["DEMO-000004", "1.00", "x7"],
        ["DEMO-000005", "3.00", "8"]])
    first = queue_and_run(tasks, "supplier")
    assert tasks.show(first).progress.error == 2
    feed.unlink()  # the feed is gone (or changed): the retry never reads it
    clock.advance(60)
    retry = tasks.retry(first)
    assert (retry.retry_of, retry.trigger, retry.profile) == (first, "retry", "supplier")
    assert retry.to_json()["retry_of"] == first and tasks.show(first).to_json()["retry_of"] is None
    tasks.beat.run_until_idle()
    done = tasks.show(retry.id)
    assert done.status == "completed" and done.progress.as_dict() == {
        "total": 2, "pending": 0, "processed": 0, "skipped": 0, "cancelled": 0, "error": 2}
    before = {i.reference: i.detail for i in tasks.store.items(first) if i.status == "error"}
    again = {i.reference: i.detail for i in tasks.store.items(retry.id)}
    assert again == before  # the same rows as they were then: same lines, same reasons
    assert "(line 3)" in again["DEMO-000003"] and "(line 4)" in again["DEMO-000004"]
    assert_counters_match_items(tasks.store, retry.id)
    log = "".join(tasks.log(retry.id))
    assert f"retry of task {first}: its 2 error items, queued again" in log
    report = list(tasks.report(retry.id))
    assert len(report) == 3 and all(f"retry of task {first}: " in row for row in report[1:])


def test_an_import_retry_skips_the_feed_guard_and_the_unchanged_feed_check(tmp_path, db_url, shop, clock):
    rows = [[f"DEMO-{n:06d}", "4.00" if n != 9 else "-4.00", "3"] for n in range(1, 21)]
    tasks, feed = importing(tmp_path, db_url, shop, clock, rows)
    first = queue_and_run(tasks, "supplier")
    assert tasks.show(first).progress.error == 1
    clock.advance(60)
    retry = tasks.retry(first)  # 1 row of a 20-row feed: the guard would stop a run of such a feed
    tasks.beat.run_until_idle()
    done = tasks.show(retry.id)
    assert done.status == "completed" and done.progress.total == 1 and done.progress.error == 1
    assert "guard" not in (done.message or "") and "unchanged" not in "".join(tasks.log(retry.id))


def test_an_import_retry_succeeds_once_the_shop_is_fixed(tmp_path, db_url, shop, clock, backend):
    if backend != "sqlite":
        pytest.skip("MariaDB's typed columns cannot hold the unreadable quantity this test needs")
    execute(shop, "UPDATE ps_stock_available SET quantity = 'lots' WHERE id_product = 3 "
                  "AND id_product_attribute = 0")
    rows = [["DEMO-000002", "2.00", "5"], ["DEMO-000003", "3.00", "6"]]
    tasks, _ = importing(tmp_path, db_url, shop, clock, rows)
    first = queue_and_run(tasks, "supplier")
    assert [i.detail for i in tasks.store.items(first) if i.status == "error"] == [
        "quantity in the shop is 'lots', not a whole number: fix it in the shop first (line 3)"]
    execute(shop, "UPDATE ps_stock_available SET quantity = 1 WHERE id_product = 3 "
                  "AND id_product_attribute = 0")
    retry = tasks.retry(first)
    tasks.beat.run_until_idle()
    assert tasks.show(retry.id).progress.processed == 1
    assert shop_rows(shop)["DEMO-000003"][1] == 6


def test_an_export_retry_reads_the_same_products_from_the_shop_now(tmp_path, db_url, shop, clock):
    execute(shop, "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9")
    beat = make_heartbeat(make_config(tmp_path, db_url, shop, batch_size=10), clock)
    tasks = manager(beat)
    tasks.beat = beat
    first = queue_and_run(tasks, "export-products")
    assert [(i.product_id, i.detail) for i in tasks.store.items(first) if i.status == "error"] == [
        (9, "price: -5.00 is negative")]
    execute(shop, "UPDATE ps_product_shop SET price = 7 WHERE id_product = 9")
    clock.advance(60)
    retry = tasks.retry(first)
    assert retry.options == {"full": True}
    tasks.beat.run_until_idle()
    done = tasks.show(retry.id)
    assert (done.status, done.progress.total, done.progress.processed) == ("completed", 1, 1)
    sent = json.loads(b"".join(export_file.read(done)))
    assert [p["id_product"] for p in sent["products"]] == [9]
    assert float(sent["products"][0]["price"]) == 7  # the price as the shop has it now


def test_a_retry_is_refused_with_the_reason(tmp_path, db_url, shop, clock):
    beat = make_heartbeat(make_config(tmp_path, db_url, shop, batch_size=10), clock)
    tasks = manager(beat)
    pending = tasks.queue("export-products")
    with pytest.raises(Refused, match=f"task {pending.id} is pending; retry it when it has finished"):
        tasks.retry(pending.id)
    beat.run_until_idle()
    with pytest.raises(Refused, match=f"task {pending.id} has no error items; there is nothing to retry"):
        tasks.retry(pending.id)
    with pytest.raises(TaskNotFound):
        tasks.retry(999)
    assert [e.action for e in tasks.audit.list()] == ["profile.run"]  # a refusal records nothing


def test_a_retry_of_a_profile_no_longer_configured_is_refused(tmp_path, db_url, shop, clock):
    execute(shop, "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9")
    beat = make_heartbeat(make_config(tmp_path, db_url, shop, batch_size=10), clock)
    tasks = manager(beat)
    tasks.beat = beat
    first = queue_and_run(tasks, "export-products")
    renamed = manager(make_heartbeat(make_config(tmp_path, db_url, shop, name="other"), clock))
    with pytest.raises(Refused, match="profile 'export-products' is no longer configured"):
        renamed.retry(first)


@pytest.mark.slow
def test_tasks_retry_from_the_command_line(tmp_path):
    project = make_project(tmp_path / "p", f"sqlite:///{tmp_path}/state.db")
    hb(project, "demo", "init", "--products", "20")
    execute(f"sqlite:///{project}/data/demo-shop.db",
            "UPDATE ps_product_shop SET price = -5 WHERE id_product = 4")
    first = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    hb(project, "tick", "--until-idle")
    out = hb(project, "tasks", "retry", str(first))
    assert out.stdout.startswith(f"retry of task {first} (demo-export): queued task ")
    second = int(out.stdout.split()[-1])
    shown = json.loads(hb(project, "tasks", "show", str(second), "--json").stdout)
    assert shown["retry_of"] == first and shown["trigger"] == "retry"
    again = hb(project, "tasks", "retry", str(second), "--json", check=False)  # pending: refused
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == f"heartbeat: task {second} is pending; retry it when it has finished\n"
    assert hb(project, "tasks", "retry", "0", check=False).returncode == 2
    hb(project, "tick", "--until-idle")
    third = json.loads(hb(project, "tasks", "retry", str(first), "--json").stdout)
    assert third["retry_of"] == first and third["progress"]["total"] == 0 and third["status"] == "pending"
