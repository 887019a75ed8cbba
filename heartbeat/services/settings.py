"""The Configure page's verbs (and GET /api/configure): the effective configuration with every
secret masked, `profiles check`'s verdict on the file as it is on disk now (what a reload would
take), the daemons of the registry, notifications and export deliveries, with their retries.

Reads only; the two retries are the CLI's (`heartbeat notify retry ID`, `heartbeat tasks deliver ID`).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.actor import Actor
from core.errors import HeartbeatError
from heartbeat.config import loader as config_module
from heartbeat.services.connections import location
from heartbeat.services.tasks import TaskManager
from tasks.stores.registry import Registry

MASK = "***"
SECRET_KEYS = ("password", "secret", "token", "password_hash", "smtp_password")
SHOWN_DAEMONS = 20


class Settings:
    def __init__(self, tasks: TaskManager, registry: Registry | None = None):
        """`registry`: the daemon registry (default: one on the task store's engine)."""
        self.tasks, self.registry = tasks, registry or Registry(tasks.store.engine)

    @property
    def config(self):
        return self.tasks.config  # replaced on a reload (heartbeat.daemon)

    def effective(self) -> dict[str, Any]:
        """The configuration in force in this process, defaults filled in, secrets masked: a URL's
        password and query, and every password, secret, token or password hash, as ***."""
        c = self.config
        return {
            "path": str(c.path),
            "heartbeat": {"interval": c.interval, "data_dir": str(c.data_dir), "log_format": c.log_format,
                          "log_level": c.log_level, "keep_history": c.keep_history,
                          "dead_after": c.dead_after, "min_free_mb": c.min_free_mb},
            "database": {"url": config_module.redact_url(c.database_url)},
            "web": masked(dataclasses.asdict(c.web)),
            "metrics": {"listen": c.metrics_listen},
            "connections": [{"name": n.name, "type": n.type, "location": location(n),
                             **_options(n)} for n in c.connections.values()],
            "profiles": [masked(dataclasses.asdict(p)) for p in c.profiles],
            # a webhook's path often is its secret (hooks.slack.com/services/...): host only
            "notify": [masked({**dataclasses.asdict(n), "kind": n.kind}, hide_path=True) for n in c.notify],
        }

    def verdict(self) -> dict[str, Any]:
        """`profiles check` on the file as it is now: {"ok", "message"} (the file, key and reason)."""
        try:
            fresh = config_module.load(Path(self.config.path))
            config_module.check_environment(fresh)
        except HeartbeatError as exc:
            return {"ok": False, "message": str(exc)}
        return {"ok": True, "message": f"{fresh.path}: OK ({len(fresh.connections)} connections, "
                                       f"{len(fresh.profiles)} profiles)"}

    def daemons(self) -> list[dict[str, Any]]:
        """The newest registered processes (host, pid, version, state, last tick, doing)."""
        now, dead_after = self.tasks.clock.now(), timedelta(seconds=self.config.dead_after)
        return [d.to_json(now, dead_after) for d in self.registry.daemons()[:SHOWN_DAEMONS]]

    def deliveries(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest export deliveries, each with its task id."""
        return [{"task_id": d.task_id, **d.to_json()} for d in self.tasks.store.deliveries.recent(limit)]

    def retry_notification(self, delivery_id: int, actor: Actor | None = None) -> dict[str, Any]:
        """A given-up or failing notification is sent again at the sender's next round (audited as
        `notification.retry` by `actor`, the CLI's user when None)."""
        retried = self.tasks.store.outbox.retry(delivery_id, self.tasks.clock.now()).to_json()
        self.tasks.audit.record(actor or self.tasks.actor, "notification.retry",
                                f"notification:{delivery_id}",
                                f"task {retried['task_id']}, {retried['event']} to {retried['target']}")
        return retried

    def overview(self) -> dict[str, Any]:
        """Everything the Configure page shows (GET /api/configure)."""
        return {"config": self.effective(), "check": self.verdict(), "daemons": self.daemons(),
                "notifications": self.tasks.notifications(limit=20),
                "notification_problems": self.tasks.notification_problems(),
                "deliveries": self.deliveries()}


def masked(values: dict[str, Any], hide_path: bool = False) -> dict[str, Any]:
    """`values` with secrets as *** and URLs without password or query (`hide_path`: nor path);
    paths and sets as text."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is not None and any(word in key for word in SECRET_KEYS):
            out[key] = MASK
        elif isinstance(value, dict):
            out[key] = masked(value, hide_path)
        elif isinstance(value, str) and "://" in value:
            out[key] = _url(value, hide_path)
        elif isinstance(value, (Path, frozenset, set, tuple)):
            out[key] = sorted(value) if isinstance(value, (frozenset, set)) else (
                list(value) if isinstance(value, tuple) else str(value))
        else:
            out[key] = value
    return out


def _url(value: str, hide_path: bool = False) -> str:
    shown = config_module.redact_url(value)
    head, sep, query = shown.partition("?")
    if hide_path:
        scheme, _, rest = head.partition("://")
        host, slash, path = rest.rpartition("@")[2].partition("/")
        return f"{scheme}://{host}" + ("/…" if slash and path else "")
    return head + ("?…" if sep and query else "")


def _options(conn) -> dict[str, Any]:
    """A connection's options but its url/path (already in `location`), masked."""
    return masked({k: v for k, v in conn.options.items() if k not in ("url", "path")})
