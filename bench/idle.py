"""Idle tick: the time of `Heartbeat.tick(now)` with nothing to do and a long history.

In this process, on a fresh state database holding `tasks` finished tasks (bulk-inserted: mostly
completed, some error, missed and killed, over the last 100 days) and a config with one scheduled
profile whose next slot is hours away. One tick records the schedule; then `ticks` ticks on a clock
advancing one second each are timed; the median counts. The limit is the same two reads an idle
tick needs (the profile's schedule state; due and running tasks) in plain SQL.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from bench import product
from bench.backends import Backend
from bench.limit import Db, connect
from bench.report import sig
from bench.throughput import Context
from tasks.states import TaskStatus

T0 = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)  # the schedule below is next due at 03:00
SCHEDULE = "0 3 * * *"
STATUSES = ([TaskStatus.COMPLETED.value] * 90 + [TaskStatus.ERROR.value] * 4 + [TaskStatus.MISSED.value] * 3
            + [TaskStatus.KILLED.value] * 3)
PROFILES = [product.EXPORT_PROFILE, "nightly-export", "supplier-import"]


def measure(backend: Backend, ctx: Context, tasks: int, ticks: int) -> dict:
    from core.clock import FrozenClock
    from heartbeat.config.loader import load
    from heartbeat.engine.beat import Heartbeat
    from reports import action_log
    from tasks.database import create_state_engine, ensure_schema
    from tasks.store import TaskStore

    state = backend.state("idle")
    config = load(product.write_config(ctx.workdir / backend.name / "idle", state,
                                       backend.template(ctx.products), ctx.batch_size, schedule=SCHEDULE))
    engine = create_state_engine(state)
    try:
        ensure_schema(engine)
        db = connect(state, state=True)
        insert_history(db, tasks)
        clock = FrozenClock(T0)
        beat = Heartbeat(config, TaskStore(engine, action_log), clock=clock, owner="bench:1:1")
        beat.tick(clock.now())  # records the profile's schedule: the only write
        samples = []
        for _ in range(ticks):
            now = clock.advance(1.0)
            started = time.perf_counter()
            report = beat.tick(now)
            samples.append(time.perf_counter() - started)
            if report.busy or report.created:
                raise RuntimeError(f"the idle tick was not idle: {report}")
        beat.close()
        raw = [_raw_tick(db, clock.advance(1.0)) for _ in range(ticks)]
        db.close()
    finally:
        engine.dispose()
        backend.discard(state)
    median, raw_median = statistics.median(samples), statistics.median(raw)
    return {
        "finished_tasks": tasks, "ticks": ticks,
        "median_ms": sig(median * 1000),
        "p90_ms": sig(statistics.quantiles(samples, n=10)[-1] * 1000),
        "limit_median_ms": sig(raw_median * 1000),
        "ratios": {"product_to_limit": sig(raw_median / median)},
    }


def insert_history(db: Db, tasks: int) -> None:
    """`tasks` finished tasks, oldest first, in chunks of 10,000 rows."""
    sql = db.sql("INSERT INTO hb_tasks (profile, kind, status, triggered_by, created_at, scheduled_at, "
                 "started_at, finished_at, message, batch_size, total, processed, handled_upto, batches, "
                 "work_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    span = timedelta(days=100) / max(tasks, 1)
    rows = []
    for i in range(tasks):
        at = (T0 - timedelta(days=100) + i * span).replace(tzinfo=None)
        status, profile = STATUSES[i % len(STATUSES)], PROFILES[i % len(PROFILES)]
        done = status == TaskStatus.COMPLETED
        total = 1000 + i % 5000 if done else 0
        rows.append((profile, "import" if "import" in profile else "export", status, "schedule",
                     db.ts(at), db.ts(at),
                     db.ts(at) if status != TaskStatus.MISSED else None, db.ts(at + timedelta(seconds=30)),
                     None if done else f"{status} (bench history)", 1000, total, total, total,
                     -(-total // 1000), 25.0 if done else 0.0))
        if len(rows) == 10_000:
            _insert(db, sql, rows)
            rows = []
    if rows:
        _insert(db, sql, rows)


def _insert(db: Db, sql: str, rows: list[tuple]) -> None:
    db.begin()
    db.cur.executemany(sql, rows)
    db.commit()


def _raw_tick(db: Db, now: datetime) -> float:
    started = time.perf_counter()
    for sql, params in (
        ("SELECT schedule, next_slot FROM hb_profiles WHERE name = ?", (product.EXPORT_PROFILE,)),
        ("SELECT id, status, profile FROM hb_tasks WHERE (status = 'pending' AND scheduled_at <= ?) "
         "OR status = 'running' ORDER BY scheduled_at, id", (db.ts(now.replace(tzinfo=None)),)),
    ):
        if not db.mysql:
            db.cur.execute("BEGIN")
        db.cur.execute(db.sql(sql), params)
        db.cur.fetchall()
        db.commit()
    return time.perf_counter() - started
