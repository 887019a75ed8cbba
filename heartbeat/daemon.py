"""`heartbeat run`: tick every `interval` seconds until SIGTERM or SIGINT.

APScheduler's BlockingScheduler drives the cadence: one interval job, max_instances=1 and coalesce,
so a slow tick is never overlapped nor followed by a burst of catch-up ticks; the first tick runs at
start. The first SIGTERM/SIGINT lets the batch in progress commit, releases our leases and exits 0.
A second signal exits at once with status 1: the batch in progress rolls back and the next start
resumes it, so stopping hard loses nothing either.
"""

from __future__ import annotations

import dataclasses
import fcntl
import gc
import logging
import os
import re
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from core.config import Config
from core.errors import AlreadyRunning, HeartbeatError
from heartbeat.app import App
from heartbeat.cli import progress
from heartbeat.config import loader as config_module
from heartbeat.engine import notify
from heartbeat.engine.beat import TickReport
from heartbeat.ops import logs, metrics_server
from heartbeat.ops.presence import Presence
from heartbeat.ops.systemd import Notifier
from tasks.stores.outbox import Subscriptions

log = structlog.get_logger("heartbeat")


def sqlite_lock(database_url: str):
    """On SQLite, one daemon per state file: hold an exclusive lock on '<file>.lock' while running,
    with our pid in it. Returns the open lock file (keep it; `release_lock` it at a clean exit), or
    None for server databases. A pid found in a lock nobody holds is stale (its daemon did not exit
    cleanly): logged and replaced. Raises AlreadyRunning when another process holds the lock."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database + ".lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = _recorded_pid(handle.read())
        handle.close()
        raise AlreadyRunning(_held(pid, url.database)) from None
    handle.seek(0)
    stale = _recorded_pid(handle.read())
    if stale is not None:
        log.warning("daemon.stale_lock", pid=stale, lock=str(path))
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def release_lock(handle) -> None:
    """A clean exit: empty the lock file (a pid left in it would be stale), then unlock it by closing
    it. The file itself stays: removing it could let a daemon starting meanwhile lock the old file
    while the next one creates and locks a new one."""
    if handle is None:
        return
    handle.seek(0)
    handle.truncate()
    handle.flush()
    handle.close()


def _recorded_pid(text: str) -> int | None:
    match = re.fullmatch(r"pid (\d+)", text.strip())
    return int(match[1]) if match else None


def _held(pid: int | None, database: str) -> str:
    """Why a daemon may not start on `database`: the lock's holder, as far as its file tells."""
    rule = "SQLite supports one daemon per state database (use MariaDB for several)"
    if pid is not None and not _alive(pid):
        return (f"the daemon lock of {database} is still held, though the daemon it names (pid {pid}) is "
                f"no longer running: a process that daemon started holds it; {rule}")
    holder = f"pid {pid}" if pid is not None else "another process"
    return f"another heartbeat daemon ({holder}) is already running on {database}; {rule}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def install_stop_signals(stop: threading.Event, on_first=None) -> None:
    """SIGTERM/SIGINT: the first sets `stop` (the batch in progress commits, then we exit); a second
    exits at once with status 1 (the batch in progress rolls back and is redone on the next start)."""

    def on_signal(signum, _frame):
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("daemon.killed", signal=name)
            os._exit(1)
        stop.set()
        log.info("daemon.stopping", signal=name)
        if on_first is not None:
            on_first()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def freeze_heap() -> None:
    """Take everything alive out of the cyclic garbage collector's reach: at start, and after a
    tick that made a worker (the objects that live as long as the process are then loaded: modules,
    SQLAlchemy's metadata, compiled statements, pooled connections). Its full collections otherwise
    walk all of it every few batches: about a tenth of an import's time (docs/performance.md).
    Objects freed by reference counting are freed as before. For the `run` and `tick` commands
    only: a library user's process is theirs to tune."""
    gc.freeze()


def after_tick(report: TickReport | None) -> None:
    """Freeze what a tick added for the process's lifetime (None: the tick failed or did not run)."""
    if report is not None and report.made_worker:
        freeze_heap()


def tick(app: App, until_idle: bool) -> int:
    """`heartbeat tick`: one heartbeat, or back to back until idle; returns the exit status. It is
    registered like a daemon (kind "tick"), so a cron deployment is seen ticking."""
    stop = threading.Event()
    install_stop_signals(stop)
    presence = Presence(app.registry, app.config, "tick")
    beat = app.heartbeat(stop=stop, monitor=presence)
    presence.start()
    freeze_heap()
    shown = progress.TickProgress(app.tasks.show, sys.stdout)  # on a terminal only
    if until_idle and shown.display is not None and sys.stderr.isatty():  # logs scroll above the bars
        logs.configure(app.config.log_format, app.config.log_level,
                       progress.LogsAbove(sys.stderr, shown.display))
    try:
        if until_idle:
            beat.run_until_idle(after_tick=lambda report: (after_tick(report), shown(list(report.running))))
        else:
            beat.tick()
    finally:
        _shut_down(("progress", shown.close), ("heartbeat", beat.close), ("registry", presence.close))
    notify.send_for_tick(app.config, app.store.outbox, stop)  # after the batches, for a bounded time
    return 0


def run(app: App) -> int:
    """Run the daemon until stopped; returns the exit status."""
    from apscheduler.schedulers.blocking import BlockingScheduler  # only `run` needs it: a slow import

    config = app.config
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: max instances" is by design
    page = None
    if config.web.listen:  # bound now: a busy or refused address stops us before anything starts
        from heartbeat.web import server  # the web stack, only when the page is served

        page = server.Background(app, config.web.listen)
    lock = sqlite_lock(config.database_url)
    try:
        return _run(app, BlockingScheduler, page)
    finally:
        release_lock(lock)


def _run(app: App, scheduler_class, page=None) -> int:
    config = app.config
    stop = threading.Event()
    notifier = Notifier.from_env()
    presence = Presence(app.registry, config, "run", notifier=notifier)
    beat = app.heartbeat(stop=stop, monitor=presence)
    server = sender = None
    try:
        presence.start()
        if config.metrics_listen:  # its own App: its own connections, never the tick's
            server = metrics_server.start(App(app.config_path), config.metrics_listen)
        sender = notify.start_sender(config, app.store.outbox, stop)  # a thread: never in a batch's way
        reload = Reload(app, beat, stop, sender)
        _serve(app, beat, presence, stop, page, scheduler_class, reload)
        sender = reload.sender  # a reload may have started one
    finally:
        _shut_down(("web page", page.stop if page is not None else None), ("stop", stop.set),
                   ("heartbeat", beat.close),
                   # an attempt in progress may be cut short: it is retried later
                   ("notification sender", (lambda: sender.join(timeout=1)) if sender is not None else None),
                   ("metrics server", server.close if server is not None else None),
                   ("registry", presence.close))
    log.info("daemon.stopped")
    return 0


def _shut_down(*steps) -> None:
    """Each (name, callable) in turn, whatever the others do: a step that fails (the state database
    gone at shutdown, say) is logged and the next one still runs, so the registry row is marked
    stopped and every socket and thread is released."""
    for name, step in steps:
        if step is None:
            continue
        try:
            step()
        except Exception as exc:  # shutting down: say it, and go on
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("daemon.shutdown_step_failed", step=name, reason=reason)


def _serve(app: App, beat, presence, stop, page, scheduler_class, reload: Reload | None = None) -> None:
    """The web page (if served) and the scheduler's loop, until a stop signal. SIGHUP asks for a
    reload of the configuration, done before the next heartbeat (Reload)."""
    config = app.config
    _check_watchdog(presence.notifier, config.interval)
    freeze_heap()

    def heartbeat() -> None:
        if reload is not None:
            reload.if_requested(scheduler)
        after_tick(beat.safe_tick())

    scheduler = scheduler_class(timezone=UTC)
    scheduler.add_job(heartbeat, "interval", seconds=config.interval, id="heartbeat",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
                      misfire_grace_time=None)

    def on_stop() -> None:
        presence.stopping()
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    install_stop_signals(stop, on_stop)
    if reload is not None:
        signal.signal(signal.SIGHUP, lambda _signum, _frame: reload.requested.set())
    log.info("daemon.started", interval=config.interval, owner=beat.owner, registry_id=presence.id,
             profiles=[p.name for p in config.profiles], metrics=config.metrics_listen)
    if page is not None:
        page.start()
    scheduler.start()


def _check_watchdog(notifier: Notifier, interval: float) -> None:
    """systemd's watchdog is pinged from the tick loop: at least once per `interval` when idle."""
    if notifier.watchdog_seconds is not None and notifier.watchdog_seconds < 2 * interval:
        log.warning("systemd.watchdog_too_short", watchdog_seconds=notifier.watchdog_seconds,
                    interval=interval, hint="make WatchdogSec longer than twice the interval and any batch")


RESTART_NEEDED = {  # what a reload cannot change in a running daemon: the key, and how to read it
    "database.url": lambda c: c.database_url,
    "web.listen": lambda c: c.web.listen,
    "web.password_hash": lambda c: c.web.password_hash,
    "metrics.listen": lambda c: c.metrics_listen,
}
RELOADED = {  # what a reload changes at the next heartbeat, as the log names it
    "heartbeat": lambda c: (c.interval, c.log_format, c.log_level, c.keep_history, c.dead_after,
                            c.min_free_mb),
    "connections": lambda c: c.connections,
    "profiles": lambda c: c.profiles,
    "category_rules": lambda c: c.category_rules,
    "notify": lambda c: c.notify,
    "web.url": lambda c: c.web.url,
}


KEPT = "the old configuration"


class Reload:
    """`heartbeat run` on SIGHUP (`systemctl reload heartbeat`): the config file is read and
    validated again (as `profiles check` does) before the next heartbeat. A bad file is logged with
    its reason and the old configuration stays. A good one takes effect at once: profiles,
    connections, schedules, notifications and [heartbeat] options; the tasks running now keep the
    settings they started with (Heartbeat.reload). [database] url, [web] listen and password_hash
    and [metrics] listen keep their old values until a restart, and the log says so."""

    def __init__(self, app: App, beat, stop: threading.Event, sender):
        self.app, self.beat, self.stop, self.sender = app, beat, stop, sender
        self.requested = threading.Event()  # set by the signal handler, nothing else happens there

    def if_requested(self, scheduler=None) -> None:
        if self.requested.is_set():
            self.requested.clear()
            self.reload(scheduler)

    def reload(self, scheduler=None) -> bool:
        """True when the new configuration was taken."""
        old = self.app.config
        log.info("config.reload_requested", path=str(old.path))
        try:
            new = config_module.load(old.path)
            config_module.check_environment(new)
        except HeartbeatError as exc:
            log.error("config.reload_failed", path=str(old.path), reason=str(exc), kept=KEPT)
            return False
        restart = [key for key, read in RESTART_NEEDED.items() if read(new) != read(old)]
        new = dataclasses.replace(new, database_url=old.database_url, metrics_listen=old.metrics_listen,
                                  web=dataclasses.replace(new.web, listen=old.web.listen,
                                                          password_hash=old.web.password_hash))
        try:
            kept = self.beat.reload(new)
        except HeartbeatError as exc:  # the state database away: try again at the next SIGHUP
            log.error("config.reload_failed", path=str(old.path), reason=str(exc), kept=KEPT)
            return False
        self._apply(new, old, scheduler)
        changed = [key for key, read in RELOADED.items() if read(new) != read(old)]
        log.info("config.reloaded", path=str(new.path), changed=changed,
                 profiles=[p.name for p in new.profiles], running_with_old_settings=kept)
        if restart:
            log.warning("config.restart_needed", keys=restart,
                        hint="these keep their old values until `systemctl restart heartbeat`")
        return True

    def _apply(self, new: Config, old: Config, scheduler) -> None:
        """Hand the new configuration to the rest of the process: the verbs the page calls, the
        outbox's subscriptions, the sender, the logs, the heartbeat's cadence."""
        app = self.app
        app.config = new  # App.config is a cached property: this replaces the cached value
        app.tasks.config = new
        app.store.notify = Subscriptions.of(new.notify)
        if self.sender is not None:
            self.sender.sender = notify.Sender(new, app.store.outbox)
        else:
            self.sender = notify.start_sender(new, app.store.outbox, self.stop)
        if (new.log_format, new.log_level) != (old.log_format, old.log_level):
            logs.configure(new.log_format, new.log_level)
        if scheduler is not None and new.interval != old.interval:
            scheduler.reschedule_job("heartbeat", trigger="interval", seconds=new.interval)
