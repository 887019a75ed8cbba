"""Per-profile totals for the metrics: items by outcome and a histogram of batch durations, counted
in the transaction that commits each batch (tasks/batch.py), so they are exact whichever process
did the work and are never lowered when history is pruned (Prometheus counters only go up).

One observation per commit that handled items: a normal batch, or one suspect item redone alone
after a crash (tasks/recovery.py). Its duration is the work's, as the action log's batch line says.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tasks import tables as t

TOTALS = t.profile_totals.c
OUTCOMES = ("processed", "skipped", "error")
BUCKETS = [t.bucket_column(b) for b in t.BATCH_BUCKETS]
# one statement for every batch, built once: each column plus its parameter (0 where unchanged)
_ADD = t.profile_totals.update().where(TOTALS.profile == sa.bindparam("key")).values(
    {name: getattr(TOTALS, name) + sa.bindparam(f"add_{name}")
     for name in (*OUTCOMES, "batches", "batch_seconds", *BUCKETS)})
_NEW = t.profile_totals.insert()


def add_batch(conn: Connection, profile: str, counts: Mapping[str, int], seconds: float,
              new_batch: bool = True) -> None:
    """Count one committed batch of `profile`: its items by outcome and its duration. A part of a
    redo (`new_batch` false: suspect items redone one at a time) adds its items and seconds but is
    not a batch of its own, as the task's `batches` counter sees it."""
    counted = int(new_batch)
    params = {"key": profile, "add_batches": counted, "add_batch_seconds": seconds,
              **{f"add_{o}": counts.get(o, 0) for o in OUTCOMES},
              **{f"add_{name}": counted * int(seconds <= bound)
                 for name, bound in zip(BUCKETS, t.BATCH_BUCKETS, strict=True)}}
    if conn.execute(_ADD, params).rowcount:
        return
    try:  # the profile's first batch: its row, in a savepoint in case another process inserts it first
        with conn.begin_nested():
            conn.execute(_NEW, {"profile": profile})
    except sa.exc.IntegrityError:
        pass
    conn.execute(_ADD, params)


def read(conn: Connection) -> dict[str, dict]:
    """{profile: {"processed", "skipped", "error", "batches", "batch_seconds", "buckets": [(bound,
    cumulative count)...]}}, buckets in ascending bound order, +Inf (all batches) last."""
    out = {}
    for row in conn.execute(sa.select(t.profile_totals)):
        m = row._mapping
        buckets = [(b, int(m[t.bucket_column(b)])) for b in t.BATCH_BUCKETS]
        out[m["profile"]] = {**{o: int(m[o]) for o in OUTCOMES}, "batches": int(m["batches"]),
                             "batch_seconds": float(m["batch_seconds"]),
                             "buckets": buckets + [(float("inf"), int(m["batches"]))]}
    return out
