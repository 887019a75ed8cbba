"""Where the time goes: one product run and one limit run of the same task, split into steps.

    python -m bench.steps --products 100000 --db sqlite --kind import

Each side runs once, in a fresh process, on a fresh copy of the same demo shop (as `python -m
bench` runs them). The product's steps come from its action log (the closing line's seconds of
batch work) and from one idle `heartbeat tick` (the cost of starting the command); the limit's
from what its process prints (queue building and batches). What is left of the product's time is
its start (queue building) and what it does between batches (the heartbeat's reads, claims, batch
commits). docs/performance.md, "Where the time goes", is a table of these figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

from bench import proc, product
from bench.backends import DEFAULT_MARIADB, MariaDB, SQLite
from bench.feed import write_feed
from bench.limit import Spec


def measure(products: int, db: str, kind: str, workdir: Path, batch_size: int = 1000) -> dict:
    backend = SQLite(workdir) if db == "sqlite" else MariaDB(workdir, DEFAULT_MARIADB)
    try:
        feed = None
        if kind == "import":
            feed = workdir / "feed.csv"
            write_feed(backend.template(products), feed)
        state, shop = backend.state("product"), backend.shop("product", products)
        config = product.write_config(workdir / "product", state, shop, batch_size, feed_path=feed)
        name = product.EXPORT_PROFILE if kind == "export" else product.IMPORT_PROFILE
        task_id = product.queue_task(config, name)
        run = product.run_until_idle(config)
        idle = product.idle_tick(config)
        log = product.cli(config, "tasks", "log", str(task_id), name="log").check("tasks log").stdout
        backend.discard(state)
        backend.discard(shop)
        work = float(re.search(r"in \d+ batches, ([0-9.]+) s of work", log).group(1))

        state, shop = backend.state("limit"), backend.shop("limit", products)
        spec = Spec(kind, state, shop, batch_size, str(workdir / "limit" / "exports"),
                    feed_path=str(feed) if feed else None)
        limit = proc.run(proc.python("-m", "bench.limit", spec.to_json()), workdir / "limit", "limit").check(
            "the limit")
        info = json.loads(limit.stdout.strip().splitlines()[-1])
        backend.discard(state)
        backend.discard(shop)
    finally:
        backend.close()
    return {
        "db": db, "kind": kind, "products": products,
        "product": {"seconds": run.seconds, "cpu_s": run.cpu_s, "start_up_s": idle.seconds,
                    "batch_work_s": work, "queue_and_between_batches_s": run.seconds - idle.seconds - work},
        "limit": {"seconds": limit.seconds, "cpu_s": limit.cpu_s, "queue_s": info["queue_s"],
                  "batches_s": info["batches_s"],
                  "start_up_s": limit.seconds - info["queue_s"] - info["batches_s"]},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "mariadb"), default="sqlite")
    ap.add_argument("--kind", choices=("export", "import"), default="import")
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hb-steps-"))
    try:
        print(json.dumps(measure(args.products, args.db, args.kind, workdir, args.batch_size), indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
