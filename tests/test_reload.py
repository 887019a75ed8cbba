"""`heartbeat run` reloads its configuration on SIGHUP (issue 25): validated first (a bad file is
logged with its reason and the old one kept); profiles, connections, schedules, notifications and
[heartbeat] options take effect at the next heartbeat; running tasks keep the settings they started
with, a running task of a removed profile finishes; [database] url, [web] listen and [metrics]
listen need a restart and the log says so. In process with a frozen clock, then the real daemon."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from connectors.prestashop import create_demo_shop
from heartbeat.app import App
from heartbeat.daemon import Reload
from tests.helpers import make_config, make_heartbeat, manager
from tests.processes import DEADLINE, HEARTBEAT, hb, make_project, show, wait_for

PRODUCTS = 40


@pytest.fixture
def beat(tmp_path, db_url, clock):
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_shop(shop, products=PRODUCTS, seed=42)
    return make_heartbeat(make_config(tmp_path, db_url, shop, name="catalogue", batch_size=10), clock)


def with_profile(config, **changes):
    profile = dataclasses.replace(config.profiles[0], **changes)
    return dataclasses.replace(config, profiles=(profile,))


def test_a_running_task_keeps_the_batch_size_it_started_with(beat, clock):
    tasks = manager(beat)
    first = tasks.queue("catalogue")
    beat.tick(clock.now())
    assert beat.store.get(first.id).progress.processed == 10
    assert beat.reload(with_profile(beat.config, batch_size=25)) == [first.id]
    beat.tick(clock.advance(60))
    assert beat.store.get(first.id).progress.processed == 20  # still 10 a batch
    beat.run_until_idle()
    second = manager(beat).queue("catalogue")
    beat.tick(clock.advance(60))
    done = beat.store.get(second.id)
    assert (done.batch_size, done.progress.handled) == (25, 25)  # the new setting, from its start


def test_a_running_task_of_a_removed_profile_finishes(beat, clock):
    tasks = manager(beat)
    task = tasks.queue("catalogue")
    beat.tick(clock.now())
    beat.reload(with_profile(beat.config, name="renamed"))
    beat.run_until_idle()
    done = beat.store.get(task.id)
    assert (done.status.value, done.progress.processed) == ("completed", PRODUCTS)
    pending = tasks.queue("catalogue")  # queued before the reload reached this process, say
    beat.reload(beat.config)
    beat.run_until_idle()
    assert beat.store.get(pending.id).message == "profile 'catalogue' is no longer configured"


def test_a_new_schedule_takes_effect_at_the_next_heartbeat(beat, clock):
    beat.tick(clock.now())
    beat.reload(with_profile(beat.config, schedule="* * * * *"))
    beat.tick(clock.advance(60))  # records the first slot
    beat.tick(clock.advance(60))
    assert [t.trigger for t in manager(beat).list(profile="catalogue")] == ["schedule"]


# -- the daemon's Reload, on a config file --------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    hb(project, "demo", "init", "--products", "30")
    return project


def test_a_bad_file_is_refused_and_the_old_configuration_kept(project):
    app = App(str(project / "heartbeat.toml"))
    reload = Reload(app, app.heartbeat(), None, None)
    before = app.config
    path = project / "heartbeat.toml"
    path.write_text(path.read_text().replace("batch_size = 500", "batch_size = 0"))
    with capture_logs() as logs:
        assert reload.reload() is False
    assert app.config is before and app.tasks.config is before
    line = last_event(logs, "config.reload_failed")
    assert line["reason"] == f"{path}: profiles[0] (demo-export).batch_size: must be from 1 to 100000, got 0"
    assert line["kept"] == "the old configuration"


def test_a_good_file_is_taken_and_what_needs_a_restart_is_kept(project):
    app = App(str(project / "heartbeat.toml"))
    beat = app.heartbeat()
    reload = Reload(app, beat, None, None)
    path = project / "heartbeat.toml"
    text = path.read_text().replace("batch_size = 500", "batch_size = 50")
    text = text.replace('url = "sqlite:///', 'url = "sqlite:////elsewhere/', 1)
    path.write_text(text + '\n[metrics]\nlisten = "127.0.0.1:9464"\n')
    old_url = app.config.database_url
    with capture_logs() as logs:
        assert reload.reload() is True
    assert app.config.profile("demo-export").batch_size == 50 and beat.config is app.config
    assert app.tasks.config is app.config
    assert (app.config.database_url, app.config.metrics_listen) == (old_url, None)
    assert last_event(logs, "config.reloaded")["changed"] == ["profiles"]
    assert last_event(logs, "config.restart_needed")["keys"] == ["database.url", "metrics.listen"]


def last_event(logs: list[dict], name: str) -> dict:
    found = [e for e in logs if e["event"] == name]
    assert found, f"no {name} in {logs!r}"
    return found[-1]


# -- the real daemon ------------------------------------------------------------------------------

@pytest.mark.slow
def test_sighup_reloads_the_real_daemon(project):
    log = project / "daemon.log"
    path = project / "heartbeat.toml"
    good = path.read_text()
    with open(log, "w") as err:
        daemon = subprocess.Popen([*HEARTBEAT, "--config", str(path), "run"], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        wait_for(lambda: "daemon.started" in events(log), "the daemon to start")
        path.write_text(good + '\n[[profiles]]\nname = "broken"\nkind = "export"\nsource = "nowhere"\n')
        daemon.send_signal(signal.SIGHUP)
        failed = wait_for(lambda: [e for e in events_of(log) if e["event"] == "config.reload_failed"],
                          "the reload to be refused")
        assert "nowhere" in failed[0]["reason"] and daemon.poll() is None
        path.write_text(good + '\n[[profiles]]\nname = "second-export"\nkind = "export"\n'
                               'source = "demo_shop"\ntarget = "exports"\nbatch_size = 7\n'
                               '[metrics]\nlisten = "127.0.0.1:9"\n')
        daemon.send_signal(signal.SIGHUP)
        reloaded = wait_for(lambda: [e for e in events_of(log) if e["event"] == "config.reloaded"],
                            "the reload")
        assert "second-export" in reloaded[0]["profiles"]
        restart = [e for e in events_of(log) if e["event"] == "config.restart_needed"]
        assert restart[0]["keys"] == ["metrics.listen"]
        task_id = int(hb(project, "profiles", "run", "second-export").stdout.split()[-1])
        wait_for(lambda: show(project, task_id)["status"] == "completed", "the new profile's task")
        assert show(project, task_id)["batch_size"] == 7
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=DEADLINE)
    assert daemon.returncode == 0


def events(log: Path) -> str:
    return log.read_text()


def events_of(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
