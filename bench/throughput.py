"""Export and import throughput: the product, the limit and the peer on the same task.

Each contestant runs in a fresh process on a fresh copy of the shop and a fresh state database, and
is timed from spawn to exit; items/s = queued items / those seconds. With `repeat` > 1 every
contestant runs that many times, in alternating order. Each contestant's figures are its fastest run
(noise on a shared machine only ever adds time); the targets read the median of the side-by-side
pairs' ratios instead (SPEC "Targets": a product run against the limit's run next to it, under the
same load). After each run the task is checked: completed, every item handled,
counters equal to the items; and the outputs are compared (export file bodies, or the shop's prices
and quantities after an import), so a ratio always compares the same work.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench import proc, product, verify
from bench.backends import Backend
from bench.feed import write_feed
from bench.limit import Spec
from bench.report import sig

CONTESTANTS = ("product", "limit", "peer")


@dataclass
class Context:
    products: int
    batch_size: int
    repeat: int
    workdir: Path
    redis_url: str
    peer_skipped: str | None  # why the peer cannot run, or None
    import_na: str | None  # why the product cannot import yet, or None
    profile_dir: Path | None = None  # write a cProfile of one product export there


def measure(kind: str, backend: Backend, ctx: Context) -> dict:
    """{"product"|"limit"|"peer": figures or {"skipped": why}, "ratios": {...}, "same_output": bool}"""
    feed = None
    if kind == "import":
        feed = ctx.workdir / "feeds" / f"feed-{ctx.products}.csv"
        if not feed.exists():
            write_feed(backend.template(ctx.products), feed)
    skipped = {"product": ctx.import_na if kind == "import" else None, "limit": None,
               "peer": ctx.peer_skipped}
    runs: dict[str, list[dict]] = {c: [] for c in CONTESTANTS}
    for r in range(ctx.repeat):
        order = CONTESTANTS if r % 2 == 0 else tuple(reversed(CONTESTANTS))
        for who in order:
            if not skipped[who]:
                runs[who].append(_run(who, kind, backend, ctx, feed, r))
    result: dict = {}
    for who in CONTESTANTS:
        if skipped[who]:
            result[who] = {"skipped": skipped[who]}
            continue
        best = min(runs[who], key=lambda run: run["seconds"])
        result[who] = {k: v for k, v in best.items() if k != "digest"}
        result[who]["cpu_s"] = min(run["cpu_s"] for run in runs[who])
        result[who]["samples_s"] = [sig(run["seconds"]) for run in runs[who]]
        if len(runs[who]) > 1:  # slowest over fastest, minus 1: how noisy the machine was
            result[who]["spread"] = sig(max(result[who]["samples_s"]) / best["seconds"] - 1)
    digests = {run["digest"] for who in CONTESTANTS for run in runs[who]}
    result["same_output"] = len(digests) == 1
    result["ratios"] = _ratios(result)
    result["ratios"].update(_pairs(runs))
    if ctx.profile_dir is not None and not skipped["product"]:
        result["profile"] = str(profile_product(kind, backend, ctx, feed))
    return result


def _ratios(result: dict) -> dict:
    """Product speed over the other's speed: 1.0 means as fast, 0.6 means 60% of it. The `_cpu`
    ratios compare the processes' own CPU time instead: steadier under load, blind to the database
    server's work (all of SQLite's work is in the process; MariaDB's is not)."""
    ratios = {}
    for other in ("limit", "peer"):
        a, b = result["product"].get("items_per_s"), result[other].get("items_per_s")
        if a and b:
            ratios[f"product_to_{other}"] = sig(a / b)
            ratios[f"product_to_{other}_cpu"] = sig(result[other]["cpu_s"] / result["product"]["cpu_s"])
    return ratios


def _pairs(runs: dict[str, list[dict]]) -> dict:
    """The ratio of each round's product run to the other contestant's run of the same round
    (`product_to_limit_pairs`), and their median (`product_to_limit_median`): runs next to each
    other share the machine's load, so a pair's ratio is steadier than either run."""
    out = {}
    for other in ("limit", "peer"):
        rounds = zip(runs["product"], runs[other], strict=False)  # a skipped contestant has none
        pairs = [sig(theirs["seconds"] / ours["seconds"]) for ours, theirs in rounds]
        if pairs:
            out[f"product_to_{other}_pairs"] = pairs
            out[f"product_to_{other}_median"] = sig(statistics.median(pairs))
    return out


def _run(who: str, kind: str, backend: Backend, ctx: Context, feed: Path | None, r: int) -> dict:
    label = f"{kind}-{who}-{r}"
    state, shop = backend.state(label), backend.shop(label, ctx.products)
    workdir = ctx.workdir / backend.name / label
    try:
        if who == "product":
            timed, task_id, extra = _product(kind, workdir, state, shop, ctx, feed)
            st = verify.task_state(state, task_id)
        else:
            timed, info, extra = _raw(who, kind, workdir, state, shop, ctx, feed)
            st = verify.limit_state(state, info)
        verify.check_complete(st, ctx.products, f"{who} ({kind}, {backend.name})")
        digest = verify.export_digest(st) if kind == "export" else verify.shop_digest(shop)
    finally:
        backend.discard(state)
        backend.discard(shop)
    return {"seconds": sig(timed.seconds), "items_per_s": sig(ctx.products / timed.seconds),
            "peak_rss_mb": sig(timed.peak_rss_mb), "cpu_s": sig(timed.cpu_s), **extra, "digest": digest}


def _product(kind, workdir, state, shop, ctx, feed):
    config = product.write_config(workdir, state, shop, ctx.batch_size, feed_path=feed)
    name = product.EXPORT_PROFILE if kind == "export" else product.IMPORT_PROFILE
    task_id = product.queue_task(config, name)
    timed = product.run_until_idle(config)
    fixed = product.idle_tick(config)  # what one invocation costs with nothing to do
    return timed, task_id, {"fixed_cost_s": sig(fixed.seconds)}


def _raw(who, kind, workdir, state, shop, ctx, feed):
    spec = Spec(kind, state, shop, ctx.batch_size, str(workdir / "exports"),
                feed_path=str(feed) if feed else None,
                profile=product.EXPORT_PROFILE if kind == "export" else product.IMPORT_PROFILE)
    module = "bench.limit" if who == "limit" else "bench.peer"
    args = [spec.to_json()] + ([ctx.redis_url] if who == "peer" else [])
    timed = proc.run(proc.python("-m", module, *args), workdir / "logs", who).check(f"the {who}")
    info = json.loads(timed.stdout.strip().splitlines()[-1])
    return timed, info, {"queue_s": sig(info["queue_s"])}


def profile_product(kind: str, backend: Backend, ctx: Context, feed: Path | None) -> Path:
    """A cProfile of one more product run (not timed): `<profile_dir>/<db>-<kind>.prof` and a text
    summary next to it, sorted by cumulative and by own time."""
    import pstats

    label = f"{kind}-profiled"
    state, shop = backend.state(label), backend.shop(label, ctx.products)
    workdir = ctx.workdir / backend.name / label
    ctx.profile_dir.mkdir(parents=True, exist_ok=True)
    out = ctx.profile_dir / f"{backend.name}-{kind}.prof"
    try:
        config = product.write_config(workdir, state, shop, ctx.batch_size, feed_path=feed)
        product.queue_task(config, product.EXPORT_PROFILE if kind == "export" else product.IMPORT_PROFILE)
        product.run_until_idle(config, python_args=("-m", "cProfile", "-o", str(out)))
    finally:
        backend.discard(state)
        backend.discard(shop)
    text = out.with_suffix(".txt")
    with open(text, "w") as f:
        stats = pstats.Stats(str(out), stream=f)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return text
