"""Memory: peak RSS of `heartbeat tick --until-idle` exporting a big catalogue (1,000,000 products
by default) and of `heartbeat tasks report ID -o FILE` on that task, each its own process
(`ru_maxrss` of that child, from `os.wait4`).

The same export also gives the time to build a queue of that size, read from the task's action log:
the "task started" line carries the tick's time (before the queue is built) and the "batch 1" line
the time its batch began (right after the start committed).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bench import product, verify
from bench.backends import Backend
from bench.limit import connect
from bench.report import sig
from bench.throughput import Context


def measure(backend: Backend, ctx: Context, products: int) -> dict:
    state, shop = backend.state("memory"), backend.template(products)
    workdir = ctx.workdir / backend.name / f"memory-{products}"
    try:
        config = product.write_config(workdir, state, shop, ctx.batch_size)
        task_id = product.queue_task(config, product.EXPORT_PROFILE)
        export = product.run_until_idle(config)
        st = verify.task_state(state, task_id)
        verify.check_complete(st, products, f"the product ({products} products, {backend.name})")
        enqueue_s = _enqueue_from_log(state, task_id)
        csv = workdir / "report.csv"
        report = product.report(config, task_id, csv)
        rows = _count_lines(csv) - 1
        if rows != products:
            raise verify.Incomplete(f"the report has {rows} rows for {products} items")
        csv.unlink()
        Path(st["export_path"]).unlink(missing_ok=True)  # a million products: ~500 MB
    finally:
        backend.discard(state)
    return {
        "products": products,
        "export_peak_rss_mb": sig(export.peak_rss_mb),
        "report_peak_rss_mb": sig(report.peak_rss_mb),
        "export_s": sig(export.seconds),
        "export_items_per_s": sig(products / export.seconds),
        "enqueue_s": sig(enqueue_s),
        "report_s": sig(report.seconds),
        "report_rows_per_s": sig(products / report.seconds),
    }


def _enqueue_from_log(state_url: str, task_id: int) -> float:
    db = connect(state_url, state=True)
    try:
        db.cur.execute(db.sql("SELECT logged_at, message FROM hb_log WHERE task_id = ? ORDER BY id"),
                       (task_id,))
        at = {}
        for logged_at, message in db.cur:
            for key in ("task started", "batch 1:"):
                if message.startswith(key) and key not in at:
                    at[key] = (logged_at if isinstance(logged_at, datetime)
                               else datetime.fromisoformat(logged_at))
            if len(at) == 2:
                break
    finally:
        db.close()
    return (at["batch 1:"] - at["task started"]).total_seconds()


def _count_lines(path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n
