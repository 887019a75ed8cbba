"""The audit trail's verbs: record who did what (every front door hands its Actor to the verbs,
which call `record` after the change succeeded) and read it back (`heartbeat audit list`, the Audit
page, GET /api/audit). Entries are kept as long as tasks are (`[heartbeat] keep_history`,
heartbeat.engine.history)."""

from __future__ import annotations

from datetime import datetime

from core.actor import Actor
from core.clock import Clock
from tasks.stores.audit import AuditStore, Entry

MAX_PAGE = 500


class AuditTrail:
    def __init__(self, store: AuditStore, clock: Clock):
        self.store, self.clock = store, clock

    def record(self, actor: Actor, action: str, target: str, detail: str | None = None) -> None:
        """One entry, now: `action` a dotted name (task.kill, profile.run, user.add), `target` the
        object (task:42, profile:NAME, user:NAME); the token's label goes in the detail."""
        if actor.token:
            detail = f"token {actor.token}" + (f"; {detail}" if detail else "")
        self.store.record(self.clock.now(), actor.name, actor.via, actor.address, action, target, detail)

    def list(self, limit: int = 50, before: int | None = None, since: datetime | None = None) -> list[Entry]:
        """Newest first, at most `limit` (up to MAX_PAGE; None: every entry since `since`)."""
        return self.store.list(None if limit is None else min(limit, MAX_PAGE), before, since)
