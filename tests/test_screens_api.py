"""The seeds' screens through their JSON twins and the verbs behind them (issue 25), in process
(Starlette's TestClient) on SQLite and MariaDB: connections (no secrets), their stats counted at the
request, checks, the maintenance tab's analysis -> fix -> undo with the CLI's refusals as 409,
pause and resume (the schedule skips a paused profile, none missed, Run now still works, the pause
survives a restart, `status` warns), the Configure data with secrets masked, notification retry,
and auth + CSRF on every new state-changing route."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from connectors.prestashop import create_demo_shop
from core.config import Connection, Notify, Profile
from heartbeat.services.connections import ConnectionManager
from heartbeat.services.settings import Settings
from heartbeat.services.tasks import TaskManager
from tasks.stores.outbox import Subscriptions
from tests.helpers import (
    PRESTASHOP_PRODUCT_HEADERS,
    execute,
    import_config,
    make_heartbeat,
    make_store,
    prestashop_row,
    write_csv,
)
from tests.web import PASSWORD, TOKEN, csrf_of, make_app, make_tasks

BEARER = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "s3cr3t-Pa55"


@pytest.fixture
def tasks(tmp_path, db_url, clock):
    tasks = make_tasks(tmp_path, db_url, clock)
    connections = {
        **tasks.config.connections,
        "remote_shop": Connection("remote_shop", "prestashop", {
            "url": f"mysql+pymysql://shop:{SECRET}@127.0.0.1:1/shop", "prefix": "ps_", "id_shop": 1,
            "id_lang": 1}),
        "platform": Connection("platform", "http", {
            "url": f"https://127.0.0.1:1/imports?token={SECRET}", "method": "PUT", "connect_timeout": 2.0}),
        "exports": Connection("exports", "directory", {"path": tmp_path / "data" / "exports"}),
    }
    hook = Notify(name="hook", url=f"https://hooks.example.com/services/{SECRET}", secret=SECRET)
    tasks.config = dataclasses.replace(tasks.config, connections=connections, notify=(hook,))
    return tasks


@pytest.fixture
def client(tasks, clock):
    with TestClient(make_app(tasks, clock), follow_redirects=False) as c:
        yield c


def shop_url(tasks) -> str:
    return tasks.config.connections["shop"].options["url"]


def sent(tasks):
    """The export profile run to its end once: every product is tracked as sent."""
    task = tasks.queue("catalogue")
    tasks.beat.run_until_idle()
    assert tasks.show(task.id).status == "completed"


# -- connections ----------------------------------------------------------------------------------

def test_connections_are_listed_with_where_they_point_and_no_secret(client, tasks):
    answer = client.get("/api/connections", headers=BEARER)
    assert answer.status_code == 200
    rows = {c["name"]: c for c in answer.json()}
    assert rows["shop"]["type"] == "prestashop" and rows["shop"]["profiles"] == ["catalogue", "nightly"]
    assert rows["remote_shop"]["location"] == "mysql+pymysql://shop:***@127.0.0.1:1/shop (prefix ps_, shop 1)"
    assert rows["platform"]["location"] == "PUT https://127.0.0.1:1/imports?…"
    assert SECRET not in answer.text
    assert ConnectionManager(tasks).list() == answer.json()  # the CLI's `connections list --json`


def test_stats_count_the_pending_changes_exactly_at_the_request(client, tasks):
    sent(tasks)
    execute(shop_url(tasks), "UPDATE ps_product SET price = price + 1 WHERE id_product <= 7",
            "UPDATE ps_product_shop SET price = price + 1 WHERE id_product <= 7",
            "DELETE FROM ps_product WHERE id_product = 40")
    answer = client.get("/api/connections/shop/stats", headers=BEARER)
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["connection"] == "shop"
    catalogue = next(p for p in doc["profiles"] if p["profile"] == "catalogue")
    assert {k: catalogue[k] for k in ("new", "changed", "deleted", "unchanged", "invalid")} == {
        "new": 0, "changed": 7, "deleted": 1, "unchanged": 32, "invalid": 0}
    nightly = next(p for p in doc["profiles"] if p["profile"] == "nightly")
    assert nightly["new"] == 39  # never sent by that profile: every product still there is new
    execute(shop_url(tasks), "UPDATE ps_product SET price = price + 1 WHERE id_product = 8",
            "UPDATE ps_product_shop SET price = price + 1 WHERE id_product = 8")
    again = client.get("/api/connections/shop/stats", headers=BEARER).json()
    assert next(p for p in again["profiles"] if p["profile"] == "catalogue")["changed"] == 8  # no cache


def test_an_import_gives_its_last_feed_rows_and_when_it_changed(tmp_path, db_url, clock):
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_shop(shop, products=10, seed=42)
    feed = tmp_path / "feed.csv"
    write_csv(feed, [PRESTASHOP_PRODUCT_HEADERS, *(prestashop_row(**{
        "Reference #": f"DEMO-{i:06d}", "Price tax excluded": "9.99", "Quantity": "3"}) for i in (1, 2, 3))])
    config = import_config(tmp_path, db_url, shop, {"path": str(feed)})
    beat = make_heartbeat(config, clock)
    tasks = TaskManager(config, beat.store, clock)
    manager = ConnectionManager(tasks)
    name = config.profiles[0].name
    assert manager.stats(config.profiles[0].source)["profiles"][0] == {
        "profile": name, "kind": "import", "rows": None, "changed_at": None, "task": None}
    first = tasks.queue(name)
    beat.run_until_idle()
    row = manager.stats(config.profiles[0].source)["profiles"][0]
    assert (row["rows"], row["task"], row["read_by_task"]) == (3, first.id, first.id)
    assert row["changed_at"] == tasks.show(first.id).to_json()["started_at"]


def test_a_check_says_reachable_or_why_not(client, tasks):
    assert client.post("/api/connections/shop/check", headers=BEARER).json()["reachable"] is True
    assert client.post("/api/connections/exports/check", headers=BEARER).json()["reachable"] is True
    down = client.post("/api/connections/remote_shop/check", headers=BEARER)
    assert down.status_code == 200 and down.json()["reachable"] is False
    assert down.json()["error"].startswith("connection remote_shop: cannot connect to mysql+pymysql://shop:***@")
    assert SECRET not in down.text
    target = client.post("/api/connections/platform/check", headers=BEARER).json()
    assert target["reachable"] is False and target["error"].startswith("cannot connect to 127.0.0.1:1: ")
    missing = client.post("/api/connections/nowhere/check", headers=BEARER)
    assert missing.status_code == 404
    assert missing.json() == {"error": "connection 'nowhere' not found; known connections: "
                                       "shop, remote_shop, platform, exports"}


# -- the maintenance tab --------------------------------------------------------------------------

def test_maintenance_tab_analysis_fix_and_undo_over_the_api(client, tasks):
    execute(shop_url(tasks), "UPDATE ps_product SET reference = ' ' || reference || ' ' WHERE id_product = 3")
    analysis = client.post("/api/connections/shop/maintenance", headers=BEARER,
                           json={"operation": "analyze-integrity", "scope": "products"})
    assert analysis.status_code == 201
    assert analysis.headers["location"] == f"/api/tasks/{analysis.json()['id']}"
    tasks.beat.run_until_idle()
    result = client.get(f"/api/tasks/{analysis.json()['id']}/result", headers=BEARER).json()
    assert sum(p["count"] for p in result["patterns"].values()) == 1
    fix = client.post("/api/connections/shop/maintenance", headers=BEARER,
                      json={"operation": "fix-integrity", "scope": "products"}).json()
    tasks.beat.run_until_idle()
    assert reference(tasks, 3).startswith("DEMO")
    preview = client.get(f"/api/tasks/{fix['id']}/undo", headers=BEARER).json()
    assert [c["key"] for c in preview["changes"]] == [{"id_product": 3}]
    assert preview["changes"][0]["before"]["reference"].startswith(" ")
    undone = client.post(f"/api/tasks/{fix['id']}/undo", headers=BEARER)
    assert undone.status_code == 200 and undone.json()["restored"] == 1 and undone.json()["id"] == fix["id"]
    assert reference(tasks, 3).startswith(" ")
    again = client.post(f"/api/tasks/{fix['id']}/undo", headers=BEARER)
    assert (again.status_code, again.json()) == (409, {"error": f"task {fix['id']} was undone already"})
    refused = client.post(f"/api/tasks/{analysis.json()['id']}/undo", headers=BEARER)
    assert refused.status_code == 409 and "there is nothing to undo" in refused.json()["error"]


def reference(tasks, product_id: int) -> str:
    engine = sa.create_engine(shop_url(tasks))
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT reference FROM ps_product WHERE id_product = :i"),
                             {"i": product_id}).scalar()
    engine.dispose()
    return value


@pytest.mark.parametrize("body, status, error", [
    ({"operation": "fix-everything"}, 400, "operation: expected one of analyze-integrity, "
     "analyze-repeated-ids, fix-integrity, fix-orphans, fix-linkeds, fix-stats, fix-repeated-ids for scope "
     "products, got 'fix-everything'"),
    ({"operation": "fix-linkeds", "scope": "orders"}, 400, "operation: expected one of analyze-integrity, "
     "fix-integrity, fix-orphans, fix-stats for scope orders, got 'fix-linkeds'"),
    ({"operation": "fix-stats", "scope": "customers"}, 400,
     "scope: expected one of products, orders, got 'customers'"),
    (["fix-stats"], 400, 'body: expected a JSON object {"operation": ..., "scope": ...}'),
])
def test_a_bad_maintenance_request_is_400_naming_the_value(client, body, status, error):
    answer = client.post("/api/connections/shop/maintenance", headers=BEARER, json=body)
    assert (answer.status_code, answer.json()) == (status, {"error": error})


def test_maintenance_on_an_unknown_or_non_shop_connection_is_refused(client):
    assert client.post("/api/connections/nowhere/maintenance", headers=BEARER,
                       json={"operation": "fix-stats"}).status_code == 404
    answer = client.post("/api/connections/exports/maintenance", headers=BEARER,
                         json={"operation": "fix-stats"})
    assert answer.status_code == 409
    assert answer.json()["error"].startswith("no prestashop connection named 'exports'")


# -- pause and resume -----------------------------------------------------------------------------

def test_a_paused_profile_creates_no_slot_and_misses_none_and_resumes_at_its_next_slot(client, tasks, clock):
    beat = tasks.beat
    beat.tick(clock.now())  # records nightly's first slot: 02:30 tomorrow
    paused = client.post("/api/profiles/nightly/pause", headers=BEARER)
    assert paused.status_code == 200 and paused.json()["paused"] is True and paused.json()["next_run"] is None
    for _ in range(3):  # three nights pass
        beat.tick(clock.advance(86400))
    assert tasks.list(profile="nightly") == []
    manual = tasks.queue("nightly")  # Run now still works while paused
    beat.run_until_idle()
    assert tasks.show(manual.id).status == "completed"
    resumed = client.post("/api/profiles/nightly/resume", headers=BEARER)
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    beat.tick(clock.now())
    assert [t.id for t in tasks.list(profile="nightly")] == [manual.id]  # no catch-up of the paused nights
    beat.tick(clock.advance(86400))
    scheduled = [t for t in tasks.list(profile="nightly") if t.trigger == "schedule"]
    assert len(scheduled) == 1 and "coalesced" not in " ".join(tasks.log(scheduled[0].id))


def test_a_pause_lives_in_the_state_database_and_survives_a_restart(tasks, db_url):
    tasks.pause("nightly")
    again = TaskManager(tasks.config, make_store(db_url), tasks.clock)  # a new process, say
    assert {p["name"]: p["paused"] for p in again.profiles()} == {"catalogue": False, "nightly": True}


def test_pause_and_resume_refusals(client):
    assert client.post("/api/profiles/nightly/resume", headers=BEARER).json() == {
        "error": "profile nightly is not paused"}
    client.post("/api/profiles/nightly/pause", headers=BEARER)
    twice = client.post("/api/profiles/nightly/pause", headers=BEARER)
    assert (twice.status_code, twice.json()) == (409, {"error": "profile nightly is paused already"})
    missing = client.post("/api/profiles/nope/pause", headers=BEARER)
    assert missing.status_code == 404 and missing.json()["error"].startswith("profile 'nope' not found")


def test_a_slot_is_not_created_for_a_profile_paused_after_the_schedule_was_read(tasks, clock):
    """The store refuses the slot itself: a daemon that read the schedule just before a pause
    (another process) does not create a task for it."""
    beat, store = tasks.beat, tasks.beat.store
    beat.tick(clock.now())
    key, slot = store.schedule_state("nightly")
    tasks.pause("nightly")
    store.set_schedule("nightly", key, slot, clock.now())  # as read before the pause
    profile = tasks.config.profile("nightly")
    created = store.create_scheduled(profile, key, slot, slot, slot + timedelta(days=1), clock.now(), None)
    assert created is None


def test_the_profile_twin_has_the_next_five_runs(client, tasks, clock):
    tasks.beat.tick(clock.now())
    doc = client.get("/api/profiles/nightly", headers=BEARER).json()
    assert doc["next_runs"] == [f"2026-11-{day:02d}T02:30:00Z" for day in range(3, 8)]
    assert client.get("/api/profiles/catalogue", headers=BEARER).json()["next_runs"] == []


# -- configure ------------------------------------------------------------------------------------

def test_configure_shows_the_effective_config_with_every_secret_masked(client, tasks):
    answer = client.get("/api/configure", headers=BEARER)
    assert answer.status_code == 200 and SECRET not in answer.text
    doc = answer.json()
    assert doc["check"]["ok"] is False  # the test's config exists in memory only: the file is not there
    assert doc["config"]["notify"][0]["url"] == "https://hooks.example.com/…"
    assert doc["config"]["notify"][0]["secret"] == "***"
    assert [c["name"] for c in doc["config"]["connections"]] == ["shop", "remote_shop", "platform", "exports"]
    assert doc["daemons"] == [] and doc["deliveries"] == [] and doc["notifications"] == []


def test_a_given_up_notification_is_retried(client, tasks):
    failed = _given_up(tasks)
    answer = client.post(f"/api/notifications/{failed}/retry", headers=BEARER)
    assert answer.status_code == 200
    doc = answer.json()
    assert (doc["status"], doc["attempts"], doc["last_error"]) == ("pending", 0, "refused")
    assert tasks.store.outbox.due(tasks.clock.now())[0].id == failed  # the sender's next round takes it
    [entry] = [e for e in tasks.audit.list() if e.action == "notification.retry"]  # who asked for it
    assert (entry.target, entry.actor, entry.via) == (f"notification:{failed}", "HEARTBEAT_API_TOKEN", "api")
    assert client.post("/api/notifications/999/retry", headers=BEARER).status_code == 404
    tasks.store.outbox.delivered(failed, tasks.clock.now())
    done = client.post(f"/api/notifications/{failed}/retry", headers=BEARER)
    why = f"notification {failed} was delivered; there is nothing to retry"
    assert (done.status_code, done.json()) == (409, {"error": why})


def _given_up(tasks) -> int:
    """The hook's notification of a task that ended in error (its shop refuses connections),
    given up after one failed attempt."""
    remote = Profile(name="remote", kind="export", source="remote_shop", batch_size=10,
                     options={"entity": "products", "full": False, "allow_empty": False})
    tasks.config = dataclasses.replace(tasks.config, profiles=(*tasks.config.profiles, remote))
    tasks.store.notify = Subscriptions.of(tasks.config.notify)
    tasks.beat.reload(tasks.config)
    task = tasks.queue("remote")
    tasks.beat.run_until_idle()
    assert tasks.show(task.id).status == "error"
    (delivery,) = tasks.store.outbox.list()
    now = tasks.clock.now()
    taken = tasks.store.outbox.take(delivery.id, now, now + timedelta(seconds=10))
    tasks.store.outbox.failed(taken.id, "refused", None)
    assert tasks.store.outbox.list()[0].status == "failed"
    return delivery.id


def test_configure_verbs_read_the_registry(tasks):
    settings = Settings(tasks)
    assert settings.daemons() == []


# -- auth and CSRF on every new state-changing route ------------------------------------------------

NEW_POSTS = ["/api/connections/shop/check", "/api/connections/shop/maintenance", "/api/tasks/1/undo",
             "/api/tasks/1/deliver", "/api/profiles/nightly/pause", "/api/profiles/nightly/resume",
             "/api/notifications/1/retry"]
NEW_FORMS = ["/connections/shop/check", "/connections/shop/maintenance", "/tasks/1/undo", "/tasks/1/deliver",
             "/profiles/nightly/pause", "/profiles/nightly/resume", "/notifications/1/retry"]


def test_every_new_api_action_needs_a_login_or_the_token(client):
    for path in NEW_POSTS:
        assert client.post(path).status_code == 401, path
        wrong = {"Authorization": "Bearer wrong-token-0123456789"}
        assert client.post(path, headers=wrong).status_code == 401


def test_every_new_action_of_a_session_needs_its_csrf_token(client, tasks):
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "password": PASSWORD, "next": "/"})
    for path in NEW_FORMS + NEW_POSTS:
        answer = client.post(path, data={"operation": "fix-stats"})
        assert answer.status_code == 403 and "CSRF" in answer.text, path
        assert client.post(path, data={"csrf": csrf_of(client.get("/").text)},
                           headers={"Origin": "https://evil.example"}).status_code == 403, path
    assert tasks.list() == [] and not tasks.profile("nightly")["paused"]  # nothing was done


def test_the_pages_answer_and_mask_secrets(client, tasks):
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "password": PASSWORD, "next": "/"})
    for path in ("/connections", "/connections/shop", "/connections/shop/maintenance", "/configure",
                 "/connections/shop/maintenance/confirm?operation=fix-stats&scope=products", "/profiles"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert SECRET not in answer.text
    assert client.get("/connections/nowhere").status_code == 404
    assert client.get("/connections/shop/maintenance/confirm?operation=analyze-integrity").status_code == 400
