"""The configuration's data classes: what a loaded, validated config file holds.

heartbeat.config.loader reads and checks the TOML file (docs/configuration.md); every package below the
application reads these frozen objects and nothing else of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
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
class CategoryRule:
    """A [[category_rules]] entry (docs/categories.md): products matching every criterion given go
    to `category` of `column`. Text criteria compare case-insensitively; `shop_category` matches a
    product whose default category is that one or below it; `connection` limits the rule to one
    shop. Rules are tried in the file's order; the first that matches wins over the mapping table."""

    index: int  # its place in the file, from 1: "rule 2"
    column: str
    category: str
    connection: str | None = None
    reference_prefix: str | None = None
    name_contains: str | None = None
    manufacturer_contains: str | None = None
    shop_category: int | None = None


@dataclass(frozen=True)
class Web:
    """The `[web]` table: where `heartbeat run` serves the Task Manager page (None: it does not;
    `heartbeat web` then listens on 127.0.0.1:8080) and the argon2 hash of its password (None: no
    login, allowed on a loopback address only)."""

    listen: str | None = None
    password_hash: str | None = None
    url: str | None = None  # its public address, for links (notifications)
    session_idle: str = "12h"  # a login session ends after this long without a request (30m, 12h, 7d)
    allowed_hosts: tuple[str, ...] = ()  # Host names it answers to, besides its listen address and localhost

    @property
    def idle(self) -> timedelta:
        unit = {"m": 60, "h": 3600, "d": 86400}[self.session_idle[-1]]
        return timedelta(seconds=int(self.session_idle[:-1]) * unit)


@dataclass(frozen=True)
class Notify:
    """One [[notify]] entry (docs/notifications.md): a webhook (`url`, POSTed JSON, an optional
    secret header) or an e-mail over SMTP (`email` recipients), sent when a task reaches one of the
    statuses `on` ("missed": the second missed task of a profile in a row). `secret` and
    `smtp_password` are never logged nor shown."""

    name: str
    on: frozenset[str] = frozenset({"error"})
    url: str | None = None
    secret: str | None = None
    secret_header: str = "X-Heartbeat-Secret"
    email: tuple[str, ...] = ()
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_tls: str = "none"  # none | starttls | ssl
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None  # None: heartbeat@<host name>
    timeout: float = 10.0  # seconds a delivery attempt may take

    @property
    def kind(self) -> str:
        return "webhook" if self.url else "email"


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
    category_rules: tuple[CategoryRule, ...] = ()
    web: Web = field(default_factory=Web)
    notify: tuple[Notify, ...] = ()
    min_free_mb: float = 100.0  # free space under which an export or data directory is warned about

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
