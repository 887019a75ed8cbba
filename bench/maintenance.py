"""Maintenance: a products integrity analysis of the bench's shop, as a user runs it.

`heartbeat maintenance run shop analyze-integrity` queues the task, then `heartbeat tick
--until-idle` builds its queue (every product, then each orphan query) and checks every record;
both are fresh processes, timed from spawn to exit, and `seconds` is their sum: from queueing to
the end of the task. items/s = records checked / seconds. The demo shop as created is clean, so the
records are its products and the task must find nothing (checked with `tasks result`, untimed).

There is no limit or peer here: no raw-SQL or rq version of the checks exists to compare with, so
the figure is the product's alone, to compare between runs and with the export's items/s. An
analysis never writes, so it reads the template shop itself rather than a copy.
"""

from __future__ import annotations

from bench import product, verify
from bench.backends import Backend
from bench.report import sig
from bench.throughput import Context
from core.config import MAINTENANCE_BATCH

OPERATION = "analyze-integrity"


def measure(backend: Backend, ctx: Context) -> dict:
    """{"product": figures of the fastest of `ctx.repeat` runs, "operation": ...}"""
    runs = [_run(backend, ctx, r) for r in range(ctx.repeat)]
    best = min(runs, key=lambda run: run["seconds"])
    figures = dict(best)
    figures["cpu_s"] = min(run["cpu_s"] for run in runs)
    figures["samples_s"] = [run["seconds"] for run in runs]
    if len(runs) > 1:  # slowest over fastest, minus 1: how noisy the machine was
        figures["spread"] = sig(max(figures["samples_s"]) / best["seconds"] - 1)
    # `maintenance run` takes no batch size: its tasks check MAINTENANCE_BATCH records per batch
    return {"operation": OPERATION, "scope": "products", "batch_size": MAINTENANCE_BATCH, "product": figures}


def _run(backend: Backend, ctx: Context, r: int) -> dict:
    label = f"maintenance-{r}"
    state, shop = backend.state(label), backend.template(ctx.products)
    workdir = ctx.workdir / backend.name / label
    try:
        config = product.write_config(workdir, state, shop, ctx.batch_size)
        task_id, queued = product.queue_maintenance(config, OPERATION)
        tick = product.run_until_idle(config)
        st = verify.task_state(state, task_id)
        verify.check_complete(st, ctx.products, f"the product ({OPERATION}, {backend.name})")
        found = {name: p["count"] for name, p in product.result(config, task_id)["patterns"].items()
                 if p["count"]}
        if found:
            raise verify.Incomplete(f"{OPERATION} found {found} on the demo shop as created (want nothing)")
    finally:
        backend.discard(state)
    seconds = queued.seconds + tick.seconds
    return {"seconds": sig(seconds), "items_per_s": sig(ctx.products / seconds),
            "queue_command_s": sig(queued.seconds), "tick_s": sig(tick.seconds),
            "peak_rss_mb": sig(tick.peak_rss_mb), "cpu_s": sig(queued.cpu_s + tick.cpu_s)}
