"""The configuration's data classes: what a loaded, validated config file holds.

heartbeat.config reads and checks the TOML file (docs/configuration.md); every package below the
application reads these frozen objects and nothing else of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProfileNotFound

MAINTENANCE_BATCH = 500  # records per batch of an on-demand maintenance task


@dataclass(frozen=True)
class Connection:
    """A named place data lives. `type` is one of CONNECTION_TYPES; `options` holds the validated
    type-specific keys with defaults filled in (e.g. url, prefix, id_shop, id_lang for prestashop;
    path for directory). Relative sqlite URLs and paths are already resolved against the config dir:
    URLs are str (with the password: never log them, use redact_url), paths are absolute Paths."""

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str  # "export" (later "import", "maintenance")
    source: str  # connection name
    target: str | None = None  # connection name (directory for exports); None = <data_dir>/exports
    schedule: str | None = None  # 5-field cron; CronTrigger.from_crontab(schedule, timezone=timezone)
    batch_size: int = 100
    misfire_grace: int | None = None  # seconds
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific keys
    timezone: str = "UTC"  # IANA zone the schedule is read in


@dataclass(frozen=True)
class Config:
    path: Path
    data_dir: Path
    database_url: str
    interval: float = 60.0
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    keep_history: int | None = None  # days; None keeps everything
    dead_after: float = 30.0  # seconds a registered process may go unseen before it is dead
    metrics_listen: str | None = None  # [metrics] listen = "HOST:PORT": `heartbeat run` serves /metrics
    connections: dict[str, Connection] = field(default_factory=dict)
    profiles: tuple[Profile, ...] = ()

    def profile(self, name: str) -> Profile:
        for p in self.profiles:
            if p.name == name:
                return p
        adhoc = self.maintenance_profile(name)
        if adhoc is not None:
            return adhoc
        raise ProfileNotFound(name, [p.name for p in self.profiles])

    def maintenance_profile(self, name: str) -> Profile | None:
        """The profile of an on-demand maintenance task (`heartbeat maintenance run`), named
        "maintenance:CONNECTION:SCOPE:OPERATION" (a ':' no configured name may hold); None when
        `name` is not one or its connection is not configured."""
        kind, _, rest = name.partition(":")
        connection, scope, operation = (rest.split(":") + ["", "", ""])[:3]
        conn = self.connections.get(connection)
        shop = conn is not None and conn.type == "prestashop"
        if kind != "maintenance" or not shop or scope not in ("products", "orders") or not operation:
            return None
        return Profile(name=name, kind="maintenance", source=connection, batch_size=MAINTENANCE_BATCH,
                       options={"scope": scope, "operation": operation})
