"""Change tracking: what each export profile last sent of each product (`hb_sync_state`: the
line's SHA-256, the task that sent it, its per-field digests). A batch writes it in its own
transaction (tasks.batch.Batch); these are the reads the workers and `profiles stats` make.
Read-only, each verb one short transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded

CHUNK = 5000  # product ids per query


class SentStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    @guarded
    def tracked(self, profile: str) -> list[int]:
        """The product ids `profile` has sent and tracks, ascending."""
        s = t.sync_state.c
        with reading(self.engine) as conn:
            return list(conn.execute(sa.select(s.product_id).where(s.profile == profile)
                                     .order_by(s.product_id)).scalars())

    @guarded
    def sent_references(self, profile: str, product_ids: list[int]) -> dict[int, str | None]:
        """The reference each of these products had when `profile` last sent it (from the item of
        the task that sent it; None when that task is gone): {product_id: reference}."""
        s, i, out = t.sync_state.c, t.items.c, {}
        with reading(self.engine) as conn:
            for start in range(0, len(product_ids), CHUNK):
                chunk = product_ids[start:start + CHUNK]
                query = (sa.select(s.product_id, i.reference)
                         .outerjoin(t.items, sa.and_(i.task_id == s.task_id, i.product_id == s.product_id))
                         .where(s.profile == profile, s.product_id.in_(chunk)))
                for pid, reference in conn.execute(query):
                    out[pid] = out.get(pid) or reference
        return out

    @guarded
    def sent_hashes(self, profile: str, product_ids: list[int]) -> dict[int, str]:
        """What `profile` last sent of these products: {product_id: hash}."""
        s, out = t.sync_state.c, {}
        with reading(self.engine) as conn:
            for start in range(0, len(product_ids), CHUNK):
                chunk = product_ids[start:start + CHUNK]
                rows = conn.execute(sa.select(s.product_id, s.hash).where(
                    s.profile == profile, s.product_id.in_(chunk)))
                out.update((pid, digest) for pid, digest in rows)
        return out
