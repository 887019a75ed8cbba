"""Profiles: what each kind of profile does to build its queue and to handle a batch of items."""

from __future__ import annotations

from core.config import Config, Profile
from profiles.base import Worker
from profiles.export import ExportWorker
from profiles.importer import ImportWorker
from profiles.maintenance import MaintenanceWorker

KINDS: dict[str, type[Worker]] = {"export": ExportWorker, "import": ImportWorker,
                                  "maintenance": MaintenanceWorker}


def worker_for(profile: Profile, config: Config) -> Worker:
    """The worker for a profile's kind (the config has validated the kind)."""
    return KINDS[profile.kind](profile, config)
