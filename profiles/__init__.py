"""Profiles: what each kind of profile does to build its queue and to handle a batch of items.

A kind's module is imported when a worker of that kind is first made: a `heartbeat tick` with
nothing to do, or with only exports to run, does not load the import's feed readers nor the
maintenance checks (start-up time, docs/performance.md).
"""

from __future__ import annotations

from core.config import Config, Profile
from profiles.base import Records, Worker

KINDS = ("export", "import", "maintenance")


def worker_class(kind: str) -> type[Worker]:
    """The Worker class of a profile kind (one of KINDS)."""
    if kind == "export":
        from profiles.export import ExportWorker

        return ExportWorker
    if kind == "import":
        from profiles.importer import ImportWorker

        return ImportWorker
    if kind == "maintenance":
        from profiles.maintenance import MaintenanceWorker

        return MaintenanceWorker
    raise KeyError(kind)


def maintenance_available(scope: str) -> dict[str, tuple[str, ...]]:
    """profiles.maintenance.available(scope), loading the checks on first use."""
    from profiles.maintenance import available

    return available(scope)


def worker_for(profile: Profile, config: Config, records: Records | None = None) -> Worker:
    """The worker for a profile's kind (the config has validated the kind); `records` for the few
    that read Heartbeat's own records (Worker.records)."""
    return worker_class(profile.kind)(profile, config, records)
