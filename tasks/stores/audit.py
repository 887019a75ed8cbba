"""The audit trail: one row per state change, whoever made it (a user on the page, a token on the
API, a person at the CLI, the daemon), oldest first by id. Read newest first, a page at a time;
pruned with the task history (`keep_history`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.clock import as_utc, iso
from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded
from tasks.rows import naive

A = t.audit.c


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    via: str
    address: str | None
    action: str
    target: str
    detail: str | None

    def to_json(self) -> dict:
        """SPEC's shape: {"id", "at", "actor", "via", "address", "action", "target", "detail"}."""
        return {"id": self.id, "at": iso(self.at), "actor": self.actor, "via": self.via,
                "address": self.address, "action": self.action, "target": self.target, "detail": self.detail}


DETAIL_CHARS = 16_000  # MariaDB's TEXT holds 65,535 bytes, and a character takes at most 4


def write_entry(conn: Connection, at: datetime, actor: str, via: str, address: str | None, action: str,
                target: str, detail: str | None = None) -> int:
    """One entry, in the caller's transaction (a change and its entry are written together); its id.
    A detail longer than DETAIL_CHARS (a bulk accept of thousands of categories) is cut, saying how
    long it was: the change it records is made either way."""
    if detail is not None and len(detail) > DETAIL_CHARS:
        detail = f"{detail[:DETAIL_CHARS - 40]}... ({len(detail):,} characters)"
    return conn.execute(t.audit.insert().values(
        at=naive(at), actor=actor[:100], via=via, address=address, action=action[:64],
        target=target[:200], detail=detail)).inserted_primary_key[0]


class AuditStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _read(self):
        return reading(self.engine)

    @guarded
    def record(self, at: datetime, actor: str, via: str, address: str | None, action: str, target: str,
               detail: str | None = None) -> int:
        with self.engine.begin() as conn:
            return write_entry(conn, at, actor, via, address, action, target, detail)

    @guarded
    def list(self, limit: int = 50, before: int | None = None, since: datetime | None = None) -> list[Entry]:
        """Newest first: at most `limit` entries (None: all), with ids below `before`, at or after `since`."""
        query = sa.select(t.audit).order_by(A.id.desc()).limit(limit)
        if before is not None:
            query = query.where(A.id < before)
        if since is not None:
            query = query.where(A.at >= naive(since))
        with self._read() as conn:
            return [Entry(r.id, as_utc(r.at), r.actor, r.via, r.address, r.action, r.target, r.detail)
                    for r in conn.execute(query)]

    @guarded
    def prune(self, before: datetime) -> int:
        """Entries older than `before`; returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(t.audit.delete().where(A.at < naive(before))).rowcount
