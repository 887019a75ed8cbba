"""Prometheus metrics and health checks, for every process that serves them: the daemon's own
server (`[metrics] listen`, heartbeat/ops/metrics_server.py) and the web page.

Every value is read from the state database when scraped (a custom collector), so two processes
serving /metrics tell the same truth, and a restart loses nothing:

| metric | type | from |
|---|---|---|
| heartbeat_tasks{profile,status} | gauge | tasks kept in history, by status |
| heartbeat_items_total{profile,outcome} | counter | items processed, skipped, error: at each batch commit |
| heartbeat_batch_duration_seconds{profile} | histogram | each committed batch's work time (tasks/totals) |
| heartbeat_last_tick_timestamp_seconds | gauge | the newest tick of any registered daemon or cron tick |
| heartbeat_last_success_timestamp_seconds{profile} | gauge | when the profile's newest completed task ended |
| heartbeat_due_tasks, heartbeat_oldest_due_task_age_seconds | gauge | pending tasks whose time has come |
| heartbeat_daemons{state} | gauge | registry rows: alive, dead, stopped (within the last hour) |
| heartbeat_state_database_up | gauge | 1 when the state database answered this scrape |
| heartbeat_build_info{version} | gauge | always 1 |

The counters and the histogram live in hb_profile_totals, so pruning history never lowers them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from core.clock import Clock
from core.errors import HeartbeatError
from heartbeat.ops.presence import tick_limit, version
from tasks.states import TaskStatus
from tasks.stores.registry import DaemonState
from tasks.stores.totals import OUTCOMES

CONTENT_TYPE = CONTENT_TYPE_LATEST


class StateCollector:
    """A prometheus_client collector over an App's state database (its `store`, `overview` and
    `registry`)."""

    def __init__(self, app, clock: Clock | None = None):
        self.app, self.clock = app, clock or Clock()

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("heartbeat_build_info", "Heartbeat's version", labels=["version"])
        info.add_metric([version()], 1)
        yield info
        up = GaugeMetricFamily("heartbeat_state_database_up", "1 when the state database answered")
        try:
            families = list(self._families(self.clock.now()))
        except HeartbeatError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: datetime) -> Iterator[Metric]:
        overview, config = self.app.overview, self.app.config
        yield _tasks(overview.task_counts(), [p.name for p in config.profiles])
        totals = overview.totals()
        items = CounterMetricFamily("heartbeat_items", "Items handled, by outcome",
                                    labels=["profile", "outcome"])
        batches = HistogramMetricFamily("heartbeat_batch_duration_seconds",
                                        "Work time of each committed batch", labels=["profile"])
        for profile, t in sorted(totals.items()):
            for outcome in OUTCOMES:
                items.add_metric([profile, outcome], t[outcome])
            batches.add_metric([profile], [(floatToGoString(b), n) for b, n in t["buckets"]],
                               sum_value=t["batch_seconds"])
        yield items
        yield batches
        success = GaugeMetricFamily("heartbeat_last_success_timestamp_seconds",
                                    "When the profile's newest completed task finished", labels=["profile"])
        for profile, at in sorted(overview.last_finished(TaskStatus.COMPLETED).items()):
            success.add_metric([profile], at.timestamp())
        yield success
        due, oldest = overview.due(now)
        yield GaugeMetricFamily("heartbeat_due_tasks", "Pending tasks whose time has come", value=due)
        yield GaugeMetricFamily("heartbeat_oldest_due_task_age_seconds",
                                "How long the oldest due pending task has waited",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield from _registry(self.app.registry.daemons(), now, self.app.config.dead_after)


def _tasks(counts: dict[tuple[str, str], int], configured: list[str]) -> Metric:
    family = GaugeMetricFamily("heartbeat_tasks", "Tasks kept in history, by status",
                               labels=["profile", "status"])
    for profile in sorted(set(configured) | {p for p, _ in counts}):
        for status in TaskStatus:
            family.add_metric([profile, status.value], counts.get((profile, status.value), 0))
    return family


def _registry(daemons, now: datetime, dead_after: float) -> Iterator[Metric]:
    limit = timedelta(seconds=dead_after)
    states = Counter(d.state(now, limit) for d in daemons)
    family = GaugeMetricFamily("heartbeat_daemons", "Registered heartbeat processes, by state",
                               labels=["state"])
    for state in DaemonState:
        family.add_metric([state.value], states.get(state, 0))
    yield family
    ticks = [d.last_tick for d in daemons if d.last_tick is not None]
    if ticks:
        yield GaugeMetricFamily("heartbeat_last_tick_timestamp_seconds",
                                "When the newest tick of any daemon or cron tick started",
                                value=max(ticks).timestamp())


def exposition(app, clock: Clock | None = None) -> tuple[bytes, str]:
    """The /metrics response for `app`: (body, content type)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(app, clock))
    return generate_latest(registry), CONTENT_TYPE


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str

    @property
    def http_status(self) -> int:
        return 200 if self.ok else 503

    @property
    def body(self) -> bytes:
        return (self.reason + "\n").encode()


def liveness() -> Health:
    """/livez: this process answers."""
    return Health(True, "alive")


def readiness(app, clock: Clock | None = None) -> Health:
    """/readyz: the state database answers and some daemon or cron tick ticked recently (as
    `heartbeat status` counts it)."""
    now = (clock or Clock()).now()
    try:
        app.overview.revision()
        ticks = [d.last_tick for d in app.registry.daemons() if d.last_tick is not None]
    except HeartbeatError as exc:
        return Health(False, str(exc))
    limit = tick_limit(app.config)
    if not ticks:
        return Health(False, "no daemon or cron tick has ticked on this state database")
    age = (now - max(ticks)).total_seconds()
    if age > limit.total_seconds():
        return Health(False, f"the newest tick is {age:.0f} s old (limit {limit.total_seconds():g} s)")
    return Health(True, f"ready: the newest tick is {age:.0f} s old")
