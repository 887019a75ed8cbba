"""Imports are previewed and guarded: a dry run writes nothing; a feed much shorter than the last
imported one, or one that would move many prices a lot, stops the task before anything is written
(--force overrides once); a feed identical to the last imported one completes at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.platform.export_format import format_decimal
from connectors.prestashop import create_demo_shop
from core.errors import Refused
from heartbeat.services.tasks import TaskManager
from tests.helpers import import_config, make_config, make_heartbeat, raw, shop_rows, write_csv

PRODUCTS = 40


@pytest.fixture
def shop(shop_url):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    return shop_url


@pytest.fixture
def refs(shop):
    return {ref: Decimal(str(price)) for ref, price in raw(
        shop, "SELECT p.reference, ps.price FROM ps_product p JOIN ps_product_shop ps "
              "ON ps.id_product = p.id_product AND ps.id_shop = 1 ORDER BY p.id_product")}


class Importer:
    """An import profile on a feed file the test rewrites, driven through the task verbs."""

    def __init__(self, tmp_path, db_url, shop_url, clock, **options):
        self.feed = tmp_path / "feed.csv"
        self.config = import_config(tmp_path, db_url, shop_url, {"path": str(self.feed)},
                                    fields=["price", "quantity"], **options)
        self.beat = make_heartbeat(self.config, clock)
        self.tasks = TaskManager(self.config, self.beat.store, clock)
        self.clock = clock

    def write(self, prices: dict[str, Decimal], quantity: int = 5) -> None:
        write_csv(self.feed, [["reference", "price", "quantity"]] + [
            [ref, f"{price:.2f}", str(quantity)] for ref, price in prices.items()])

    def run(self, **flags):
        task = self.tasks.queue("supplier", **flags)
        self.beat.run_until_idle()
        self.clock.advance(seconds=60)
        return self.beat.store.get(task.id)

    def log(self, task) -> str:
        return "\n".join(line.message for line in self.beat.store.log(task.id))


def raised(prices: dict[str, Decimal], by: Decimal) -> dict[str, Decimal]:
    return {ref: price + by for ref, price in prices.items()}


def test_a_dry_run_reports_what_it_would_change_and_writes_nothing(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(raised(refs, Decimal("1.00")))
    before = shop_rows(shop)
    task = imp.run(dry_run=True)

    assert task.status == "completed" and task.options == {"dry_run": True}
    assert task.progress.processed == PRODUCTS and shop_rows(shop) == before
    first, price = next(iter(refs.items()))
    item = next(i for i in imp.beat.store.items(task.id) if i.reference == first)
    assert item.action == "would update"
    new = (price + 1).quantize(Decimal("0.01"))
    assert item.detail.startswith(f"price: {format_decimal(price)} -> {format_decimal(new)}")
    assert "dry run" in imp.log(task)
    applied = imp.run()  # the same feed for real: the dry run did not count as an import
    assert applied.progress.processed == PRODUCTS and shop_rows(shop) != before


def test_full_is_for_exports_only_dry_run_and_force_for_both(tmp_path, db_url, shop, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    with pytest.raises(Refused, match="--full is for export profiles; supplier is an import profile"):
        imp.tasks.queue("supplier", full=True)
    config = make_config(tmp_path, db_url, shop)
    tasks = TaskManager(config, make_heartbeat(config, clock).store, clock)
    assert tasks.queue("export-products", dry_run=True).options == {"dry_run": True}
    assert tasks.queue("export-products", force=True).options == {"force": True}


def test_a_feed_identical_to_the_last_imported_one_completes_at_once(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(raised(refs, Decimal("1.00")))
    first = imp.run()
    again = imp.run()
    assert again.status == "completed" and again.progress.total == 0
    unchanged = (f"feed unchanged since task #{first.id}: nothing to import (run `heartbeat profiles run "
                 "supplier --force` to import it anyway)")
    assert again.message == unchanged
    assert imp.run(dry_run=True).message == unchanged  # a dry run says so too, and changes nothing
    third = imp.run()  # still measured against the import that read these bytes
    assert third.message == unchanged
    imp.write(dict(list(refs.items())[:3]))  # and its rows still count for the guard
    assert imp.run().message.startswith(f"suspicious feed: 3 rows, fewer than 0.5 (min_rows_ratio) of the "
                                        f"{PRODUCTS} rows of task #{first.id}")
    imp.write(raised(refs, Decimal("1.00")))
    forced = imp.run(force=True)
    assert forced.progress.total == PRODUCTS and forced.progress.skipped == PRODUCTS  # all unchanged


def test_a_much_shorter_feed_stops_before_anything_is_written(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(refs)
    first = imp.run()
    assert first.status == "completed"  # a first import is never stopped by the guard
    short = dict(list(raised(refs, Decimal("1.00")).items())[:10])
    imp.write(short)
    before = shop_rows(shop)
    stopped = imp.run()

    assert stopped.status == "error" and stopped.progress.total == 0
    assert stopped.message.startswith(
        f"suspicious feed: 10 rows, fewer than 0.5 (min_rows_ratio) of the {PRODUCTS} rows of "
        f"task #{first.id}, the last completed import; nothing was written.")
    assert "profiles run supplier --force" in stopped.message
    assert shop_rows(shop) == before
    forced = imp.run(force=True)
    assert forced.status == "completed" and forced.progress.processed == 10


def test_a_feed_moving_many_prices_a_lot_stops_before_anything_is_written(tmp_path, db_url, shop, refs,
                                                                          clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(refs)
    imp.run()
    cents = {ref: price * 100 for ref, price in refs.items()}  # the supplier now sends cents
    cents.update(dict(list(refs.items())[:30]))  # 10 of 40 products change: 25% > 0.2
    imp.write(cents)
    before = shop_rows(shop)
    stopped = imp.run()

    assert stopped.status == "error", stopped.message
    assert stopped.message.startswith(
        "suspicious feed: 10 of 40 matched products (25%) would change price by more than 50% "
        "(max_price_change), more than 0.2 of them (max_changed_ratio); nothing was written.")
    assert shop_rows(shop) == before


def test_thresholds_are_profile_options(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock, max_changed_ratio=0.5, min_rows_ratio=0.1)
    imp.write(refs)
    imp.run()
    rows = dict(list(refs.items())[:10])  # 10 rows of 40: 0.25 >= 0.1
    rows.update({ref: price * 100 for ref, price in list(refs.items())[:4]})  # 4 of 10 move: 0.4 <= 0.5
    imp.write(rows)
    task = imp.run()
    assert task.status == "completed" and task.progress.processed == 4, task.message


def test_an_http_feed_is_downloaded_once_conditionally_and_retried(tmp_path, db_url, shop, refs, clock,
                                                                     server):
    body = "reference;price;quantity\n" + "".join(f"{r};{p + 1:.2f};5\n" for r, p in refs.items())
    server.routes["/feed.csv"] = (200, body.encode(), {"ETag": '"v1"'})
    server.failures["/feed.csv"] = [503]
    config = import_config(tmp_path, db_url, shop, {"url": server.url("/feed.csv"), "retry_delay": 0},
                           fields=["price"])
    beat = make_heartbeat(config, clock)
    tasks = TaskManager(config, beat.store, clock)

    first = tasks.queue("supplier")
    beat.run_until_idle()
    assert beat.store.get(first.id).progress.processed == PRODUCTS
    assert len(server.requests) == 2  # a 503, then one download read for the whole task
    copy = tmp_path / "data" / "feeds" / "supplier" / f"task-{first.id}.csv"
    assert copy.read_text() == body

    second = tasks.queue("supplier")
    beat.run_until_idle()
    assert server.requests[-1]["If-None-Match"] == '"v1"'
    assert beat.store.get(second.id).message.startswith(f"feed unchanged since task #{first.id}: nothing")


def test_a_feed_larger_than_max_bytes_is_refused(tmp_path, db_url, shop, clock, server):
    server.routes["/big.csv"] = (200, b"reference;price\n" + b"X;1.00\n" * 100, {})
    config = import_config(tmp_path, db_url, shop, {"url": server.url("/big.csv"), "max_bytes": 100},
                           fields=["price"])
    beat = make_heartbeat(config, clock)
    task = TaskManager(config, beat.store, clock).queue("supplier")
    beat.run_until_idle()
    failed = beat.store.get(task.id)
    assert failed.status == "error"
    assert failed.message == (f"feed feed: {server.url('/big.csv')} is larger than 100 bytes (max_bytes); "
                              "refused")
    assert len(server.requests) == 1  # not retried
    assert not list((tmp_path / "data" / "feeds" / "supplier").glob("*.part"))


def test_the_same_feed_is_imported_again_after_an_import_with_errors(tmp_path, db_url, shop, refs, clock):
    """An error item may have had its cause fixed since (in the shop, say): no "unchanged" then."""
    imp = Importer(tmp_path, db_url, shop, clock)
    prices = raised(refs, Decimal("1.00"))
    prices[next(iter(prices))] = Decimal("-1.00")
    imp.write(prices)
    assert imp.run().progress.error == 1
    again = imp.run()
    assert again.progress.total == PRODUCTS and again.progress.error == 1


def test_a_feed_read_with_other_settings_is_not_unchanged(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(raised(refs, Decimal("1.00")))
    imp.run()
    other = Importer(tmp_path, db_url, shop, clock, match_by="reference", allow_negative_quantity=True)
    task = other.run()
    assert task.progress.total == PRODUCTS and task.message.startswith("completed")


def test_a_file_feed_is_read_from_its_copy_in_the_data_directory(tmp_path, db_url, shop, refs, clock):
    imp = Importer(tmp_path, db_url, shop, clock)
    imp.write(raised(refs, Decimal("1.00")))
    task = imp.run()
    copy = tmp_path / "data" / "feeds" / "supplier" / f"task-{task.id}.csv"
    assert copy.read_bytes() == imp.feed.read_bytes()
