"""The connection verbs behind `heartbeat connections`, the Connections page and /api/connections.

A connection is listed with where it points, never with a secret (a URL's password, an http
target's token); checked on demand (reachable, or the connector's one-line reason); and counted: the
stats of every profile reading or writing it (the seed's "number in red"), computed at the request.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from connectors.feeds import open_feed
from connectors.feeds.download import Fetched
from connectors.feeds.source import safe_location
from connectors.prestashop.shop import PrestaShop, safe_url
from core.clock import iso
from core.config import Config, Connection
from core.errors import HeartbeatError, Refused
from heartbeat.services.tasks import TaskManager

CHECK_TIMEOUT = 10.0  # seconds a reachability check may take


class ConnectionNotFound(HeartbeatError):
    """No connection of that name (404 over HTTP, exit 1)."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(f"connection {name!r} not found; known connections: {', '.join(known) or 'none'}")


class ConnectionManager:
    def __init__(self, tasks: TaskManager):
        self.tasks = tasks

    @property
    def config(self) -> Config:
        return self.tasks.config  # replaced on a reload (heartbeat.daemon)

    def list(self) -> list[dict]:
        """[{"name", "type", "location", "profiles"}] in the config's order; `location` has no secret."""
        return [{"name": c.name, "type": c.type, "location": location(c),
                 "profiles": [p.name for p in self._users(c.name)]} for c in self.config.connections.values()]

    def get(self, name: str) -> dict:
        conn = self._connection(name)
        return next(row for row in self.list() if row["name"] == conn.name)

    def check(self, name: str) -> dict:
        """{"reachable": bool, "error": str|null, "seconds"}: connect now (a shop: its product
        table; a feed: open it and read its header; a directory: there and writable; an http
        target: a TCP connection to its host, nothing sent). Never raises for an unreachable one."""
        conn = self._connection(name)
        started = time.monotonic()
        try:
            _CHECKS[conn.type](conn, self.config)
            error = None
        except HeartbeatError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"{conn.name}: {exc.strerror or exc}"
        return {"connection": conn.name, "reachable": error is None, "error": error,
                "seconds": round(time.monotonic() - started, 3)}

    def stats(self, name: str) -> dict:
        """{"connection", "profiles": [...]}: each products export profile reading it, counted exactly
        now (`profiles stats --json`: new, changed, unchanged, deleted, invalid); each import
        writing it or reading it, its last feed (`rows`, `changed_at`, `task`); other profiles
        with "stats": null and why."""
        conn = self._connection(name)
        started = time.monotonic()
        rows = [self._profile_stats(p) for p in self._users(conn.name)]
        return {"connection": conn.name, "profiles": rows, "seconds": round(time.monotonic() - started, 3)}

    def _profile_stats(self, profile) -> dict:
        head = {"profile": profile.name, "kind": profile.kind}
        if profile.kind == "export" and profile.options.get("entity", "products") == "products":
            return {**head, **self.tasks.profile_stats(profile.name)}
        if profile.kind == "import":
            return {**head, **self._last_feed(profile)}
        return {**head, "stats": None, "why": f"a {profile.options.get('entity', profile.kind)} "
                                              f"{profile.kind} profile keeps no pending changes"}

    def _last_feed(self, profile) -> dict:
        """The rows of the feed the profile last imported, and when that feed last changed (the
        start of the import that first read those bytes)."""
        last = self.tasks.store.last_completed(profile.name)
        if last is None:
            return {"rows": None, "changed_at": None, "task": None}
        fetched = Fetched.load(self.config.data_dir / "feeds" / profile.name / f"task-{last.id}.json")
        rows = fetched.rows if fetched is not None and fetched.rows is not None else last.progress.total
        since = fetched.task if fetched is not None and fetched.task else last.id
        try:
            changed = self.tasks.show(since).started_at
        except HeartbeatError:  # that import was deleted since
            changed = None
        return {"rows": rows, "changed_at": iso(changed), "task": last.id, "read_by_task": since}

    def _users(self, name: str):
        return [p for p in self.config.profiles if name in (p.source, p.target)]

    def _connection(self, name: str) -> Connection:
        conn = self.config.connections.get(name)
        if conn is None:
            raise ConnectionNotFound(name, list(self.config.connections))
        return conn


def location(conn: Connection) -> str:
    """Where a connection points, as it may be shown: passwords and tokens never appear."""
    o = conn.options
    if conn.type == "prestashop":
        return f"{safe_url(o['url'])} (prefix {o.get('prefix', 'ps_')}, shop {o.get('id_shop', 1)})"
    if conn.type == "directory":
        return str(o["path"])
    if conn.type == "http":
        return f"{o.get('method', 'PUT')} {_no_query(o['url'])}"
    return _no_query(str(o.get("url"))) if o.get("url") else str(o.get("path"))


def _no_query(url: str) -> str:
    """A URL without its query (it may carry a token) and without user info."""
    parts = urlsplit(safe_location(url))
    return parts._replace(query="", fragment="").geturl() + ("?…" if parts.query else "")


def _check_shop(conn: Connection, config: Config) -> None:
    with PrestaShop.from_connection(conn) as shop:
        shop.check()


def _check_feed(conn: Connection, config: Config) -> None:
    timeout = min(conn.options.get("timeout") or CHECK_TIMEOUT, CHECK_TIMEOUT)
    options = {**conn.options, "type": conn.type, "timeout": timeout}
    open_feed(options, conn.name, base_dir=config.path.parent).check()


def _check_directory(conn: Connection, config: Config) -> None:
    """Writable, or (not there yet) creatable: the first export makes it."""
    path = Path(conn.options["path"])
    there = path
    while not there.exists() and there.parent != there:
        there = there.parent
    if not there.is_dir():
        raise Refused(f"{there} is not a directory")
    if not os.access(there, os.W_OK | os.X_OK):
        if there == path:
            raise Refused(f"directory {path} is not writable by this user")
        raise Refused(f"directory {path} does not exist and cannot be created: {there} is not writable "
                      "by this user")


def _check_http(conn: Connection, config: Config) -> None:
    parts = urlsplit(conn.options["url"])
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = min(conn.options.get("connect_timeout") or CHECK_TIMEOUT, CHECK_TIMEOUT)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise Refused(f"cannot connect to {parts.hostname}:{port}: {exc.strerror or exc}") from None


_CHECKS = {"prestashop": _check_shop, "csv": _check_feed, "json": _check_feed, "directory": _check_directory,
           "http": _check_http}
