"""`heartbeat status`: is Heartbeat alive and well, at a glance and for a monitoring check.

The report is a list of sections, each made by a provider from the App: its JSON keys, its lines
for people, its problems (any problem makes `status` exit 1, each is a line on stderr) and its
warnings (shown; the exit code is unchanged). To add a section (notification deliveries, disk
space...), write a provider `def my_section(ctx: Context) -> Section` and append it to PROVIDERS;
a provider that raises a HeartbeatError becomes a problem of its own, so one outage never hides
the rest of the report. When the state database does not answer (the `database` section failed),
the providers that read it are skipped, so the outage is reported once and without waiting for it
again; a provider that needs no database sets `provider.without_database = True` and still runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock, iso
from core.errors import HeartbeatError
from heartbeat.config.loader import redact_url
from heartbeat.engine import space
from heartbeat.ops.presence import tick_limit
from tasks.states import TaskStatus
from tasks.stores.registry import Daemon, DaemonState


@dataclass(frozen=True)
class Context:
    app: Any  # heartbeat.app.App: config, store, overview, registry
    now: datetime


@dataclass
class Section:
    name: str
    data: dict[str, Any]  # merged into the top level of `status --json`
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Provider = Callable[[Context], Section]
SHOW_DEAD = timedelta(hours=1)  # a dead process stays in the report this long after it was last seen


@dataclass
class Status:
    checked_at: datetime
    sections: list[Section]

    @property
    def problems(self) -> list[str]:
        return [p for s in self.sections for p in s.problems]

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.sections for w in s.warnings]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "checked_at": iso(self.checked_at), "problems": self.problems,
                               "warnings": self.warnings}
        for section in self.sections:
            out.update(section.data)
        return out

    def text(self) -> str:
        lines = [line for s in self.sections for line in s.lines]
        lines += [f"WARNING: {w}" for w in self.warnings]
        lines.append("OK" if self.ok else f"PROBLEM: {'; '.join(self.problems)}")
        return "\n".join(lines)


def collect(app, clock: Clock | None = None, providers: list[Provider] | None = None) -> Status:
    """Every provider's section. A config mistake is raised (ConfigError: exit 2), not reported."""
    app.config  # noqa: B018
    ctx = Context(app, (clock or Clock()).now())
    sections, database_down = [], False
    for provider in PROVIDERS if providers is None else providers:
        name = provider.__name__.removesuffix("_section")
        if database_down and not getattr(provider, "without_database", False):
            continue
        try:
            sections.append(provider(ctx))
        except HeartbeatError as exc:
            sections.append(Section(name, {}, [f"{name}: {exc}"], problems=[str(exc)]))
            database_down = database_down or provider is database_section
    return Status(ctx.now, sections)


# -- the providers --------------------------------------------------------------------------------------

def database_section(ctx: Context) -> Section:
    url = redact_url(ctx.app.config.database_url)
    revision = ctx.app.overview.revision()
    return Section("database", {"database": {"url": url, "revision": revision}},
                   [f"state database  {url} (revision {revision})"])


def daemons_section(ctx: Context) -> Section:
    config, now = ctx.app.config, ctx.now
    dead_after, limit = timedelta(seconds=config.dead_after), tick_limit(config)
    daemons = shown_daemons(ctx.app.registry.daemons(), now)
    ticks = [d for d in daemons if d.last_tick is not None]
    newest = max(ticks, key=lambda d: d.last_tick) if ticks else None
    states = [d.state(now, dead_after) for d in daemons]
    alive, dead = states.count(DaemonState.ALIVE), states.count(DaemonState.DEAD)
    lines = [f"daemons         {alive} alive, {dead} dead"
             + (f"; last tick {_ago(now, newest.last_tick)} ago on {newest.host}" if newest else "")]
    lines += [f"  {s.value:<8} {d.kind:<4} {d.host} pid {d.pid}  last tick "
              f"{_ago(now, d.last_tick) + ' ago' if d.last_tick else 'never'}"
              + (f"  doing: {d.doing}" if s is DaemonState.ALIVE and d.doing else "")
              for d, s in zip(daemons, states, strict=True)]
    problems = []
    if newest is None:
        problems.append("no daemon or cron tick has ever ticked on this state database")
    elif now - newest.last_tick > limit:
        last = f"{newest.kind} {newest.host} pid {newest.pid}"
        problems.append(f"no daemon or cron tick has ticked for {_ago(now, newest.last_tick)} (limit "
                        f"{limit.total_seconds():g} s; the last: {last})")
    owners = Counter(t.owner for t in ctx.app.store.list(status=TaskStatus.RUNNING.value, limit=None))
    warnings = [f"{d.kind} {d.host} pid {d.pid} is dead (not seen for {_ago(now, d.last_seen)})"
                + (f"; the next daemon to tick takes over its {owners[d.owner]} running task(s)"
                   if owners[d.owner] else "")
                for d, s in zip(daemons, states, strict=True) if s is DaemonState.DEAD]
    data = {"daemons": [d.to_json(now, dead_after) for d in daemons],
            "last_tick": iso(newest.last_tick) if newest else None,
            "tick_limit_seconds": limit.total_seconds(), "dead_after_seconds": dead_after.total_seconds()}
    return Section("daemons", data, lines, problems, warnings)


def shown_daemons(daemons: list[Daemon], now: datetime) -> list[Daemon]:
    """The rows worth showing: every one not cleanly stopped and seen within SHOW_DEAD (the
    registry keeps dead rows longer, for takeovers), and the newest stopped one of each host and
    kind (a cron deployment leaves one stopped row per tick)."""
    seen, out = set(), []
    for d in daemons:  # newest first
        if d.stopped_at is None and now - d.last_seen <= SHOW_DEAD or (
                d.stopped_at is not None and (d.host, d.kind) not in seen):
            out.append(d)
        seen.add((d.host, d.kind))
    return out


def tasks_section(ctx: Context) -> Section:
    running = ctx.app.store.list(status=TaskStatus.RUNNING.value, limit=None)
    due, oldest = ctx.app.overview.due(ctx.now)
    delay = max(0.0, (ctx.now - oldest).total_seconds()) if oldest else 0.0
    data = {"tasks": {"running": [{"id": t.id, "profile": t.profile, "progress": t.progress.as_dict(),
                                   "owner": t.owner} for t in running],
                      "due": due, "oldest_due_delay_seconds": round(delay, 3)}}
    lines = [f"tasks           {len(running)} running, {due} due"
             + (f" (the oldest waiting for {_seconds(delay)})" if due else "")]
    lines += [f"  running  {t.id:<6} {t.profile}  {t.progress.total - t.progress.pending}/{t.progress.total}"
              for t in running]
    return Section("tasks", data, lines)


def profiles_section(ctx: Context) -> Section:
    store, rows, lines, problems, warnings = ctx.app.store, [], ["profiles"], [], []
    paused = store.pauses.paused()
    for profile in ctx.app.config.profiles:
        completed = _newest(store, profile.name, TaskStatus.COMPLETED)
        failed = _newest(store, profile.name, TaskStatus.ERROR)
        failing = failed is not None and (completed is None or failed.id > completed.id)
        pause = paused.get(profile.name)
        rows.append({"name": profile.name, "last_completed": _brief(completed), "last_failed": _brief(failed),
                     "failing": failing, "paused": pause is not None})
        lines.append(f"  {profile.name:<20} last completed {_when(completed)}  last failed {_when(failed)}"
                     + ("  FAILING" if failing else "") + ("  PAUSED" if pause else ""))
        if failing:
            problems.append(f"profile {profile.name}: its last task {failed.id} ended in error: "
                            f"{failed.message}")
        if pause is not None:  # a warning: the operator chose it, but nothing runs on schedule
            warnings.append(f"profile {profile.name} is paused since {pause[0]:%Y-%m-%d %H:%M} UTC "
                            f"(by {pause[1] or '?'}): its schedule creates no tasks; "
                            f"`heartbeat profiles resume {profile.name}`")
    return Section("profiles", {"profiles": rows}, lines, problems, warnings)


def _newest(store, profile: str, status: TaskStatus):
    found = store.list(status=status.value, profile=profile, limit=1)
    return found[0] if found else None


def _brief(task) -> dict | None:
    if task is None:
        return None
    return {"id": task.id, "finished_at": iso(task.finished_at), "message": task.message}


def _when(task) -> str:
    return f"{task.id} ({task.finished_at:%Y-%m-%d %H:%M} UTC)" if task and task.finished_at else "-"


def _ago(now: datetime, then: datetime) -> str:
    return _seconds((now - then).total_seconds())


def _seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


GIVEN_UP_RECENTLY = timedelta(days=1)  # a notification given up this recently makes status fail


def notifications_section(ctx: Context) -> Section:
    """Notifications given up in the last day (a problem: someone was not told), older ones and
    those failing or never attempted (warnings: the old ones stay listed until their task is
    deleted, the others are retried), from the outbox (docs/notifications.md)."""
    found = ctx.app.tasks.notification_problems()
    problems, warnings = [], []
    for d in found:
        last = d["last_attempt_at"] or d["created_at"]
        recent = last is None or ctx.now - datetime.fromisoformat(last.replace("Z", "+00:00")) \
            < GIVEN_UP_RECENTLY
        line = (f"notification {d['id']} ({d['event']} of task {d['task_id']} to {d['target']}): "
                + (f"given up after {d['attempts']} attempts: {d['last_error']}" if d["status"] == "failed"
                   else f"failing, attempt {d['attempts']}: {d['last_error']}" if d["last_error"]
                   else "not attempted yet: is a daemon sending?"))
        (problems if d["status"] == "failed" and recent else warnings).append(line)
    lines = ["notifications", *(f"  {line}" for line in problems + warnings)] if found else []
    return Section("notifications", {"notifications": found}, lines, problems, warnings)


def disk_section(ctx: Context) -> Section:
    """Directories with less free space than [heartbeat] min_free_mb (warnings)."""
    found = [w.to_json() for w in space.warnings(ctx.app.config)]
    warnings = [w["message"] for w in found]
    return Section("disk", {"disk": found}, ["disk", *(f"  {w}" for w in warnings)] if found else [],
                   warnings=warnings)


disk_section.without_database = True  # the config is enough

PROVIDERS: list[Provider] = [database_section, daemons_section, tasks_section, profiles_section,
                             notifications_section, disk_section]
