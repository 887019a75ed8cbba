"""Issue 23, exports: a shop that suddenly looks empty announces nothing deleted (the export guard),
a dry run writes, sends and tracks nothing, the action log names what changed, and a step that
fails the same way at every heartbeat ends its task (docs/dirty-data.md, docs/reliability.md)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from connectors.prestashop import create_demo_shop
from profiles.export import ExportWorker
from reports import export_file
from tasks.failures import STEP_FAILURES_ALLOWED
from tests.helpers import execute, make_config, make_heartbeat, manager

PRODUCTS = 40


@pytest.fixture
def beat(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    return make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=10), clock)


def run(beat, **options):
    task = manager(beat).queue("export-products", **options)
    beat.run_until_idle()
    return beat.store.get(task.id)


def records(beat, task) -> list[dict]:
    if not task.export_bytes:
        return []
    return json.loads(b"".join(export_file.read(task)))["products"]


def drop_products_above(shop_url, keep: int) -> None:
    tables = ("ps_product_shop", "ps_product_lang", "ps_stock_available", "ps_product")
    execute(shop_url, *(f"DELETE FROM {table} WHERE id_product > {keep}" for table in tables))


def test_a_shop_offering_a_quarter_of_what_was_sent_stops_the_export_until_forced(beat, shop_url):
    first = run(beat)
    assert first.status == "completed" and len(beat.store.sent.tracked("export-products")) == PRODUCTS
    drop_products_above(shop_url, PRODUCTS // 4)
    stopped = run(beat)
    assert stopped.status == "error" and stopped.progress.total == 0 and not stopped.export_bytes
    assert stopped.message.startswith(
        "export stopped: the shop offers 10 products, fewer than 0.5 (min_products_ratio) of the 40 this "
        "profile tracks as sent; 30 deletions")
    assert "--force" in stopped.message
    assert len(beat.store.sent.tracked("export-products")) == PRODUCTS  # nothing forgotten either
    forced = run(beat, force=True)
    deleted = [r for r in records(beat, forced) if r.get("deleted") is True]
    assert forced.status == "completed" and len(deleted) == 30
    assert run(beat).status == "completed"  # the next run compares with what was sent since


def test_too_many_deletions_stop_the_export_even_when_enough_products_remain(beat, shop_url):
    run(beat)
    drop_products_above(shop_url, 28)  # 28 of 40 offered (0.7), 12 deletions (0.3 > 0.25)
    stopped = run(beat)
    assert stopped.status == "error"
    assert ("12 of the 40 products this profile tracks as sent (30%) would be announced deleted, more than "
            "0.25 of them (max_deleted_ratio)") in stopped.message


def test_the_thresholds_are_profile_options(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    config = make_config(tmp_path, db_url, shop_url, batch_size=10)
    profile = dataclasses.replace(config.profiles[0], options={**config.profiles[0].options,
                                                               "max_deleted_ratio": 0.5})
    beat = make_heartbeat(dataclasses.replace(config, profiles=(profile,)), clock)
    run(beat)
    drop_products_above(shop_url, 28)
    assert run(beat).status == "completed"


def test_an_export_dry_run_reports_but_writes_tracks_and_sends_nothing(beat, shop_url):
    first = run(beat)
    execute(shop_url, "UPDATE ps_product_shop SET price = price + 1 WHERE id_product = 3",
            "UPDATE ps_product SET price = price + 1 WHERE id_product = 3")
    drop_products_above(shop_url, 38)  # two deletions: 5%, under the guard
    tracked = beat.store.sent.sent_hashes("export-products", list(range(1, PRODUCTS + 1)))
    dry = run(beat, dry_run=True)
    assert dry.status == "completed" and dry.export_path is None and not dry.export_bytes
    assert beat.store.sent.sent_hashes("export-products", list(range(1, PRODUCTS + 1))) == tracked
    assert beat.store.deliveries.get(dry.id) is None
    items = {i.product_id: i for i in beat.store.items(dry.id)}
    assert items[3].action == "would export"
    assert items[3].detail.startswith(f"changed since task #{first.id}: ")
    assert items[39].detail == f"deleted from the shop since task #{first.id}: announced"
    log = [line.message for line in beat.store.log(dry.id)]
    assert any(line.startswith("DEMO-000003: changed since task") for line in log)
    real = run(beat)
    sent = {r["id_product"]: r for r in records(beat, real)}
    assert 3 in sent and sent[39].get("deleted") is True  # the dry run changed no tracking


def test_the_export_action_log_names_changed_and_deleted_products(beat, shop_url):
    first = run(beat)
    execute(shop_url, "UPDATE ps_stock_available SET quantity = quantity + 5 WHERE id_product IN (2, 12)",
            "UPDATE ps_product_shop SET price = price + 1 WHERE id_product = 2",
            "UPDATE ps_product SET price = price + 1 WHERE id_product = 2")
    drop_products_above(shop_url, 39)
    second = run(beat)
    log = [line.message for line in beat.store.log(second.id)]
    named = [line for line in log if line.startswith("DEMO-")]
    assert named[0].startswith(f"DEMO-000002: changed since task #{first.id}: ") and "price" in named[0]
    assert "quantity" in named[0]
    assert named[-1] == f"DEMO-000040: deleted from the shop since task #{first.id}: announced"
    assert len(named) == 3


class Broken(ExportWorker):
    """An export whose queue cannot be built: the same unexpected error at every heartbeat."""

    def build_queue(self, previous=None, task=None):
        raise RuntimeError("cannot build the queue")


def test_a_step_failing_the_same_way_at_every_heartbeat_ends_its_task(beat, clock):
    profile = beat.config.profile("export-products")
    beat.runner._workers[profile.name] = Broken(profile, beat.config)
    task = manager(beat).queue("export-products")
    for _ in range(STEP_FAILURES_ALLOWED - 1):
        beat.tick(clock.advance(60))
        assert beat.store.get(task.id).status == "pending"
    beat.tick(clock.advance(60))
    failed = beat.store.get(task.id)
    assert failed.status == "error"
    assert failed.message == (f"failed the same way at {STEP_FAILURES_ALLOWED} heartbeats in a row: "
                              "RuntimeError: cannot build the queue (the daemon's log has the details)")
    log = [(line.level, line.message) for line in beat.store.log(task.id)]
    assert log[0] == ("warning", f"heartbeat failed (1 of {STEP_FAILURES_ALLOWED} in a row before the task "
                                 "ends in error): RuntimeError: cannot build the queue")
    assert log[-1] == ("error", failed.message)
    assert beat.run_until_idle() == 1  # nothing left to loop on
