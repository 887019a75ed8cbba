"""The daemon registry and takeovers across hosts, on an injected clock (no sleeps), on SQLite and
MariaDB: a registered process is alive while it refreshes its row, dead once unseen for `dead_after`,
stopped after a clean exit; a dead one's tasks are taken over with the restart line, on any host;
a batch in progress stays fenced by its lease."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.prestashop import create_demo_shop
from heartbeat.engine.beat import Heartbeat
from heartbeat.ops.presence import Presence
from tasks.database import create_state_engine
from tasks.stores.registry import DaemonState, Registry
from tests.helpers import make_config, make_store

PRODUCTS = 25
RESTARTED = "process restarted: processor no longer exists"
DEAD_AFTER = timedelta(seconds=30)


@pytest.fixture
def shop(shop_url):
    create_demo_shop(shop_url, products=PRODUCTS)
    return shop_url


@pytest.fixture
def config(tmp_path, db_url, shop):
    return make_config(tmp_path, db_url, shop, batch_size=10)


def daemon(config, clock, owner: str) -> tuple[Heartbeat, Presence]:
    """A heartbeat that registers as `owner` (host:pid:start), on engines of its own."""
    presence = Presence(Registry(create_state_engine(config.database_url)), config, "run", clock, owner=owner)
    beat = Heartbeat(config, make_store(config.database_url), clock=clock, owner=owner, monitor=presence)
    presence.start(refresh=False)  # tests call presence.refresh() where the thread would
    return beat, presence


def queue(beat, clock):
    return beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())


def log_of(beat, task_id) -> list[str]:
    return [line.message for line in beat.store.log(task_id)]


def test_a_registered_process_is_alive_while_seen_then_dead_and_stopped_after_a_clean_exit(config, clock):
    make_store(config.database_url)
    registry = Registry(create_state_engine(config.database_url))
    first = registry.register("host-a:1:1", "run", "host-a", 1, "0.1.0", "/etc/hb.toml", clock.now())
    second = registry.register("host-b:2:2", "tick", "host-b", 2, "0.1.0", "/etc/hb.toml", clock.now())

    def states():
        return {d.id: d.state(clock.now(), DEAD_AFTER) for d in registry.daemons()}

    assert states() == {first: DaemonState.ALIVE, second: DaemonState.ALIVE}
    clock.advance(30)
    registry.seen(first, clock.now(), "batch of task 7 (catalogue)")
    clock.advance(1)
    assert states() == {first: DaemonState.ALIVE, second: DaemonState.DEAD}
    registry.stopped(second, clock.now())  # a late clean exit still counts as one
    registry.stopped(first, clock.now())
    assert states() == {first: DaemonState.STOPPED, second: DaemonState.STOPPED}
    row = next(d for d in registry.daemons() if d.id == first)
    assert (row.host, row.pid, row.kind, row.config_path) == ("host-a", 1, "run", "/etc/hb.toml")
    assert row.doing is None


def test_ticks_are_recorded_and_the_refresh_keeps_a_busy_daemon_alive(config, clock):
    beat, presence = daemon(config, clock, "host-a:1:1")
    beat.tick(clock.advance(1))
    presence.refresh()
    row = presence.registry.daemons()[0]
    assert (row.last_tick, row.host, row.doing) == (clock.now(), "host-a", "idle")
    presence.doing("batch of task 1 (export-products)")
    clock.advance(120)  # a long batch: no tick, but the refresh thread goes on
    presence.refresh()
    row = presence.registry.daemons()[0]
    assert row.state(clock.now(), DEAD_AFTER) is DaemonState.ALIVE
    assert row.doing == "batch of task 1 (export-products)"
    assert row.last_tick == clock.now() - timedelta(seconds=120)


def test_an_idle_daemon_on_another_host_that_dies_is_taken_over_with_the_restart_line(config, clock):
    first, _ = daemon(config, clock, "host-a:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))  # batch 1 committed; host-a stays the owner, idle, then dies
    second, _ = daemon(config, clock, "host-b:2:2")
    clock.advance(31)
    assert second.tick(clock.now()).batches == 1
    assert f"{RESTARTED}; resuming at item 11 of 25" in log_of(second, task.id)
    assert second.store.get(task.id).owner == "host-b:2:2"


def test_an_idle_live_daemon_on_another_host_hands_its_task_over_silently(config, clock):
    first, presence = daemon(config, clock, "host-a:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))
    second, _ = daemon(config, clock, "host-b:2:2")
    clock.advance(31)
    presence.refresh()  # host-a is alive (its refresh thread says so)
    assert second.tick(clock.now()).batches == 1
    assert not any(RESTARTED in m for m in log_of(second, task.id))


def test_a_batch_in_progress_stays_fenced_by_its_lease_even_when_its_daemon_looks_dead(config, clock):
    first, _ = daemon(config, clock, "host-a:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))
    first.store.claim(task.id, first.owner, clock.now(), first.lease)  # batch 2 in progress...
    second, _ = daemon(config, clock, "host-b:2:2")
    assert second.tick(clock.advance(60)).batches == 0  # ...unseen for 60 s, but the lease still runs
    clock.advance(first.lease.total_seconds())
    assert second.tick(clock.now()).batches == 1
    assert (f"{RESTARTED}; resuming at item 11 of 25; it died while handling items 11 to 20; redoing items "
            "up to 20 in a child process, halving what kills it") in log_of(second, task.id)


def test_a_clean_stop_is_no_restart(config, clock):
    first, presence = daemon(config, clock, "host-a:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))
    first.close()
    presence.close()
    second, _ = daemon(config, clock, "host-b:2:2")
    second.run_until_idle()
    assert second.store.get(task.id).status == "completed"
    assert not any(RESTARTED in m for m in log_of(second, task.id))


def test_an_unregistered_owner_on_another_host_is_not_called_dead(config, clock):
    """An owner from before the registry (or whose row was pruned): idle, it cannot be told from a live
    daemon, as before."""
    first = Heartbeat(config, make_store(config.database_url), clock=clock, owner="host-a:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))
    second, _ = daemon(config, clock, "host-b:2:2")
    assert second.tick(clock.advance(3600)).batches == 1
    assert not any(RESTARTED in m for m in log_of(second, task.id))


def test_old_rows_are_pruned_but_never_one_a_task_still_names(config, clock):
    first, presence_a = daemon(config, clock, "host-a:1:1")
    queue(first, clock)
    first.tick(clock.advance(1))  # host-a owns the running task, then dies
    _, presence_b = daemon(config, clock, "host-b:2:2")
    presence_b.close()  # stopped cleanly
    clock.advance(timedelta(days=8).total_seconds())
    _, presence_c = daemon(config, clock, "host-c:3:3")  # registering prunes
    assert {d.owner for d in presence_c.registry.daemons()} == {"host-a:1:1", "host-c:3:3"}
