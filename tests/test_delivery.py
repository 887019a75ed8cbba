"""ExportUpload of finished export files to an http target, against a real HTTP server on 127.0.0.1 that
fails, times out, then accepts (tests/upload_server.py): one import, one Idempotency-Key, the outcome
in the action log and in `tasks show`; a delivery that keeps failing leaves the task completed with
its file, and `tasks deliver` tries again; a daemon killed after the upload retries with the same key."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.platform.delivery import HttpTarget, target_url_problem, upload
from connectors.prestashop import create_demo_shop
from core.config import Connection
from core.errors import ConfigError, Refused
from heartbeat.cli.main import cli
from heartbeat.cli.views import task_details
from heartbeat.config.loader import check_environment, load
from heartbeat.engine.uploads import LEASE, retry_delay
from tests.helpers import make_config, make_heartbeat, manager
from tests.processes import HEARTBEAT, hb, make_project, show
from tests.upload_server import UploadServer

PRODUCTS = 30
SECRET = "Bearer s3cr3t-token-0123456789"


@pytest.fixture
def platform():
    server = UploadServer().start()
    yield server
    server.stop()


def http_options(url: str, **options) -> dict:
    return {"url": url, "method": "PUT", "auth_header": "Authorization", "auth_env": None, "gzip": False,
            "connect_timeout": 5.0, "timeout": 0.5, "max_attempts": 8, "retry_delay": 60.0,
            "max_retry_delay": 3600.0, **options}


@pytest.fixture
def delivering(tmp_path, db_url, shop_url, clock, platform):
    """make(**http options): a heartbeat whose export profile delivers to `platform`."""
    create_demo_shop(shop_url, products=PRODUCTS)

    def make(**options):
        base = make_config(tmp_path, db_url, shop_url, batch_size=12, target="platform")
        http = Connection("platform", "http", http_options(platform.url(), **options))
        return make_heartbeat(dataclasses.replace(base, connections={**base.connections, "platform": http}),
                              clock)

    return make


@pytest.fixture
def beat(delivering):
    return delivering()


def export(beat, clock):
    """Run an export task to its end (its delivery's first attempt included); the task."""
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    return beat.store.get(task.id)


def log_of(beat, task_id: int) -> list[str]:
    return [line.message for line in beat.store.log(task_id)]


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_failed_then_timed_out_then_accepted_is_imported_once_with_one_key(delivering, clock, platform,
                                                                           gzipped):
    beat = delivering(gzip=gzipped)
    platform.script = ["fail", "hang"]
    task = export(beat, clock)
    assert task.status == "completed"
    first = beat.store.deliveries.get(task.id)
    assert (first.status, first.attempts, first.http_status) == ("pending", 1, 500)
    assert first.next_at == clock.now() + timedelta(seconds=60)

    clock.advance(59)
    beat.tick()
    assert len(platform.requests) == 1  # not due yet
    clock.advance(1)
    beat.tick()  # the second attempt gets no answer within the read timeout
    second = beat.store.deliveries.get(task.id)
    assert (second.status, second.attempts, second.http_status) == ("pending", 2, None)
    assert "no answer from 127.0.0.1" in second.outcome and "within 0.5 s (timeout)" in second.outcome
    assert second.next_at == clock.now() + timedelta(seconds=120)

    clock.advance(120)
    report = beat.tick()
    assert report.delivered == [task.id]
    data = Path(task.export_path).read_bytes()
    assert len(data) == task.export_bytes and json.loads(data)["products"]
    assert platform.imports == [data]  # exactly one import, of the file's bytes
    assert platform.keys == [f"{task.id}-{hashlib.sha256(data).hexdigest()}"] * 3
    sent = platform.requests[-1]
    assert sent["method"] == "PUT" and sent["path"] == "/import"
    if gzipped:
        assert sent["headers"]["Content-Encoding"] == "gzip"
        assert sent["headers"]["Transfer-Encoding"] == "chunked"
        assert gzip.decompress(sent["body"]) == data
    else:
        assert sent["headers"]["Content-Length"] == str(len(data)) and sent["body"] == data

    done = beat.store.deliveries.get(task.id)
    assert (done.status, done.attempts, done.http_status) == ("delivered", 3, 201)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    lines = log_of(beat, task.id)
    assert lines[-3].startswith("delivery failed: HTTP 500 Internal Server Error: database busy "
                                "(connection platform, attempt 1 of 8); next attempt at 2026-11-02 ")
    assert "(timeout) (connection platform, attempt 2 of 8); next attempt at" in lines[-2]
    assert lines[-1] == "delivered: HTTP 201 in 0.00 s (connection platform, attempt 3)"
    assert beat.store.get(task.id).status == "completed" and Path(task.export_path).exists()


def test_a_delivery_that_keeps_failing_leaves_the_task_completed_and_deliver_tries_again(delivering, clock,
                                                                                        platform):
    beat = delivering(max_attempts=2)
    platform.script = ["fail", "fail"]
    task = export(beat, clock)
    clock.advance(60)
    beat.tick()
    failed = beat.store.deliveries.get(task.id)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert beat.store.get(task.id).status == "completed" and Path(task.export_path).exists()
    assert log_of(beat, task.id)[-1].endswith(
        f"(connection platform, attempt 2 of 2); giving up; `heartbeat tasks deliver {task.id}` tries again")
    assert manager(beat).delivery_line(failed) == (
        f"failed after 2 attempts: HTTP 500 Internal Server Error: database busy; `heartbeat tasks deliver "
        f"{task.id}` tries again")
    clock.advance(100_000)
    beat.tick()
    assert len(platform.requests) == 2 and platform.imports == []  # given up: no more attempts

    done = manager(beat).deliver(task.id)
    assert (done.status, done.attempts, done.http_status) == ("delivered", 1, 201)
    assert platform.imports == [Path(task.export_path).read_bytes()]
    assert log_of(beat, task.id)[-2:] == ["delivery to connection platform tried again by hand",
                                          "delivered: HTTP 201 in 0.00 s (connection platform, attempt 1)"]
    with pytest.raises(Refused, match=f"task {task.id} was delivered already: delivered: HTTP 201"):
        manager(beat).deliver(task.id)


def test_a_refusal_is_given_up_at_once_and_the_secret_is_shown_nowhere(delivering, clock, platform,
                                                                       monkeypatch):
    beat = delivering(auth_env="HB_TEST_PLATFORM_TOKEN")
    monkeypatch.setenv("HB_TEST_PLATFORM_TOKEN", SECRET)
    platform.script = ["refuse"]
    task = export(beat, clock)
    assert platform.requests[0]["headers"]["Authorization"] == SECRET
    delivery = manager(beat).delivery(task.id)
    assert (delivery.status, delivery.attempts, delivery.http_status) == ("failed", 1, 400)
    assert delivery.outcome == "HTTP 400 Bad Request: bad request from ***"
    shown = "\n".join([*log_of(beat, task.id), json.dumps(delivery.to_json()),
                       task_details(task, manager(beat).delivery_line(delivery))])
    assert "s3cr3t" not in shown and "Delivery:      failed after 1 attempt: HTTP 400" in shown


def test_a_missing_auth_variable_fails_the_attempt_naming_the_key(delivering, clock, platform, monkeypatch):
    beat = delivering(auth_env="HB_TEST_UNSET_TOKEN")
    monkeypatch.delenv("HB_TEST_UNSET_TOKEN", raising=False)
    task = export(beat, clock)
    delivery = beat.store.deliveries.get(task.id)
    assert delivery.status == "pending" and platform.requests == []
    assert delivery.outcome == ("connections.platform.auth_env: environment variable HB_TEST_UNSET_TOKEN "
                                "is not set")
    monkeypatch.setenv("HB_TEST_UNSET_TOKEN", SECRET)
    clock.advance(60)
    assert beat.tick().delivered == [task.id]


def test_retry_after_is_honoured_within_the_cap(beat, clock, platform):
    platform.script = ["busy"]
    task = export(beat, clock)
    assert beat.store.deliveries.get(task.id).next_at == clock.now() + timedelta(seconds=600)
    assert [retry_delay(n, 60, 3600) for n in (1, 2, 3, 7, 8, 99)] == [60, 120, 240, 3600, 3600, 3600]
    assert retry_delay(1, 60, 300, asked=10_000) == 300


def test_show_and_json_tell_a_pending_delivery(beat, clock, platform):
    platform.script = ["fail"]
    task = export(beat, clock)
    delivery = manager(beat).delivery(task.id)
    assert delivery.to_json() == {
        "connection": "platform", "status": "pending", "attempts": 1,
        "next_attempt_at": "2026-11-02T09:01:30Z",
        "delivered_at": None, "http_status": 500, "seconds": 0.0, "sha256": delivery.sha256,
        "outcome": "HTTP 500 Internal Server Error: database busy"}
    assert manager(beat).delivery_line(delivery) == (
        "pending: attempt 2 of 8 at 2026-11-02 09:01:30 UTC; last: "
        "HTTP 500 Internal Server Error: database busy")


def test_an_attempt_held_by_another_host_is_left_alone_until_its_lease_expires(beat, clock, platform):
    platform.script = ["fail"]
    task = export(beat, clock)
    clock.advance(60)
    assert beat.store.deliveries.claim(task.id, "other-host:4242:1", clock.now(), LEASE).attempts == 2
    beat.tick()
    with pytest.raises(Refused, match=f"task {task.id}'s delivery is being attempted by another process"):
        manager(beat).deliver(task.id)
    assert len(platform.requests) == 1
    clock.advance(LEASE.total_seconds())  # that host never recorded its attempt: taken over
    assert beat.tick().delivered == [task.id]
    assert log_of(beat, task.id)[-2].startswith("delivery attempt 2 did not finish: its process is gone")
    assert beat.store.deliveries.get(task.id).attempts == 3 and len(set(platform.keys)) == 1


def test_deleting_a_task_drops_its_delivery(beat, clock, platform):
    platform.script = ["fail"]
    task = export(beat, clock)
    manager(beat).delete(task.id)
    assert beat.store.deliveries.get(task.id) is None
    assert beat.store.deliveries.due(clock.now() + timedelta(days=1)) == []


def test_deliver_is_refused_for_a_task_without_an_http_target(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=5)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url), clock)
    task = export(beat, clock)
    assert manager(beat).delivery(task.id) is None
    with pytest.raises(Refused, match="target is not an http connection"):
        manager(beat).deliver(task.id)


def test_upload_streams_a_large_file_and_names_only_the_host(tmp_path, platform):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:  # 40 MiB, more than a few chunks
        for i in range(40):
            f.write(bytes([65 + i % 26]) * (1 << 20))
    target = HttpTarget("platform", platform.url("/x?shop=1"), "POST", gzip=True, timeout=30)
    sent = upload(target, 7, str(path), path.stat().st_size - 5)
    assert sent.delivered and sent.status == 201
    assert platform.imports == [path.read_bytes()[:-5]] and platform.requests[0]["path"] == "/x?shop=1"
    closed = HttpTarget("platform", "http://127.0.0.1:9/secret/path?token=abc", connect_timeout=2)
    failed = upload(closed, 7, str(path), 10)
    assert failed.error == "cannot connect to 127.0.0.1:9: Connection refused" and failed.retryable
    missing = upload(target, 7, str(tmp_path / "gone.json"), 10)
    assert not missing.retryable and "cannot read the export file" in missing.error


# -- configuration -------------------------------------------------------------------------------------

CONFIG = """
[connections.shop]
type = "prestashop"
url = "sqlite:///shop.db"

[connections.platform]
type = "http"
{http}

[[profiles]]
name = "to-platform"
kind = "export"
source = "shop"
target = "platform"
"""


def load_text(tmp_path, http: str):
    path = tmp_path / "heartbeat.toml"
    path.write_text(CONFIG.format(http=http))
    return load(path, env={})


def test_an_http_target_loads_with_its_defaults(tmp_path):
    config = load_text(tmp_path, 'url = "https://sync.example/import?shop=1"\nauth_env = "PLATFORM_TOKEN"')
    assert config.connections["platform"].options == http_options(
        "https://sync.example/import?shop=1", auth_env="PLATFORM_TOKEN", timeout=60.0, connect_timeout=10.0)
    with pytest.raises(ConfigError, match=r"connections\.platform\.auth_env: environment variable "
                                          "PLATFORM_TOKEN is not set"):
        check_environment(config, {})
    check_environment(config, {"PLATFORM_TOKEN": "x"})


@pytest.mark.parametrize("http, message", [
    ('url = "ftp://sync.example/x"', "connections.platform.url: must be an http:// or https:// URL"),
    ('url = "https://user:pw@sync.example/x"', "connections.platform.url: must not hold credentials"),
    ('url = "https://sync.example:99999/x"', "connections.platform.url: not a valid URL"),
    ('url = "https://x"\nmethod = "GET"', "platform.method: expected one of PUT, POST, got 'GET'"),
    ('url = "https://x"\nauth_env = "1-bad"', "connections.platform.auth_env: must be an environment"),
    ('url = "https://x"\nauth_header = "Auth: x"', "platform.auth_header: must be an HTTP header"),
    ('url = "https://x"\ntimeout = 0', "platform.timeout: must be a finite number greater than 0"),
    ('url = "https://x"\nretry = 3', "connections.platform.retry: unknown key"),
])
def test_a_bad_http_target_is_one_line_naming_the_key(tmp_path, http, message):
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, http)
    assert message in str(exc.value) and "\n" not in str(exc.value) and "pw" not in str(exc.value)


def test_only_exports_deliver_over_http(tmp_path):
    path = tmp_path / "heartbeat.toml"
    path.write_text(CONFIG.format(http='url = "https://x"').replace('kind = "export"', 'kind = "import"'))
    with pytest.raises(ConfigError, match="connection 'shop' is of type 'prestashop'"):
        load(path, env={})
    assert target_url_problem("https://sync.example/x") is None


# -- a real process killed after the upload, before recording it ---------------------------------------

@pytest.mark.slow
def test_a_process_killed_after_the_upload_retries_with_the_same_key(tmp_path, db_url, platform):
    project = make_project(tmp_path / "p", db_url)
    config = project / "heartbeat.toml"
    text = config.read_text().replace('target = "exports"', 'target = "platform"')
    config.write_text(text + f'\n[connections.platform]\ntype = "http"\nurl = "{platform.url()}"\n')
    hb(project, "demo", "init", "--products", "40")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    platform.script = ["import_then_kill"]
    tick = subprocess.Popen([*HEARTBEAT, "--config", str(config), "tick", "--until-idle"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    platform.kill_pid = tick.pid
    tick.communicate(timeout=60)
    assert tick.returncode == -signal.SIGKILL and len(platform.imports) == 1
    pending = show(project, task_id)
    assert pending["status"] == "completed" and pending["delivery"]["status"] == "pending"

    hb(project, "tick")
    delivered = show(project, task_id)["delivery"]
    assert (delivered["status"], delivered["attempts"], delivered["http_status"]) == ("delivered", 2, 200)
    assert len(platform.requests) == 2 and len(set(platform.keys)) == 1 and len(platform.imports) == 1
    assert platform.keys[0] == f"{task_id}-{delivered['sha256']}"
    log = hb(project, "tasks", "log", str(task_id)).stdout
    assert "delivery attempt 1 did not finish: its process is gone" in log
    assert "delivered: HTTP 200 in" in log and "(connection platform, attempt 2)" in log
    assert "Delivery:      delivered: HTTP 200 in" in hb(project, "tasks", "show", str(task_id)).stdout
    again = hb(project, "tasks", "deliver", str(task_id), check=False)
    assert again.returncode == 1
    assert again.stderr.startswith(f"heartbeat: task {task_id} was delivered already")
    assert os.path.exists(show(project, task_id)["export_file"])


def test_profiles_check_names_an_unset_auth_variable(tmp_path, monkeypatch):
    path = tmp_path / "heartbeat.toml"
    path.write_text(CONFIG.format(http='url = "https://x/y"\nauth_env = "HB_TEST_CHECK_TOKEN"'))
    monkeypatch.delenv("HB_TEST_CHECK_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["--config", str(path), "profiles", "check"])
    assert result.exit_code == 2 and result.output.strip() == (
        f"heartbeat: {path}: connections.platform.auth_env: environment variable HB_TEST_CHECK_TOKEN is not "
        "set (the upload's Authorization header comes from it)")
    monkeypatch.setenv("HB_TEST_CHECK_TOKEN", "x")
    result = CliRunner().invoke(cli, ["--config", str(path), "profiles", "check"])
    assert result.exit_code == 0 and "OK (2 connections, 1 profile)" in result.output
