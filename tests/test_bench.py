"""A smoke run of the benchmark instrument (bench/, docs/performance.md): it runs end to end on a
small SQLite shop and every figure it gives is a positive number. The targets themselves are
checked by `make bench` on a full-size run, never by timed tests. (MariaDB is left out here: its
per-database DDL makes even a tiny run take longer than the rest of this file's budget.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def numbers(node, path=""):
    """Every (path, number) leaf under `node` (booleans are not figures)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from numbers(value, f"{path}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


@pytest.mark.slow
def test_bench_smoke_run_gives_every_figure_as_a_positive_number(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--products", "2000", "--db", "sqlite", "--skip-memory",
         "--repeat", "1", "--idle-tasks", "2000", "--idle-ticks", "11", "--out", str(out),
         "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    doc = json.loads(out.read_text())

    s = doc["results"]["sqlite"]
    assert not [k for k, v in s.items() if "error" in v], s
    for kind in ("export", "import"):
        assert s[kind]["limit"]["items_per_s"] > 0
        assert s[kind]["same_output"] is True  # product, limit (and peer) did the same work
    assert s["export"]["product"]["items_per_s"] > 0
    assert s["export"]["ratios"]["product_to_limit"] > 0
    for kind in ("export", "import"):  # one round: one side-by-side pair, its ratio the median
        ratios, runs = s[kind]["ratios"], s[kind]
        pair = runs["limit"]["samples_s"][0] / runs["product"]["samples_s"][0]
        assert ratios["product_to_limit_pairs"] == [pytest.approx(pair, rel=1e-3)]
        assert ratios["product_to_limit_median"] == ratios["product_to_limit_pairs"][0]
    judged = {t["figure"]: t for t in doc["targets"] if t["db"] == "sqlite"}
    assert judged["import vs limit"]["value"] == s["import"]["ratios"]["product_to_limit_median"]
    assert judged["import vs limit"]["target"].startswith(">= 0.85")  # SPEC, issue 28
    assert s["enqueue"]["product_s"] > 0 and s["idle_tick"]["median_ms"] > 0
    maintenance = s["maintenance"]  # a products analyze-integrity: the product's figure alone
    assert maintenance["product"]["items_per_s"] > 0
    assert not {"limit", "peer", "ratios"} & set(maintenance)
    for path, value in numbers(doc["results"]):
        assert value > 0, path
    assert doc["machine"]["cores"] > 0 and doc["parameters"]["products"] == 2000
    assert "export (items/s)" in run.stdout and "analyze-integrity (items/s)" in run.stdout


@pytest.fixture
def fresh_url(backend, tmp_path):
    """fresh_url(label): the URL of another new, empty database on the test's backend (MariaDB:
    dropped after the test)."""
    import uuid

    import sqlalchemy as sa

    from tests.conftest import MARIADB_SERVER

    created: list[str] = []

    def make(label: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / label}.db"
        name = f"hb_test_{label}_{uuid.uuid4().hex[:8]}"
        with server.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        created.append(name)
        return f"{MARIADB_SERVER}/{name}?charset=utf8mb4"

    server = sa.create_engine(MARIADB_SERVER)
    yield make
    with server.connect() as conn:
        for name in created:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    server.dispose()


@pytest.mark.parametrize("kind", ["export", "import"])
def test_the_limit_does_the_products_work(tmp_path, db_url, shop_url, fresh_url, clock, kind):
    """The limit (bench/limit.py) against the product on the same shop, on SQLite and MariaDB: the
    same export file after its head line, or the same prices and quantities after an import; so a
    ratio compares the same work. (The smoke run above covers SQLite only.)"""
    from bench import verify
    from bench.feed import write_feed
    from bench.limit import Runner, Spec
    from connectors.prestashop import create_demo_shop
    from tests.helpers import import_config, make_config, make_heartbeat

    products, twin_shop, limit_state = 60, fresh_url("twin_shop"), fresh_url("limit_state")
    for url in (shop_url, twin_shop):
        create_demo_shop(url, products=products, seed=42)
    feed = tmp_path / "feed.csv"
    if kind == "import":
        assert write_feed(shop_url, feed) == products
        config = import_config(tmp_path, db_url, shop_url, {"path": str(feed)}, fields=["price", "quantity"])
    else:
        config = make_config(tmp_path, db_url, shop_url, batch_size=25,
                             options={"entity": "products", "full": True})
    beat = make_heartbeat(config, clock)
    task = beat.store.create(config.profiles[0], "manual", clock.now(), clock.now())
    beat.run_until_idle()
    task = beat.store.get(task.id)
    assert task.progress.pending == 0 and task.progress.total == products

    runner = Runner(Spec(kind, limit_state, twin_shop, 25, str(tmp_path / "limit"),
                         feed_path=str(feed) if kind == "import" else None))
    runner.at = task.started_at.astimezone().replace(tzinfo=None)  # the sales current when the product ran
    runner.create_and_start()
    while not runner.run_batch():
        pass
    runner.close()
    state = verify.limit_state(limit_state, {"export_path": runner.path, "export_bytes": runner.offset})
    verify.check_complete(state, products, "the limit")
    if kind == "export":
        assert verify.export_digest(state) == verify.export_digest(
            {"export_path": task.export_path, "export_bytes": task.export_bytes})
    else:
        assert verify.shop_digest(twin_shop) == verify.shop_digest(shop_url)
        assert state["processed"] == task.progress.processed > 0
