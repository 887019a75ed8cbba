"""`python -m bench` / `make bench`: every figure on each database, a table, and a JSON file.

One failing section (a product that crashes, a peer that cannot run) is recorded with its reason
and the others still run; the exit code is 1 when any section failed, else 0. Targets missed are
reported, not turned into a failure: the bench measures, it does not judge a build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import enqueue, idle, maintenance, memory, report, throughput
from bench.backends import DEFAULT_MARIADB, MariaDB, SQLite
from bench.peer import unavailable as peer_unavailable
from bench.proc import ROOT

SECTIONS = ("export", "import", "enqueue", "idle", "memory", "maintenance")
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=100_000, help="catalogue size (default 100000)")
    ap.add_argument("--db", choices=("sqlite", "mariadb", "both"), default="both",
                    help="shop and state database backend (default both)")
    ap.add_argument("--batch-size", type=int, default=1000, help="items per batch (default 1000)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="run each contestant this many times; the fastest counts (default 3)")
    ap.add_argument("--memory-products", type=int, default=None,
                    help="catalogue size of the memory run (default: --products when >= 1000000, else off)")
    ap.add_argument("--skip-memory", action="store_true", help="never run the memory section")
    ap.add_argument("--idle-tasks", type=int, default=100_000, help="finished tasks for the idle tick")
    ap.add_argument("--idle-ticks", type=int, default=101, help="idle ticks timed (median)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON file (default %(default)s)")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile one product export per database (written next to --out)")
    ap.add_argument("--mariadb-url", default=DEFAULT_MARIADB,
                    help="MariaDB server (default $HEARTBEAT_TEST_MARIADB or root@127.0.0.1:3306)")
    ap.add_argument("--redis-url", default=os.environ.get("HEARTBEAT_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
                    help="Redis for the rq peer (default $HEARTBEAT_BENCH_REDIS or 127.0.0.1:6379/0)")
    ap.add_argument("--workdir", type=Path, default=None, help="where shops, states and files go (temp)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := args.only - set(SECTIONS):
        ap.error(f"--only: unknown sections {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    if args.memory_products is None and args.products >= 1_000_000:
        args.memory_products = args.products
    if args.skip_memory or "memory" not in args.only:
        args.memory_products = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    _import_product()
    started, load_start, code = time.perf_counter(), os.getloadavg(), report.code_version()
    workdir = Path(tempfile.mkdtemp(prefix="hb-bench-", dir=args.workdir))
    _product_logs(workdir)
    dbs = ["sqlite", "mariadb"] if args.db == "both" else [args.db]
    versions, results, failed = {}, {}, False
    ctx = throughput.Context(
        products=args.products, batch_size=args.batch_size, repeat=max(1, args.repeat), workdir=workdir,
        redis_url=args.redis_url, peer_skipped=peer_unavailable(args.redis_url),
        import_na=_import_na(), profile_dir=args.out.parent / "profiles" if args.profile else None,
    )
    if ctx.peer_skipped is None:
        versions["redis"] = _redis_version(args.redis_url)
    try:
        for db in dbs:
            if db == "mariadb" and (why := MariaDB.unreachable(args.mariadb_url)):
                results[db] = {"skipped": f"MariaDB not reachable at {args.mariadb_url}: {why}"}
                print(f"mariadb: skipped ({why})", flush=True)
                continue
            backend = SQLite(workdir) if db == "sqlite" else MariaDB(workdir, args.mariadb_url)
            try:
                if db == "mariadb":
                    versions["mariadb"] = backend.version()
                results[db], db_failed = _run_db(backend, ctx, args)
                failed |= db_failed
            finally:
                backend.close()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    doc = {
        "bench": "heartbeat", "format": 1, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "machine": report.machine(versions, load_start, code),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "parameters": {
            "products": args.products, "batch_size": args.batch_size, "db": dbs, "repeat": ctx.repeat,
            "memory_products": args.memory_products, "idle_tasks": args.idle_tasks,
            "idle_ticks": args.idle_ticks, "sections": sorted(args.only),
        },
        "results": results,
    }
    doc["targets"] = report.targets(results, args.memory_products)
    print(report.table(doc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwritten: {args.out}" + (f" (work directory kept: {workdir})" if args.keep else ""))
    return 1 if failed else 0


def _run_db(backend, ctx: throughput.Context, args) -> tuple[dict, bool]:
    out, failed = {}, False
    steps = [
        ("export", lambda: throughput.measure("export", backend, ctx)),
        ("import", lambda: throughput.measure("import", backend, ctx)),
        ("enqueue", lambda: enqueue.measure(backend, ctx)),
        ("idle_tick", lambda: idle.measure(backend, ctx, args.idle_tasks, args.idle_ticks)),
    ]
    if args.memory_products:
        steps.append(("memory", lambda: memory.measure(backend, ctx, args.memory_products)))
    elif "memory" in args.only:
        out["memory"] = {"skipped": "off: give --memory-products N or --products >= 1000000"}
    steps.append(("maintenance", lambda: maintenance.measure(backend, ctx)))
    for name, step in steps:
        if name.split("_")[0] not in args.only:
            continue
        print(f"{backend.name}: {name} ...", flush=True)
        t = time.perf_counter()
        try:
            out[name] = step()
        except Exception as exc:  # one failing section must not hide the others' figures
            failed = True
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
        print(f"{backend.name}: {name} done in {time.perf_counter() - t:.1f} s", flush=True)
    return out, failed


def _import_product() -> None:
    """Import every product module the in-process sections use, now: a run takes minutes, and
    modules imported later could come from a newer working tree than the ones imported first."""
    import core.clock  # noqa: F401
    import heartbeat.config.loader  # noqa: F401
    import heartbeat.engine.beat  # noqa: F401
    import profiles  # noqa: F401
    import tasks.database  # noqa: F401
    import tasks.store  # noqa: F401


def _product_logs(workdir: Path) -> None:
    """The product's in-process logs (idle tick, enqueue) as the daemon writes them, to a file."""
    from heartbeat.ops import logs

    logs.configure("json", "info", stream=open(workdir / "in-process.log", "a"))  # noqa: SIM115


def _import_na() -> str | None:
    """Why the product cannot run an import yet, or None when it can."""
    from profiles import KINDS

    return None if "import" in KINDS else "n/a (no import profile yet)"


def _redis_version(url: str) -> str | None:
    try:
        import redis

        return redis.Redis.from_url(url).info("server").get("redis_version")
    except Exception:  # informative only
        return None
