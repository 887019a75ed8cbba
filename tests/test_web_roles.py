"""Roles on every route, named users, revocable sessions, per-user tokens, the audit trail and the
timeline over HTTP, in process (Starlette's TestClient), on SQLite and MariaDB.

The role table (heartbeat/web/roles.py) is checked from both sides: every route the application
declares has a role (a new route without one fails here), and every route x role answers 403 with
the reason exactly when the role is below the route's."""

from __future__ import annotations

import re

import pytest
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from core.actor import Actor, Role
from heartbeat.services.users import UserManager, hash_password
from heartbeat.web import roles
from heartbeat.web.app import create_app
from heartbeat.web.guard import OPEN_PATHS
from tests import web
from tests.web import PASSWORD, PASSWORD_HASH, TOKEN, csrf_of, make_app, make_tasks

ADMIN_TOKEN = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "a long enough password"
SECRET_HASH = hash_password(SECRET)
ME = Actor("test", "cli")


@pytest.fixture
def tasks(tmp_path, db_url, clock):
    return make_tasks(tmp_path, db_url, clock)


@pytest.fixture
def users(tasks, clock):
    users = UserManager(tasks.store.users, tasks.audit, clock, PASSWORD_HASH, tasks.config.web)
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("ada", "admin"), ("target", "viewer")):
        tasks.store.users.add(name, role, SECRET_HASH, clock.now())  # argon2 is slow on purpose: hash once
    return users


@pytest.fixture
def app(tasks, clock, users):
    return make_app(tasks, clock)


def client_of(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def log_in(client, name: str, password: str = SECRET) -> str:
    """Logs in as `name` (blank: the [web] password); returns the session's CSRF token."""
    return web.log_in(client, name, password)


def concrete(path: str, task_id: int) -> str:
    return (path.replace("{task_id:int}", str(task_id)).replace("{name}", "target")
            .replace("{label}", "ci").replace("{delivery_id:int}", "1").replace("{row_id:int}", "1")
            .replace("{product_id:int}", "1").replace("{column}", "google"))


# -- the table ---------------------------------------------------------------------------------------

def test_every_route_of_the_application_has_a_role(app):
    declared = {(method, route.path) for route in app.app.routes
                for method in (route.methods or ()) - {"HEAD"}}
    assert declared - roles.ROLES.keys() == set(), "add these routes to heartbeat/web/roles.py"
    served_apart = {("GET", path) for path in OPEN_PATHS}  # by `heartbeat web` and `run` (operations.py)
    assert roles.ROLES.keys() - declared - served_apart == set(), "roles.py names routes no longer served"


def test_the_pages_find_each_route_of_a_url_as_the_router_does(app):
    """What a page asks before it shows a control (roles.permits, the templates' can()) resolves a
    concrete URL to the same route as the guard, for every route of the table."""
    for (method, path), needed in roles.ROLES.items():
        url = concrete(path, 12)
        assert roles.declared(method, url + "?next=/") == path, (method, url)
        if path not in OPEN_PATHS:
            assert roles.route_of(app.app.routes, method, url) == path, (method, url)
        for role in Role:
            mine = Actor("someone", "web", role)
            assert roles.permits(mine, method, url) == roles.permits(mine, method, path) == (
                needed is roles.PUBLIC or role >= needed), (method, path, role)
    assert not roles.permits(Actor("ada", "web", Role.admin), "POST", "/tasks/12/explode")  # no such route
    assert not roles.permits(None, "GET", "/tasks/12")  # nobody logged in
    assert roles.permits(None, "GET", "/login")


def test_a_route_without_a_role_is_refused_to_everybody(tasks, clock, users):
    extra = [Route("/api/brand-new", lambda request: Response("should not be reached"))]
    app = create_app(tasks, password_hash=PASSWORD_HASH, api_token=TOKEN, secret_key=b"k" * 32, clock=clock,
                     operations_routes=extra)
    answer = client_of(app).get("/api/brand-new", headers=ADMIN_TOKEN)
    assert answer.status_code == 403
    assert answer.json() == {"error": "no role is set for GET /api/brand-new (heartbeat/web/roles.py); "
                                      "refused to everybody"}


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_route_answers_403_with_the_reason_exactly_below_its_role(app, tasks, users, role):
    """Each role logged in on the page, every route of the table, in the table's order."""
    name = {"viewer": "vera", "operator": "otto", "admin": "ada"}[role]
    users.new_token("target", ME, "ci")
    task = tasks.queue("catalogue")
    mine = Role[role]
    with client_of(app) as client:
        csrf = log_in(client, name)
        for (method, path), needed in roles.ROLES.items():
            if needed is roles.PUBLIC or path == "/logout":
                continue
            answer = client.request(method, concrete(path, task.id), headers={"X-CSRF-Token": csrf},
                                    data={"role": "viewer", "password": SECRET, "name": "someone-new"})
            where = f"{method} {path} as {role}"
            if mine < needed:
                assert answer.status_code == 403, where
                a = "an" if role[0] in "aeiou" else "a"
                assert f"{name} is {a} {role}; this needs the {needed.name} role" in answer.text, where
            else:
                assert answer.status_code not in (401, 403), (where, answer.status_code, answer.text[:200])
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303


def test_public_routes_need_no_login(app):
    with client_of(app) as client:
        for path in ("/login", "/static/app.css"):
            assert client.get(path).status_code == 200, path


# -- tokens --------------------------------------------------------------------------------------------

def test_a_users_token_acts_as_that_user_with_their_role(app, tasks, users):
    _, viewer = users.new_token("vera", ME)
    _, operator = users.new_token("otto", ME, "robot")
    task = tasks.queue("catalogue")
    with client_of(app) as client:
        assert client.get("/api/tasks", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
        refused = client.post(f"/api/tasks/{task.id}/kill", headers={"Authorization": f"Bearer {viewer}"})
        assert refused.status_code == 403
        assert refused.json() == {"error": "vera is a viewer; this needs the operator role"}
        killed = client.post(f"/api/tasks/{task.id}/kill", headers={"Authorization": f"Bearer {operator}"})
        assert killed.status_code == 200 and killed.json()["status"] == "killed"
        users.revoke("otto", "robot", ME)
        assert client.get("/api/tasks", headers={"Authorization": f"Bearer {operator}"}).status_code == 401
    entry = next(e for e in tasks.audit.list() if e.action == "task.kill")
    assert (entry.actor, entry.via, entry.action) == ("otto", "api", "task.kill")
    assert entry.target == f"task:{task.id}"
    assert entry.detail.startswith("token robot") and entry.address == "testclient"
    assert "killed by otto (api, token robot, testclient)" in "".join(tasks.log(task.id))
    assert [t.label for t in users.tokens("vera")] == ["token-1"]
    stored = tasks.store.users.token_owner("x", tasks.clock.now())
    assert stored is None  # unknown tokens are nobody's


def test_the_environment_token_acts_as_an_admin(app, tasks):
    task = tasks.queue("catalogue")
    with client_of(app) as client:
        assert client.delete(f"/api/tasks/{task.id}", headers=ADMIN_TOKEN).status_code == 204
    entry = tasks.audit.list(1)[0]
    assert (entry.actor, entry.via, entry.action) == ("HEARTBEAT_API_TOKEN", "api", "task.delete")


# -- sessions ------------------------------------------------------------------------------------------

def test_a_session_cookie_copied_before_logout_no_longer_works(app):
    with client_of(app) as client:
        csrf = log_in(client, "vera")
        copied = dict(client.cookies)
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with client_of(app) as thief:
        thief.cookies.update(copied)
        assert thief.get("/").status_code == 303  # to /login
        assert thief.get("/api/tasks").status_code == 401


def test_user_logout_ends_every_session_of_that_user_only(app, users):
    with client_of(app) as one, client_of(app) as two, client_of(app) as other:
        log_in(one, "vera")
        log_in(two, "vera")
        log_in(other, "otto")
        assert users.logout("vera", ME) == 2
        assert one.get("/").status_code == 303 and two.get("/").status_code == 303
        assert other.get("/").status_code == 200


def test_a_session_ends_after_session_idle_without_a_request(app, clock):
    with client_of(app) as client:
        log_in(client, "vera")
        clock.advance(11 * 3600)
        assert client.get("/").status_code == 200  # a request: idle time starts again
        clock.advance(11 * 3600)
        assert client.get("/").status_code == 200
        clock.advance(12 * 3600 + 1)
        assert client.get("/").status_code == 303


def test_a_password_or_role_change_ends_the_users_other_sessions(app, users):
    with client_of(app) as admin, client_of(app) as vera:
        csrf = log_in(admin, "ada")
        log_in(vera, "vera")
        vera_csrf = csrf_of(vera.get("/").text)
        assert vera.post("/tasks/1/kill", headers={"X-CSRF-Token": vera_csrf}).status_code == 403
        changed = admin.post("/users/vera/role", data={"csrf": csrf, "role": "operator"})
        assert changed.status_code == 303
        assert vera.get("/").status_code == 303  # logged out by the change
        log_in(vera, "vera")
        assert "otto" not in vera.get("/").text and "vera · operator" in vera.get("/").text
        admin.post("/users/ada/password", data={"csrf": csrf, "password": "another long password"})
        assert admin.get("/").status_code == 200  # the session making the change stays
        with client_of(app) as again:
            page = again.get("/login")
            wrong = again.post("/login", data={"csrf": csrf_of(page.text), "name": "ada", "password": SECRET})
            assert wrong.status_code == 401


def test_the_config_password_logs_in_as_admin(app, tasks):
    with client_of(app) as client:
        csrf = log_in(client, "", PASSWORD)
        assert "admin · admin" in client.get("/").text
        task = tasks.queue("catalogue")
        client.post(f"/tasks/{task.id}/kill", data={"csrf": csrf})
    assert tasks.audit.list(1)[0].actor == "admin"
    assert "killed by admin (web, testclient)" in "".join(tasks.log(task.id))


# -- the users API, the audit trail and the timeline ------------------------------------------------

def test_users_api_adds_lists_and_removes_without_showing_hashes(app):
    with client_of(app) as client:
        added = client.post("/api/users", headers=ADMIN_TOKEN, json={"name": "nina", "role": "operator",
                                                                    "password": SECRET})
        assert added.status_code == 201 and added.json()["role"] == "operator"
        assert client.post("/api/users", headers=ADMIN_TOKEN,
                           json={"name": "nina", "role": "operator", "password": SECRET}).status_code == 409
        bad = client.post("/api/users", headers=ADMIN_TOKEN,
                          json={"name": "x", "role": "boss", "password": SECRET})
        assert bad.status_code == 400
        assert "role: expected one of viewer, operator, admin" in bad.json()["error"]
        listed = client.get("/api/users", headers=ADMIN_TOKEN)
        assert "argon2" not in listed.text and "nina" in [u["name"] for u in listed.json()]
        assert client.delete("/api/users/nina", headers=ADMIN_TOKEN).status_code == 204
        assert client.delete("/api/users/nina", headers=ADMIN_TOKEN).status_code == 404


def test_the_audit_api_pages_newest_first_in_the_spec_shape(app, tasks):
    ids = []
    for _ in range(3):  # the same run cannot be queued twice while one is pending: kill each
        ids.append(tasks.queue("catalogue").id)
        tasks.kill(ids[-1])
    with client_of(app) as client:
        page = client.get("/api/audit?limit=2", headers=ADMIN_TOKEN)
        entries = page.json()
        assert [e["target"] for e in entries] == [f"task:{ids[2]}", "profile:catalogue"]
        assert set(entries[0]) == {"id", "at", "actor", "via", "address", "action", "target", "detail"}
        assert entries[1]["detail"] == f"task {ids[2]}"
        assert page.headers["link"] == f'</api/audit?before={entries[1]["id"]}&limit=2>; rel="next"'
        assert client.get("/api/audit?limit=0", headers=ADMIN_TOKEN).status_code == 400


def test_the_timeline_api_and_the_tasks_pages_svg(app, tasks, clock):
    task = tasks.queue("catalogue")
    tasks.beat.run_until_idle()
    with client_of(app) as client:
        lanes = client.get("/api/timeline?hours=24", headers=ADMIN_TOKEN).json()
        assert [lane["profile"] for lane in lanes] == ["catalogue", "nightly"]
        assert lanes[0]["tasks"][0]["id"] == task.id and lanes[0]["tasks"][0]["status"] == "completed"
        assert set(lanes[0]["tasks"][0]) == {"id", "status", "started_at", "finished_at", "progress"}
        for bad in ("0", "abc", "10000"):
            assert client.get(f"/api/timeline?hours={bad}", headers=ADMIN_TOKEN).status_code == 400
        log_in(client, "vera")
        page = client.get("/").text
        bar = re.search(rf'<rect [^>]*data-task="{task.id}"[^>]*><title>([^<]*)</title>', page)
        assert bar and "completed" in bar[1] and "Processed 40" in bar[1]
        clock.advance(25 * 3600)
        assert client.get("/api/timeline?hours=24", headers=ADMIN_TOKEN).json()[0]["tasks"] == []
