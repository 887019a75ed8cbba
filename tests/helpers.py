"""Builders shared by the tests: configs made in code, a heartbeat on a frozen clock."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from heartbeat.beat import Heartbeat
from heartbeat.config import Config, Connection, Profile
from tasks.database import create_state_engine, ensure_schema
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
    return TaskStore(engine)


def make_heartbeat(config: Config, clock, owner: str = "test-host:1:1") -> Heartbeat:
    return Heartbeat(config, make_store(config.database_url), clock=clock, owner=owner)


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
