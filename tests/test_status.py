"""`heartbeat status`: what it reports and its exit code (0 alive and well, 1 otherwise with the
reasons on stderr, 2 for a config mistake), on SQLite and MariaDB, on an injected clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.prestashop import create_demo_shop
from core.errors import FatalTaskError, StateDatabaseError
from heartbeat.app import App
from heartbeat.cli.main import cli
from heartbeat.engine.beat import Heartbeat
from heartbeat.ops import status
from heartbeat.ops.presence import Presence
from tests.helpers import write_config_file as write_config


@pytest.fixture
def config_path(tmp_path, db_url, shop_url) -> Path:
    create_demo_shop(shop_url, products=30)
    path = write_config(tmp_path, db_url, shop_url)
    with open(path, "a") as f:
        f.write('\n[[profiles]]\nname = "other"\nkind = "export"\nsource = "shop"\nbatch_size = 10\n')
    return path


def run_status(config_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config_path), "status", *args])


def tick(app: App, clock, owner="host-a:1:1") -> Presence:
    """One heartbeat of a registered daemon at the clock's time, to its end."""
    presence = Presence(app.registry, app.config, "run", clock, owner=owner)
    presence.start(refresh=False)
    Heartbeat(app.config, app.store, clock=clock, owner=owner, monitor=presence).run_until_idle()
    return presence


def test_no_tick_ever_is_exit_1_with_the_reason_on_stderr(config_path):
    result = run_status(config_path, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["daemons"] == [] and report["last_tick"] is None
    assert result.stderr == "heartbeat: no daemon or cron tick has ever ticked on this state database\n"


def test_a_cron_tick_is_seen_alive_and_status_exits_0(config_path):
    assert CliRunner().invoke(cli, ["--config", str(config_path), "tick"]).exit_code == 0
    result = run_status(config_path, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    [row] = report["daemons"]
    assert (row["kind"], row["state"]) == ("tick", "stopped") and row["last_tick"] == report["last_tick"]
    assert report["database"]["revision"] == "0016"
    text = run_status(config_path)
    assert text.exit_code == 0 and text.stdout.splitlines()[-1] == "OK" and "stopped  tick" in text.stdout


def test_the_newest_tick_must_be_within_the_limit(config_path, clock):
    app = App(str(config_path))
    tick(app, clock)
    assert status.collect(app, clock).ok
    clock.advance(30)
    assert status.collect(app, clock).ok
    clock.advance(1)
    report = status.collect(app, clock)
    assert not report.ok
    assert report.problems[0].startswith("no daemon or cron tick has ticked for 31 s (limit 30 s; the last: ")
    assert report.warnings[0].endswith("is dead (not seen for 31 s)")  # and owns no running task
    assert report.to_json()["daemons"][0]["state"] == "dead"
    clock.advance(3600)  # long dead: kept in the registry (for a takeover) but no longer shown
    assert status.collect(app, clock).to_json()["daemons"] == []


def test_a_profile_whose_last_task_failed_makes_status_exit_1_until_one_completes(config_path, clock):
    app = App(str(config_path))
    store, profile = app.store, app.config.profile("export-products")
    failed = store.create(profile, "manual", clock.now(), clock.now())

    def broken():
        raise FatalTaskError("connection refused")

    store.start(failed.id, clock.now(), "host-a:1:1", None, broken, lambda t: None, timedelta(minutes=2))
    tick(app, clock)
    report = status.collect(app, clock)
    assert report.problems == [f"profile export-products: its last task {failed.id} ended in error: "
                               "connection refused"]
    rows = {p["name"]: p for p in report.to_json()["profiles"]}
    assert rows["export-products"]["failing"] and rows["export-products"]["last_failed"]["id"] == failed.id
    assert not rows["other"]["failing"] and rows["other"]["last_completed"] is None
    assert "FAILING" in report.text()
    done = store.create(profile, "manual", clock.now(), clock.now())
    tick(app, clock)
    report = status.collect(app, clock)
    assert report.ok, report.problems
    assert report.to_json()["profiles"][0]["last_completed"]["id"] == done.id


def test_running_and_due_tasks_and_the_oldest_delay(config_path, clock):
    app = App(str(config_path))
    tick(app, clock)
    app.store.create(app.config.profile("other"), "manual", clock.now(), clock.now())
    clock.advance(12)
    tasks = status.collect(app, clock).to_json()["tasks"]
    assert tasks == {"running": [], "due": 1, "oldest_due_delay_seconds": 12.0}


def test_a_section_is_a_provider_and_one_failing_hides_nothing_else(config_path, clock):
    app = App(str(config_path))
    tick(app, clock)

    def notifications_section(ctx):
        return status.Section("notifications", {"notifications": {"failed": 2}}, ["notifications  2 failed"],
                              warnings=["2 deliveries failed"])

    def disk_section(ctx):
        raise StateDatabaseError("gone away")

    report = status.collect(app, clock, [*status.PROVIDERS, notifications_section, disk_section])
    data = report.to_json()
    assert data["notifications"] == {"failed": 2} and data["warnings"] == ["2 deliveries failed"]
    assert data["problems"] == ["state database error: gone away"] and not data["ok"]
    assert "daemons" in data and "notifications  2 failed" in report.text()


def test_a_state_database_that_does_not_answer_is_one_problem(tmp_path, clock):
    path = tmp_path / "heartbeat.toml"
    path.write_text('[database]\nurl = "mysql+pymysql://root@127.0.0.1:1/none"\n')

    def disk_section(ctx):
        return status.Section("disk", {"disk": "ok"})

    disk_section.without_database = True
    report = status.collect(App(str(path)), clock, [*status.PROVIDERS, disk_section])
    [problem] = report.problems
    assert problem.startswith("state database mysql+pymysql://root@127.0.0.1:1/none: ")
    assert report.to_json()["disk"] == "ok" and "daemons" not in report.to_json()
    result = run_status(path)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1


def test_a_config_mistake_is_exit_2(tmp_path):
    path = tmp_path / "heartbeat.toml"
    path.write_text('[metrics]\nlisten = "localhost"\n')
    result = run_status(path)
    assert result.exit_code == 2
    assert "metrics.listen: must be HOST:PORT (e.g. 127.0.0.1:8080), got 'localhost'" in result.stderr


def test_a_dead_daemon_holding_tasks_is_a_warning_while_another_ticks(config_path, clock):
    app = App(str(config_path))
    app.store.create(app.config.profile("export-products"), "manual", clock.now(), clock.now())
    first = Presence(app.registry, app.config, "run", clock, owner="host-a:1:1")
    first.start(refresh=False)
    Heartbeat(app.config, app.store, clock=clock, owner="host-a:1:1", monitor=first).tick()  # 1 batch of 3
    clock.advance(31)
    second = Presence(app.registry, app.config, "run", clock, owner="host-b:2:2")
    second.start(refresh=False)
    second.tick_started(clock.now())
    report = status.collect(app, clock)
    assert report.ok, report.problems
    [warning] = report.warnings
    assert warning.startswith("run host-a pid ") and warning.endswith(
        "is dead (not seen for 31 s); the next daemon to tick takes over its 1 running task(s)")


def test_low_disk_space_is_a_warning_and_a_given_up_notification_a_problem(config_path):
    from tests.helpers import execute

    text = config_path.read_text()
    assert "[heartbeat]\n" in text
    config_path.write_text(text.replace("[heartbeat]\n", "[heartbeat]\nmin_free_mb = 100000000\n", 1))
    assert CliRunner().invoke(cli, ["--config", str(config_path), "tick"]).exit_code == 0
    result = run_status(config_path, "--json")
    assert result.exit_code == 0, result.stderr  # a warning is not a failure
    report = json.loads(result.stdout)
    assert report["disk"] and "under the warning threshold" in report["disk"][0]["message"]
    assert any("under the warning threshold" in w for w in report["warnings"])
    execute(App(str(config_path)).config.database_url,
            "INSERT INTO hb_notifications (task_id, target, event, task, status, created_at, "
            "next_attempt_at, attempts, last_error) VALUES (1, 'ops', 'task.error', '{}', 'failed', "
            "'2026-11-02 09:00:00', '2026-11-02 09:00:00', 9, 'HTTP 500 from hooks.example.com')",
            "UPDATE hb_notifications SET last_attempt_at = created_at")
    result = run_status(config_path)  # given up weeks ago: still listed, no longer failing the check
    assert result.exit_code == 0 and "given up after 9 attempts" in result.stdout
    execute(App(str(config_path)).config.database_url,
            f"UPDATE hb_notifications SET last_attempt_at = '{datetime.now(UTC):%Y-%m-%d %H:%M:%S}'")
    result = run_status(config_path)
    assert result.exit_code == 1
    given_up = "notification 1 (task.error of task 1 to ops): given up after 9 attempts: HTTP 500"
    assert given_up in result.stderr
