"""Enqueue: the time to start a task of N items, i.e. read the shop's catalogue and insert the queue.

Timed in this process around the product's own `TaskStore.start` with the real export worker (what
the first tick of a task does), and around the limit's queue building (`Runner.create_and_start`),
each on a fresh state database and a fresh shop copy; the fastest of `repeat` runs counts.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bench import product, verify
from bench.backends import Backend
from bench.limit import Runner, Spec, utcnow
from bench.report import sig
from bench.throughput import Context


def measure(backend: Backend, ctx: Context) -> dict:
    product_s, limit_s = [], []
    for r in range(ctx.repeat):
        product_s.append(_product(backend, ctx, r))
        limit_s.append(_limit(backend, ctx, r))
    best_product, best_limit = min(product_s), min(limit_s)
    return {
        "items": ctx.products,
        "product_s": sig(best_product), "limit_s": sig(best_limit),
        "product_items_per_s": sig(ctx.products / best_product),
        "limit_items_per_s": sig(ctx.products / best_limit),
        "ratios": {"product_to_limit": sig(best_limit / best_product)},
        "samples_s": {"product": [sig(s) for s in product_s], "limit": [sig(s) for s in limit_s]},
    }


def _product(backend: Backend, ctx: Context, r: int) -> float:
    from datetime import UTC

    from heartbeat.config.loader import load
    from profiles import worker_for
    from reports import action_log
    from tasks.database import create_state_engine, ensure_schema
    from tasks.store import TaskStore

    label = f"enqueue-product-{r}"
    state, shop = backend.state(label), backend.shop(label, ctx.products)
    config = load(product.write_config(ctx.workdir / backend.name / label, state, shop, ctx.batch_size))
    engine = create_state_engine(state)
    try:
        ensure_schema(engine)
        store = TaskStore(engine, action_log)
        profile = config.profile(product.EXPORT_PROFILE)
        now = utcnow().replace(tzinfo=UTC)
        task = store.create(profile, "manual", now, now)
        worker = worker_for(profile, config)
        started = time.perf_counter()
        task = store.start(task.id, now, "bench:1:1", profile.misfire_grace, worker.build_queue,
                           worker.export_path, timedelta(minutes=10))
        seconds = time.perf_counter() - started
        worker.close()
        if task is None or task.progress.total != ctx.products:
            raise verify.Incomplete(f"the product's start queued {task and task.progress.total} items")
        return seconds
    finally:
        backend.discard(state)
        backend.discard(shop)


def _limit(backend: Backend, ctx: Context, r: int) -> float:
    label = f"enqueue-limit-{r}"
    state, shop = backend.state(label), backend.shop(label, ctx.products)
    try:
        runner = Runner(Spec("export", state, shop, ctx.batch_size, str(ctx.workdir / "exports")))
        _, total, seconds = runner.create_and_start()
        runner.close()
        if total != ctx.products:
            raise verify.Incomplete(f"the limit's start queued {total} items")
        return seconds
    finally:
        backend.discard(state)
        backend.discard(shop)
