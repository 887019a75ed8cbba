"""Crash recovery at full speed: what one SIGKILL inside a batch costs an export.

`python -m bench.recovery [--products N] [--batch-size B] [--db sqlite|mariadb]` runs the same full
export twice on fresh copies of one shop: once clean (`heartbeat tick --until-idle`, timed from
spawn to exit), and once killed with SIGKILL in the middle of a batch, then run again to the end.
The kill waits for the daemon's second committed batch (a record in the state database, polled),
then for half of the average batch's time, so it lands inside the third batch. The cost of the kill
is the killed run plus the second run, minus the clean run, in batches of the clean run's average
(the target, SPEC "Targets": at most 2). Both exports must hold the same products, in order.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench import product
from bench.backends import DEFAULT_MARIADB, MariaDB, SQLite
from bench.proc import ROOT, env, python


def _handled(state_url: str, task_id: int) -> tuple[str, int, int]:
    engine = sa.create_engine(state_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT status, handled_upto, batches FROM hb_tasks WHERE id = :id"),
                               {"id": task_id}).one()
        return row[0], row[1], row[2]
    finally:
        engine.dispose()


def killed_run(config: Path, state_url: str, task_id: int, batch_seconds: float) -> float:
    """`tick --until-idle`, SIGKILLed half a batch into its third batch; the seconds it ran."""
    cmd = python("-m", "heartbeat", "--config", str(config), "tick", "--until-idle")
    started = time.monotonic()
    daemon = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while daemon.poll() is None:
            status, _, batches = _handled(state_url, task_id)
            if batches >= 2 or status != "running" and status != "pending":
                break
            time.sleep(0.01)
        time.sleep(batch_seconds / 2)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    return time.monotonic() - started


def products_of(config: Path, task_id: int, out: Path) -> list[int]:
    product.cli(config, "tasks", "export-file", str(task_id), "-o", str(out), name="export-file").check(
        "heartbeat tasks export-file")
    return [p["id_product"] for p in json.loads(out.read_text())["products"]]


def measure(backend, products: int, batch_size: int) -> dict:
    clean_dir, crash_dir = backend.workdir / "clean", backend.workdir / "crash"
    clean_cfg = product.write_config(clean_dir, backend.state("clean"), backend.shop("clean", products),
                                     batch_size)
    clean_id = product.queue_task(clean_cfg, product.EXPORT_PROFILE)
    clean = product.run_until_idle(clean_cfg)
    shown = product.show(clean_cfg, clean_id)
    batch_seconds = clean.seconds / max(1, shown["batches"])
    crash_state = backend.state("crash")
    crash_cfg = product.write_config(crash_dir, crash_state, backend.shop("crash", products), batch_size)
    crash_id = product.queue_task(crash_cfg, product.EXPORT_PROFILE)
    first = killed_run(crash_cfg, crash_state, crash_id, batch_seconds)
    status, handled, _ = _handled(crash_state, crash_id)
    second = product.run_until_idle(crash_cfg)
    same = products_of(clean_cfg, clean_id, clean_dir / "out.json") == products_of(
        crash_cfg, crash_id, crash_dir / "out.json")
    extra = first + second.seconds - clean.seconds
    return {"backend": backend.name, "products": products, "batch_size": batch_size,
            "clean_s": round(clean.seconds, 2), "batches": shown["batches"],
            "batch_s": round(batch_seconds, 3), "killed_after_s": round(first, 2),
            "killed_at_item": handled, "still": status, "rerun_s": round(second.seconds, 2),
            "extra_s": round(extra, 2), "extra_batches": round(extra / batch_seconds, 2),
            "same_products": same}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=20_000)
    ap.add_argument("--db", choices=("sqlite", "mariadb"), default="sqlite")
    ap.add_argument("--mariadb-url", default=DEFAULT_MARIADB)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hb-bench-recovery-") as tmp:
        backend = SQLite(Path(tmp)) if args.db == "sqlite" else MariaDB(Path(tmp), args.mariadb_url)
        try:
            figures = measure(backend, args.products, args.batch_size)
        finally:
            backend.close()
    print(json.dumps(figures))
    return 0 if figures["same_products"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
