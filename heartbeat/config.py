"""The TOML configuration: loading, `${ENV}` interpolation, validation into frozen dataclasses.

Contract: `load(path) -> Config` or raises `ConfigError(path, key, reason)` whose message is one line
naming the file, the dotted key (e.g. `profiles[0].batch_size`) and the reason. No message or log line
ever contains a password: URLs are shown through `redact_url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Connection:
    """A named place data lives. `type` is one of CONNECTION_TYPES; `options` holds the validated
    type-specific keys with defaults filled in (e.g. url, prefix, id_shop, id_lang for prestashop;
    path for directory). Relative sqlite URLs and paths are already resolved against the config dir."""

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str  # "export" (later "import", "maintenance")
    source: str  # connection name
    target: str | None = None  # connection name (directory for exports); None = <data_dir>/exports
    schedule: str | None = None  # 5-field cron expression
    batch_size: int = 100
    misfire_grace: int | None = None  # seconds
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific keys


@dataclass(frozen=True)
class Config:
    path: Path
    data_dir: Path
    database_url: str
    interval: float = 60.0
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    keep_history: int | None = None  # days; None keeps everything
    connections: dict[str, Connection] = field(default_factory=dict)
    profiles: tuple[Profile, ...] = ()

    def profile(self, name: str) -> Profile:
        from heartbeat.errors import ProfileNotFound

        for p in self.profiles:
            if p.name == name:
                return p
        raise ProfileNotFound(name, [p.name for p in self.profiles])


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    raise NotImplementedError


def load(path: str | Path) -> Config:
    raise NotImplementedError
