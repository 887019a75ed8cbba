"""`python -m bench.stats`: how long the seed's "number in red" takes (issue 25).

A connection's stats (GET /api/connections/NAME/stats, `heartbeat connections stats NAME`) are exact
and computed at the request: every product of the shop is read and hashed as an export would send
it, and compared with what the profile last sent. This measures that at N products: a full export
first (so every product is tracked), then 7 price changes and 3 deletions, then the stats timed
`--repeat` times (the median counts). The shop and the state database are on the same backend.

    .venv/bin/python -m bench.stats --products 100000 --db both
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.backends import DEFAULT_MARIADB, MariaDB, SQLite
from core.config import Config, Connection, Profile
from heartbeat.engine.beat import Heartbeat
from heartbeat.services.connections import ConnectionManager
from heartbeat.services.tasks import TaskManager
from reports import action_log
from tasks.database import create_state_engine, ensure_schema
from tasks.store import TaskStore

CHANGED, DELETED = 7, 3


def measure(backend, workdir: Path, products: int, repeat: int) -> dict:
    shop, state = backend.shop("stats", products), backend.state("stats")
    conn = Connection("shop", "prestashop", {"url": shop, "prefix": "ps_", "id_shop": 1, "id_lang": 1})
    profile = Profile(name="export-products", kind="export", source="shop", batch_size=5000,
                      options={"entity": "products", "full": False, "allow_empty": False})
    config = Config(path=workdir / "heartbeat.toml", data_dir=workdir / f"data-{backend.name}",
                    database_url=state, connections={"shop": conn}, profiles=(profile,))
    engine = create_state_engine(state)
    ensure_schema(engine)
    store = TaskStore(engine, action_log)
    tasks = TaskManager(config, store)
    started = time.perf_counter()
    tasks.queue(profile.name)
    beat = Heartbeat(config, store)
    beat.run_until_idle()
    beat.close()
    export_s = time.perf_counter() - started
    shop_engine = sa.create_engine(shop)
    with shop_engine.begin() as c:
        for table in ("ps_product", "ps_product_shop"):
            c.execute(sa.text(f"UPDATE {table} SET price = price + 1 WHERE id_product <= {CHANGED}"))
        c.execute(sa.text(f"DELETE FROM ps_product WHERE id_product > {products - DELETED}"))
    shop_engine.dispose()
    manager, times, doc = ConnectionManager(tasks), [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        doc = manager.stats("shop")
        times.append(time.perf_counter() - t0)
    counts = {k: doc["profiles"][0][k] for k in ("new", "changed", "deleted", "unchanged", "invalid")}
    assert counts["changed"] == CHANGED and counts["deleted"] == DELETED, counts
    return {"products": products, "export_s": round(export_s, 1), "stats_s": [round(t, 2) for t in times],
            "median_s": round(statistics.median(times), 2), "counts": counts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=100_000)
    ap.add_argument("--db", choices=["sqlite", "mariadb", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mariadb-url", default=DEFAULT_MARIADB)
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hb-stats-"))
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        for db in (["sqlite", "mariadb"] if args.db == "both" else [args.db]):
            backend = SQLite(workdir) if db == "sqlite" else MariaDB(workdir, args.mariadb_url)
            try:
                found = measure(backend, workdir, args.products, args.repeat)
            finally:
                backend.close()
            print(f"{db}: {found}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
