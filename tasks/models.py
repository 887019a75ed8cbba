"""Domain objects the store returns: plain, immutable, no database handles."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from core.clock import as_utc, iso
from tasks.states import ItemStatus, TaskStatus

COUNTERS = ("pending", "processed", "skipped", "cancelled", "error")


@dataclass(frozen=True)
class Progress:
    total: int = 0
    pending: int = 0
    processed: int = 0
    skipped: int = 0
    cancelled: int = 0
    error: int = 0

    @property
    def handled(self) -> int:
        """Items with an outcome of processing (not pending, not cancelled)."""
        return self.processed + self.skipped + self.error

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, **{c: getattr(self, c) for c in COUNTERS}}


@dataclass(frozen=True)
class Task:
    id: int
    profile: str
    kind: str
    status: TaskStatus
    trigger: str
    created_at: datetime
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    message: str | None
    batch_size: int
    progress: Progress
    handled_upto: int = 0
    batches: int = 0
    work_seconds: float = 0.0
    export_path: str | None = None
    export_bytes: int = 0
    owner: str | None = None
    lease_until: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)
    attempt_position: int = 0
    attempt_end: int = 0
    restarts: int = 0
    suspect_until: int = 0
    culprit_until: int = 0  # tasks.recovery: a sacrificial process died holding items up to here
    plan_position: int = 0  # where the saved import plan starts (0: no plan saved)

    @classmethod
    def from_row(cls, row) -> Task:
        m = row._mapping
        return cls(
            id=m["id"], profile=m["profile"], kind=m["kind"], status=TaskStatus(m["status"]),
            trigger=m["triggered_by"], created_at=as_utc(m["created_at"]),
            scheduled_at=as_utc(m["scheduled_at"]), started_at=as_utc(m["started_at"]),
            finished_at=as_utc(m["finished_at"]), message=m["message"], batch_size=m["batch_size"],
            progress=Progress(m["total"], *(m[c] for c in COUNTERS)),
            handled_upto=m["handled_upto"], batches=m["batches"], work_seconds=m["work_seconds"],
            export_path=m["export_path"], export_bytes=m["export_bytes"], owner=m["owner"],
            lease_until=as_utc(m["lease_until"]), options=json.loads(m["options"] or "{}"),
            attempt_position=m["attempt_position"], attempt_end=m["attempt_end"],
            restarts=m["restarts"], suspect_until=m["suspect_until"], culprit_until=m["culprit_until"],
            plan_position=m["plan_position"],
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON contract for a task (SPEC: CLI contract)."""
        return {
            "id": self.id, "profile": self.profile, "kind": self.kind, "status": self.status.value,
            "trigger": self.trigger, "created_at": iso(self.created_at),
            "scheduled_at": iso(self.scheduled_at), "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "message": self.message,
            "batch_size": self.batch_size, "batches": self.batches,
            "progress": self.progress.as_dict(), "options": self.options,
            "export_file": self.export_path,
        }


class QueueEntry(NamedTuple):
    """One product (or combination) to queue, as a profile's source lists it."""

    product_id: int
    combination_id: int
    reference: str | None
    name: str | None
    payload: str | None = None  # the source row (JSON) for imports


class Item(NamedTuple):
    position: int
    product_id: int
    combination_id: int
    reference: str | None
    name: str | None
    payload: str | None = None  # the source row (JSON) for imports
    detail: str | None = None  # set before processing only for items known to be skipped


class ItemRecord(NamedTuple):
    """An item with its outcome, as the report shows it."""

    position: int
    product_id: int
    combination_id: int
    reference: str | None
    name: str | None
    status: str
    action: str | None
    detail: str | None


class Outcome(NamedTuple):
    """What processing did with one item: status is processed, skipped or error. An import sets
    product_id/combination_id to the shop product the row matched (None: keep the queued ids)."""

    position: int
    status: ItemStatus
    action: str | None = None
    detail: str | None = None
    product_id: int | None = None
    combination_id: int | None = None


class Finding(NamedTuple):
    """A maintenance check's finding about the item at `position` (0: about the task as a whole):
    the pattern, the record it is about, and whether the task's fix repaired it."""

    position: int
    pattern: str
    record: str
    fixed: bool


class LogLine(NamedTuple):
    at: datetime
    level: str
    message: str
