"""This process in the daemon registry (tasks/stores/registry.py), and what it tells systemd.

`Presence` registers the process, refreshes its row every few seconds from a thread of its own
(its own engine and connection; it never takes the tick's lock, so a long batch never looks like a
death), records each tick's start, keeps a one-line "doing" current, and marks the row stopped on
a clean exit. It is the heartbeat's Monitor (heartbeat/engine/beat.py): the tick loop calls it at each
tick and batch, and it passes those on to systemd (heartbeat/ops/systemd.py) when one is watching.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from importlib import metadata

import structlog

from core.clock import Clock
from core.config import Config
from core.errors import StateDatabaseError
from heartbeat.engine.beat import Monitor, TickReport
from heartbeat.engine.sacrificial import FORK_GUARD
from heartbeat.ops.systemd import Notifier
from tasks.leases import current_owner
from tasks.stores.registry import Registry

log = structlog.get_logger("heartbeat")


def version() -> str:
    try:
        return metadata.version("heartbeat")
    except metadata.PackageNotFoundError:
        return "unknown"


def refresh_every(dead_after: float) -> float:
    """Seconds between two refreshes of the registry row: six to a `dead_after`, at most 5 s."""
    return min(5.0, dead_after / 6)


def tick_limit(config: Config) -> timedelta:
    """How recent the newest tick must be for `status` (exit 0) and /readyz: a daemon ticks every
    `interval`, so a few intervals, and never less than `dead_after`. A cron deployment sets
    `interval` to its cron period."""
    return timedelta(seconds=max(config.dead_after, 3 * config.interval))


class Presence(Monitor):
    def __init__(self, registry: Registry, config: Config, kind: str, clock: Clock | None = None,
                 notifier: Notifier | None = None, owner: str | None = None):
        self.registry, self.config, self.kind = registry, config, kind
        self.clock = clock or Clock()
        self.notifier = notifier or Notifier(None)
        self.owner = owner or current_owner()
        self.id: int | None = None
        self._doing = "starting"
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self, refresh: bool = True) -> int:
        """Register (raises StateDatabaseError) and, with `refresh`, start the refresh thread."""
        host = self.owner.rsplit(":", 2)[0]
        self.id = self.registry.register(self.owner, self.kind, host, os.getpid(), version(),
                                         str(self.config.path), self.clock.now())
        if refresh:
            every = refresh_every(self.config.dead_after)
            self._thread = threading.Thread(target=self._refreshing, args=(every,), name="registry",
                                            daemon=True)
            self._thread.start()
        return self.id

    def refresh(self) -> None:
        """One refresh of the row: alive now, doing what it does."""
        self._quietly(self.registry.seen, self.id, self.clock.now(), self._doing)

    def _refreshing(self, every: float) -> None:
        while not self._halt.wait(every):
            with FORK_GUARD:  # a fork (sacrificial.py) must not copy the pool's or the logs' locks held
                self.refresh()

    def _quietly(self, verb, *args) -> bool:
        """A registry write; an outage is logged once (until it works again), never raised: the
        batches go on, and the row simply ages."""
        try:
            verb(*args)
        except StateDatabaseError as exc:
            if not self._failing:
                log.warning("registry.unreachable", reason=exc.reason)
            self._failing = True
            return False
        self._failing = False
        return True

    # -- Monitor: what the tick loop tells us --------------------------------------------------------

    def tick_started(self, at: datetime) -> None:
        self._doing = "ticking"
        if self._quietly(self.registry.ticked, self.id, at):
            self.notifier.ready(f"first tick at {at:%Y-%m-%d %H:%M:%S} UTC")
        self.notifier.watchdog()

    def doing(self, what: str) -> None:
        self._doing = what
        self.notifier.watchdog()

    def tick_ended(self, report: TickReport) -> None:
        self._doing = "idle"
        self.notifier.watchdog()
        self.notifier.status(summary(report, self.clock.now()))

    # -- the end -------------------------------------------------------------------------------------

    def stopping(self) -> None:
        """Asked to stop (a signal): tell systemd at once."""
        self._doing = "stopping"
        self.notifier.stopping("stopping: finishing the batch in progress")

    def close(self) -> None:
        """A clean exit: stop refreshing and mark the row stopped."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
        if self.id is not None:
            self._quietly(self.registry.stopped, self.id, self.clock.now())
        self.notifier.close()


def summary(report: TickReport, at: datetime) -> str:
    """The STATUS= line after a tick."""
    running = len(report.running)
    return (f"last tick {at:%H:%M:%S} UTC: {report.batches} batch{'es' if report.batches != 1 else ''}, "
            f"{running} task{'s' if running != 1 else ''} running, {len(report.started)} started")
