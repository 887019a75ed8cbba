"""Builders shared by the tests: configs made in code, a heartbeat on a frozen clock, plain SQL,
feed files and import set-ups."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from core.config import Config, Connection, Profile
from heartbeat.engine.beat import Heartbeat
from heartbeat.services.tasks import TaskManager
from reports import action_log
from tasks import recovery
from tasks.database import MIGRATIONS, create_state_engine, ensure_schema
from tasks.models import Progress, Task
from tasks.states import TaskStatus
from tasks.store import TaskStore


def make_config(tmp_path: Path, state_url: str, shop_url: str, **profile) -> Config:
    profile.setdefault("name", "export-products")
    profile.setdefault("kind", "export")
    profile.setdefault("source", "shop")
    profile.setdefault("batch_size", 10)
    options = profile.pop("options", {"entity": "products", "full": False, "allow_empty": False})
    shop = Connection("shop", "prestashop", {"url": shop_url, "prefix": "ps_", "id_shop": 1, "id_lang": 1})
    return Config(path=tmp_path / "heartbeat.toml", data_dir=tmp_path / "data", database_url=state_url,
                  interval=60.0, connections={"shop": shop},
                  profiles=(Profile(options=options, **profile),))


def make_store(url: str) -> TaskStore:
    engine = create_state_engine(url)
    ensure_schema(engine)
    return TaskStore(engine, action_log)


def make_heartbeat(config: Config, clock, owner: str = "test-host:1:1") -> Heartbeat:
    return Heartbeat(config, make_store(config.database_url), clock=clock, owner=owner)


def manager(beat: Heartbeat) -> TaskManager:
    """The task verbs over a heartbeat's store and clock, as the CLI and the page get them."""
    return TaskManager(beat.config, beat.store, beat.clock)


def assert_counters_match_items(store: TaskStore, task_id: int) -> None:
    task = store.get(task_id)
    counts = store.item_counts(task_id)
    p = task.progress.as_dict()
    total = p.pop("total")
    assert {k: v for k, v in p.items() if v} == counts, (p, counts)
    assert total == sum(counts.values())


def raw(url: str, sql: str, **params) -> list[sa.Row]:
    """Rows of a plain SQL query, on a connection of its own (to check what our code wrote)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    """Run plain SQL statements in one transaction (to set a database up as a test needs)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


PRESTASHOP_PRODUCT_HEADERS = [
    "Product ID", "Active (0/1)", "Name *", "Categories (x,y,z...)", "Price tax excluded",
    "Tax rules ID", "Wholesale price", "On sale (0/1)", "Discount amount", "Discount percent",
    "Discount from (yyyy-mm-dd)", "Discount to (yyyy-mm-dd)", "Reference #", "Supplier reference #",
    "Supplier", "Manufacturer", "EAN13", "UPC", "MPN", "Ecotax", "Width", "Height", "Depth", "Weight",
    "Delivery time of in-stock products", "Delivery time of out-of-stock products with allowed orders",
    "Quantity", "Minimal quantity", "Low stock level",
    "Send me an email when the quantity is under this level", "Visibility",
    "Additional shipping cost", "Unity", "Unit price", "Summary", "Description", "Tags (x,y,z...)",
    "Meta title", "Meta keywords", "Meta description", "URL rewritten", "Text when in stock",
    "Text when backorder allowed", "Available for order (0 = No, 1 = Yes)", "Product available date",
    "Product creation date", "Show price (0 = No, 1 = Yes)", "Image URLs (x,y,z...)",
    "Image alt texts (x,y,z...)", "Delete existing images (0 = No, 1 = Yes)",
    "Feature(Name:Value:Position)", "Available online only (0 = No, 1 = Yes)", "Condition",
    "Customizable (0 = No, 1 = Yes)", "Uploadable files (0 = No, 1 = Yes)",
    "Text fields (0 = No, 1 = Yes)", "Out of stock action", "Virtual product", "File URL",
    "Number of allowed downloads", "Expiration date", "Number of days", "ID / Name of shop",
    "Advanced stock management", "Depends On Stock", "Warehouse", "Acessories  (x,y,z...)",
]


def prestashop_row(**values: str) -> list[str]:
    """A row of the product import layout: the given columns set, every other one empty."""
    return [values.get(h, "") for h in PRESTASHOP_PRODUCT_HEADERS]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8",
              newline: str = "\n") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return path


def shop_rows(shop_url: str) -> dict[str, tuple]:
    """reference -> (price, quantity, active) straight from PrestaShop's tables."""
    engine = sa.create_engine(shop_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT p.reference, ps.price, sa.quantity, ps.active FROM ps_product p "
            "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1 "
            "JOIN ps_stock_available sa ON sa.id_product = p.id_product "
            "AND sa.id_product_attribute = 0 AND sa.id_shop = 1")).all()
    engine.dispose()
    micro = Decimal("0.000001")
    return {r.reference: (Decimal(str(r.price)).quantize(micro), int(r.quantity), bool(r.active))
            for r in rows}


def import_config(tmp_path, state_url, shop_url, feed: dict, **options) -> Config:
    options = {"match_by": "reference", "fields": ["price", "quantity", "active"], "allow_empty": False,
               **options}
    feed_type = feed.pop("type", "csv")
    connections = {
        "shop": Connection("shop", "prestashop",
                           {"url": shop_url, "prefix": "ps_", "id_shop": 1, "id_lang": 1}),
        "feed": Connection("feed", feed_type, {"url": None, "path": None, "delimiter": None, "quotechar": '"',
                                               "encoding": None, "mapping": None, **feed}),
    }
    profile = Profile(name="supplier", kind="import", source="feed", target="shop", batch_size=4,
                      options=options)
    return Config(path=tmp_path / "heartbeat.toml", data_dir=tmp_path / "data", database_url=state_url,
                  connections=connections, profiles=(profile,))


def write_config_file(tmp_path: Path, state_url: str, shop_url: str, batch_size: int = 10) -> Path:
    """A config file with one export profile (export-products) of the shop at shop_url."""
    path = tmp_path / "heartbeat.toml"
    path.write_text(f"""
[heartbeat]
interval = 1
data_dir = "data"

[database]
url = "{state_url}"

[connections.shop]
type = "prestashop"
url = "{shop_url}"

[[profiles]]
name = "export-products"
kind = "export"
source = "shop"
batch_size = {batch_size}
""")
    return path


def upgrade_to(engine: sa.Engine, revision: str) -> None:
    """Migrate to an older revision, as a database made by an earlier release would be."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def share_stock(shop_url: str) -> None:
    """Group 1 shares stock: its rows hold quantity 1000 + id; stale per-shop rows hold 7."""
    execute(shop_url,
            "UPDATE ps_shop_group SET share_stock = 1 WHERE id_shop_group = 1",
            "UPDATE ps_stock_available SET id_shop = 0, id_shop_group = 1, "
            "quantity = 1000 + id_product, physical_quantity = 1000 + id_product",
            "INSERT INTO ps_stock_available (id_product, id_product_attribute, id_shop, id_shop_group, "
            "quantity, physical_quantity, reserved_quantity) "
            "SELECT id_product, 0, 1, 0, 7, 7, 0 FROM ps_product",
            "DELETE FROM ps_stock_available WHERE id_product = 2 AND id_shop = 0")


def redo_chunks(size: int, poison: set[int]) -> list[tuple[int, int, str]]:
    """The chunks the rules take after a daemon died in a batch of `size` (all suspect), when each
    item of `poison` kills whatever process handles it: [(first, last, "died"|"done"|"given up")]."""
    task = Task(id=1, profile="p", kind="export", status=TaskStatus.RUNNING, trigger="manual",
                created_at=None, scheduled_at=None, started_at=None, finished_at=None, message=None,
                batch_size=size, progress=Progress(size, size), owner="dead",
                lease_until=datetime(2026, 1, 1), attempt_position=1, attempt_end=size)
    a, chunks = recovery.next_attempt(task, "me", True), []
    while a.position <= size:
        at = dict(owner="me", lease_until=None, attempt_position=a.position, attempt_end=a.end,
                  suspect_until=a.suspect_until)
        if a.poisoned:
            chunks.append((a.position, a.end, "given up"))
            task = replace(task, handled_upto=a.end, restarts=a.restarts, culprit_until=a.culprit_until, **at)
        elif poison & set(range(a.position, a.end + 1)):
            chunks.append((a.position, a.end, "died"))
            died = recovery.crashed(a)
            task = replace(task, restarts=died.restarts, culprit_until=died.culprit_until, **at)
        else:
            chunks.append((a.position, a.end, "done"))
            task = replace(task, handled_upto=a.end, restarts=a.restarts, culprit_until=a.culprit_until, **at)
        a = recovery.next_attempt(task, "me", False)
    return chunks
