"""Prometheus metrics and health checks over real HTTP (the daemon's [metrics] server), parsed with
prometheus_client's own parser, on SQLite and MariaDB, on an injected clock."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.prestashop import create_demo_shop
from core.errors import Refused
from heartbeat.app import App
from heartbeat.engine.beat import Heartbeat
from heartbeat.ops import metrics_server
from heartbeat.ops.presence import Presence
from tests.helpers import execute, upgrade_to
from tests.helpers import write_config_file as write_config


@pytest.fixture
def app(tmp_path, db_url, shop_url):
    create_demo_shop(shop_url, products=30)
    return App(str(write_config(tmp_path, db_url, shop_url, batch_size=10)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(app, clock):
    server = metrics_server.start(app, f"127.0.0.1:{free_port()}", clock)
    yield f"http://127.0.0.1:{server.port}"
    server.close()


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of one real scrape."""
    status, content_type, text = get(base + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def export_to_the_end(app, clock) -> int:
    presence = Presence(app.registry, app.config, "run", clock, owner="host-a:1:1")
    presence.start(refresh=False)
    profile = app.config.profile("export-products")
    task = app.store.create(profile, "manual", clock.now(), clock.now())
    Heartbeat(app.config, app.store, clock=clock, owner="host-a:1:1", monitor=presence).run_until_idle()
    return task.id


def label(**labels) -> frozenset:
    return frozenset(labels.items())


def test_metrics_tell_what_the_state_database_holds(app, clock, served):
    task_id = export_to_the_end(app, clock)
    task = app.store.get(task_id)
    m = scrape(served)
    assert m["heartbeat_items_total", label(profile="export-products", outcome="processed")] == 30
    assert m["heartbeat_items_total", label(profile="export-products", outcome="error")] == 0
    assert m["heartbeat_tasks", label(profile="export-products", status="completed")] == 1
    assert m["heartbeat_tasks", label(profile="export-products", status="running")] == 0
    p = label(profile="export-products")
    assert m["heartbeat_batch_duration_seconds_count", p] == task.batches == 3
    assert m["heartbeat_batch_duration_seconds_bucket", p | {("le", "+Inf")}] == 3
    assert m["heartbeat_batch_duration_seconds_sum", p] == pytest.approx(task.work_seconds)
    assert m["heartbeat_last_success_timestamp_seconds", p] == task.finished_at.timestamp()
    assert m["heartbeat_last_tick_timestamp_seconds", frozenset()] == clock.now().timestamp()
    assert m["heartbeat_daemons", label(state="alive")] == 1
    assert m["heartbeat_daemons", label(state="dead")] == 0
    assert m["heartbeat_state_database_up", frozenset()] == 1
    assert [v for (name, _), v in m.items() if name == "heartbeat_build_info"] == [1]


def test_counters_never_go_down_when_history_is_pruned(app, clock, served):
    export_to_the_end(app, clock)
    before = scrape(served)
    app.tasks.prune(timedelta(0), now=clock.advance(60))
    after = scrape(served)
    processed = ("heartbeat_items_total", label(profile="export-products", outcome="processed"))
    assert after[processed] == before[processed] == 30
    assert after["heartbeat_tasks", label(profile="export-products", status="completed")] == 0


def test_livez_answers_and_readyz_follows_the_newest_tick(app, clock, served):
    assert get(served + "/livez")[0] == 200
    status, _, body = get(served + "/readyz")
    assert (status, body) == (503, "no daemon or cron tick has ticked on this state database\n")
    export_to_the_end(app, clock)
    assert get(served + "/readyz")[0] == 200
    clock.advance(31)
    status, _, body = get(served + "/readyz")
    assert (status, body) == (503, "the newest tick is 31 s old (limit 30 s)\n")
    assert get(served + "/livez")[0] == 200
    assert get(served + "/nope")[0] == 404


def test_a_state_database_that_does_not_answer_is_a_metric_and_not_ready(tmp_path, clock):
    path = tmp_path / "heartbeat.toml"
    path.write_text('[database]\nurl = "mysql+pymysql://root@127.0.0.1:1/none"\n')
    server = metrics_server.start(App(str(path)), f"127.0.0.1:{free_port()}", clock)
    try:
        m = scrape(f"http://127.0.0.1:{server.port}")
        assert m["heartbeat_state_database_up", frozenset()] == 0
        assert get(f"http://127.0.0.1:{server.port}/readyz")[0] == 503
    finally:
        server.close()


def test_a_port_in_use_is_refused_in_one_line(app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        why = rf"cannot serve metrics on 127.0.0.1:{port} \(\[metrics\] listen\): "
        with pytest.raises(Refused, match=why):
            metrics_server.start(app, f"127.0.0.1:{port}")


def test_items_handled_before_the_upgrade_count(db_url):
    from tasks.database import create_state_engine, ensure_schema
    from tasks.stores.overview import Overview

    engine = create_state_engine(db_url)
    upgrade_to(engine, "0008")
    execute(db_url, "INSERT INTO hb_tasks (id, profile, kind, status, triggered_by, created_at, "
            "scheduled_at, batch_size, total, processed, skipped, error) VALUES (1, 'catalogue', 'export', "
            "'completed', 'manual', '2026-11-01 10:00:00', '2026-11-01 10:00:00', 10, 9, 5, 3, 1)")
    ensure_schema(engine)
    totals = Overview(engine).totals()["catalogue"]
    assert (totals["processed"], totals["skipped"], totals["error"], totals["batches"]) == (5, 3, 1, 0)


def test_the_web_page_serves_the_same_metrics_and_health_without_a_login(app):
    from starlette.testclient import TestClient

    from heartbeat.web import server

    with TestClient(server.application(app, "127.0.0.1"), base_url="http://127.0.0.1",
                    follow_redirects=False) as client:
        scraped = client.get("/metrics")
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(scraped.text)}
        assert {"heartbeat_tasks", "heartbeat_build_info", "heartbeat_daemons"} <= names
        assert client.get("/livez").status_code == 200
        ready = client.get("/readyz")  # nothing has ticked yet: not ready, and says why
        assert ready.status_code == 503 and ready.text.strip()
