"""Profiles: what each kind of profile does to build its queue and to handle a batch of items."""

from __future__ import annotations

from core.config import Config, Profile
from profiles.base import Worker
from profiles.export import ExportWorker
from profiles.importer import ImportWorker
from profiles.maintenance import MaintenanceWorker
from tasks.store import TaskStore

KINDS: dict[str, type[Worker]] = {"export": ExportWorker, "import": ImportWorker,
                                  "maintenance": MaintenanceWorker}


def worker_for(profile: Profile, config: Config, store: TaskStore | None = None) -> Worker:
    """The worker for a profile's kind (the config has validated the kind); `store` for the few
    that read Heartbeat's own records (Worker.store)."""
    worker = KINDS[profile.kind](profile, config)
    worker.store = store
    return worker
