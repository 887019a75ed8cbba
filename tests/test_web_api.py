"""The web page and its API over HTTP, in process (Starlette's TestClient), on SQLite and MariaDB:
every route, every refusal, every auth rule (no login, wrong token, missing CSRF token, cross-site
POST), downloads equal to the CLI's streams, escaping and security headers."""

from __future__ import annotations

import json
from datetime import timedelta
from html import escape

import pytest
from starlette.testclient import TestClient

from heartbeat.web.guard import CSP
from tasks.models import QueueEntry
from tests.web import PASSWORD, TOKEN, csrf_of, make_app, make_tasks

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def tasks(tmp_path, db_url, clock):
    return make_tasks(tmp_path, db_url, clock)


@pytest.fixture
def client(tasks, clock):
    with TestClient(make_app(tasks, clock), follow_redirects=False) as c:
        yield c


def done(tasks, **options):
    """A task of the export profile, queued and run to its end."""
    task = tasks.queue("catalogue", **options)
    tasks.beat.run_until_idle()
    return tasks.show(task.id)


def log_in(client) -> str:
    """Logs the client in; returns the session's CSRF token."""
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": csrf_of(page.text), "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return csrf_of(client.get("/").text)


# -- the API with the bearer token ------------------------------------------------------------------

def test_api_lists_tasks_newest_first_with_the_cli_fields(client, tasks):
    first, second = done(tasks), tasks.queue("nightly")
    answer = client.get("/api/tasks", headers=BEARER)
    assert answer.status_code == 200 and "set-cookie" not in answer.headers  # bearer requests get no cookie
    assert answer.json() == [second.to_json(), first.to_json()]  # exactly `tasks list --json`


def test_api_list_filters_and_keyset_cursor(client, tasks):
    now, catalogue = tasks.clock.now(), tasks.config.profile("catalogue")
    ids = [tasks.store.create(catalogue, "manual", now, now).id for _ in range(5)]  # five clicks at once
    ids.append(tasks.queue("nightly").id)
    page = client.get("/api/tasks?limit=2&profile=catalogue", headers=BEARER)
    assert [t["id"] for t in page.json()] == ids[4:2:-1]
    assert page.headers["link"] == f'</api/tasks?profile=catalogue&before={ids[3]}&limit=2>; rel="next"'
    older = client.get(f"/api/tasks?limit=2&profile=catalogue&before={ids[3]}", headers=BEARER).json()
    assert [t["id"] for t in older] == [ids[2], ids[1]]
    last = client.get(f"/api/tasks?limit=2&profile=catalogue&before={ids[1]}", headers=BEARER)
    assert [t["id"] for t in last.json()] == [ids[0]] and "link" not in last.headers
    pending = client.get("/api/tasks?status=pending&kind=export", headers=BEARER).json()
    assert [t["id"] for t in pending] == ids[::-1]
    assert client.get("/api/tasks?kind=import", headers=BEARER).json() == []


@pytest.mark.parametrize("query, why", [
    ("status=finished",
     "status: expected one of pending, missed, running, completed, killed, error, got 'finished'"),
    ("kind=sync", "kind: expected one of export, import, maintenance, got 'sync'"),
    ("before=-3", "before: expected a whole number from 1 to 2147483647, got '-3'"),
    ("limit=ten", "limit: expected a whole number from 1 to 2147483647, got 'ten'"),
    ("before=2147483648", "before: expected a whole number from 1 to 2147483647, got '2147483648'"),
])
def test_api_refuses_a_bad_filter_with_400_naming_it(client, query, why):
    answer = client.get(f"/api/tasks?{query}", headers=BEARER)
    assert (answer.status_code, answer.json()) == (400, {"error": why})


def test_api_shows_a_task_and_404_names_an_unknown_one(client, tasks):
    task = done(tasks)
    assert client.get(f"/api/tasks/{task.id}", headers=BEARER).json() == {**task.to_json(), "delivery": None}
    answer = client.get("/api/tasks/999999", headers=BEARER)
    assert (answer.status_code, answer.json()) == (404, {"error": "task 999999 not found"})


def test_api_kill_answers_the_killed_task_then_409(client, tasks):
    task = tasks.queue("catalogue")
    answer = client.post(f"/api/tasks/{task.id}/kill", headers=BEARER)
    assert answer.status_code == 200 and answer.json() == tasks.show(task.id).to_json()
    assert answer.json()["status"] == "killed"
    again = client.post(f"/api/tasks/{task.id}/kill", headers=BEARER)
    assert again.status_code == 409 and again.json()["error"].startswith(f"task {task.id} is killed")
    assert client.post("/api/tasks/999999/kill", headers=BEARER).status_code == 404


def test_api_delete_answers_204_and_the_task_is_gone(client, tasks):
    task = done(tasks)
    assert task.export_path
    answer = client.delete(f"/api/tasks/{task.id}", headers=BEARER)
    assert answer.status_code == 204 and answer.content == b""
    assert client.get(f"/api/tasks/{task.id}", headers=BEARER).status_code == 404
    assert client.delete(f"/api/tasks/{task.id}", headers=BEARER).status_code == 404


@pytest.mark.parametrize("what, name, media", [
    ("log", "log.txt", "text/plain; charset=utf-8"), ("report", "report.csv", "text/csv; charset=utf-8"),
    ("export-file", "export.json", "application/json")])
def test_downloads_are_the_cli_streams_as_attachments(client, tasks, what, name, media):
    task = done(tasks)
    verb = {"log": tasks.log, "report": tasks.report, "export-file": tasks.export_file}[what]
    want = b"".join(p.encode() if isinstance(p, str) else p for p in verb(task.id))
    answer = client.get(f"/api/tasks/{task.id}/{what}", headers=BEARER)
    assert answer.status_code == 200 and answer.content == want and len(want) > 100
    assert answer.headers["content-disposition"] == f"attachment; filename=task-{task.id}-{name}"
    assert answer.headers["content-type"] == media


def test_maintenance_result_download_is_the_cli_text(client, tasks):
    task = tasks.run_maintenance("shop", "analyze-integrity")
    tasks.beat.run_until_idle()
    answer = client.get(f"/api/tasks/{task.id}/result", headers=BEARER)
    assert answer.content == tasks.result_text(task.id).encode()
    assert json.loads(answer.content)["operation"] == "analyze-integrity"
    assert answer.headers["content-disposition"] == f"attachment; filename=task-{task.id}-result.json"
    log_in(client)
    page = client.get(f"/tasks/{task.id}").text  # the result as a table
    assert "<th>Pattern</th>" in page and f'href="/api/tasks/{task.id}/result"' in page
    for name, pattern in tasks.result(task.id)["patterns"].items():
        assert f'<td data-label="Pattern">{name}</td><td data-label="Found">{pattern["count"]}</td>' in page


def test_downloads_refuse_what_a_task_does_not_have(client, tasks):
    pending = tasks.queue("catalogue")
    answer = client.get(f"/api/tasks/{pending.id}/export-file", headers=BEARER)
    assert (answer.status_code, answer.json()) == (409, {"error": f"task {pending.id} has no export file yet "
                                                                  "(status pending)"})
    answer = client.get(f"/api/tasks/{pending.id}/result", headers=BEARER)
    assert answer.status_code == 409 and "only maintenance tasks have a result" in answer.json()["error"]
    for what in ("log", "report", "export-file", "result"):
        answer = client.get(f"/api/tasks/424242/{what}", headers=BEARER)
        assert (answer.status_code, answer.json()) == (404, {"error": "task 424242 not found"})


def test_api_profiles_and_run_now(client, tasks):
    assert client.get("/api/profiles", headers=BEARER).json() == tasks.profiles()  # `profiles list --json`
    answer = client.post("/api/profiles/catalogue/run?full=1", headers=BEARER)
    assert answer.status_code == 201
    task = answer.json()
    assert task == tasks.show(task["id"]).to_json() and task["options"] == {"full": True}
    assert answer.headers["location"] == f"/api/tasks/{task['id']}"
    unknown = client.post("/api/profiles/nope/run", headers=BEARER)
    assert unknown.status_code == 404 and unknown.json()["error"].startswith("profile 'nope' not found")
    refused = client.post("/api/profiles/catalogue/run?full=1", headers=BEARER)
    assert (refused.status_code, refused.json()) == (409, {"error": (
        f"the same run of profile catalogue is already pending as task {task['id']}; it starts when the "
        f"profile is free (kill task {task['id']} to queue another)")})


def test_api_profile_stats(client, tasks):
    answer = client.get("/api/profiles/catalogue/stats", headers=BEARER)
    assert answer.status_code == 200 and answer.json()["new"] == 40
    assert client.get("/api/profiles/nope/stats", headers=BEARER).status_code == 404


# -- who gets in ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/tasks"), ("GET", "/api/tasks/1"), ("POST", "/api/tasks/1/kill"), ("DELETE", "/api/tasks/1"),
    ("GET", "/api/tasks/1/report"), ("GET", "/api/profiles"), ("POST", "/api/profiles/catalogue/run")])
def test_api_without_credentials_or_with_a_wrong_token_is_401(client, tasks, method, path):
    tasks.queue("catalogue")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert "error" in answer.json()
    assert tasks.show(1).status == "pending"  # nothing was done


def test_without_a_token_configured_the_api_takes_sessions_only(tasks, clock):
    with TestClient(make_app(tasks, clock, token=None), follow_redirects=False) as client:
        answer = client.get("/api/tasks", headers=BEARER)
        assert answer.status_code == 401
        why = "wrong API token: no user has it (and HEARTBEAT_API_TOKEN is not set)"
        assert answer.json() == {"error": why}
        log_in(client)
        assert client.get("/api/tasks").status_code == 200


def test_the_token_opens_the_api_only(client):
    assert client.get("/", headers=BEARER).status_code == 403


def test_pages_redirect_to_login_and_show_nothing_before(client, tasks):
    task = done(tasks)
    for path in ("/", f"/tasks/{task.id}", "/profiles", f"/tasks/{task.id}/delete", "/tasks/rows"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=" + path
    assert client.get("/?status=completed").headers["location"] == "/login?next=/%3Fstatus%3Dcompleted"
    login = client.get("/login")
    assert 'type="password"' in login.text and "catalogue" not in login.text


def test_login_with_the_password_opens_the_pages_and_the_api(client, tasks):
    task = done(tasks)
    csrf = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf": csrf, "password": "not it", "next": "/profiles"})
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text
    right = client.post("/login", data={"csrf": csrf, "password": PASSWORD, "next": "/profiles"})
    assert (right.status_code, right.headers["location"]) == (303, "/profiles")
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200 and f'href="/tasks/{task.id}"' in page.text
    assert client.get("/api/tasks").json()[0]["id"] == task.id  # a session may read the API
    assert csrf_of(page.text) != csrf  # a new CSRF token at login


def test_login_redirects_only_to_our_own_pages(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        csrf = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"csrf": csrf, "password": PASSWORD, "next": target})
        assert answer.headers["location"] == "/"


def test_logins_are_rate_limited_per_address(client, clock):
    csrf = csrf_of(client.get("/login").text)
    for _ in range(5):
        assert client.post("/login", data={"csrf": csrf, "password": "guess"}).status_code == 401
    limited = client.post("/login", data={"csrf": csrf, "password": PASSWORD})
    assert limited.status_code == 429 and "Too many failed logins: try again in 15 minutes." in limited.text
    assert int(limited.headers["retry-after"]) == 901
    clock.advance(15 * 60)
    assert client.post("/login", data={"csrf": csrf, "password": PASSWORD}).status_code == 303


def test_logout_ends_the_session(client):
    csrf = log_in(client)
    answer = client.post("/logout", data={"csrf": csrf})
    assert answer.status_code == 303 and "Max-Age=0" in answer.headers["set-cookie"]
    assert client.get("/").status_code == 303


def test_a_session_post_needs_the_csrf_token(client, tasks):
    task = tasks.queue("catalogue")
    csrf = log_in(client)
    for data, headers in (({}, {}), ({"csrf": "forged"}, {}), ({}, {"X-CSRF-Token": "forged"})):
        answer = client.post(f"/tasks/{task.id}/kill", data=data, headers=headers)
        assert answer.status_code == 403 and "CSRF" in answer.text
        assert client.post(f"/api/tasks/{task.id}/kill", headers=headers).status_code == 403
        assert client.delete(f"/api/tasks/{task.id}", headers=headers).status_code == 403
    assert tasks.show(task.id).status == "pending"
    answer = client.post(f"/api/tasks/{task.id}/kill", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and answer.json()["status"] == "killed"


def test_a_cross_site_post_is_refused_even_with_the_token(client, tasks):
    task = tasks.queue("catalogue")
    csrf = log_in(client)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        answer = client.post(f"/tasks/{task.id}/kill", data={"csrf": csrf}, headers=headers)
        assert answer.status_code == 403 and "cross-site request refused" in answer.text
    assert tasks.show(task.id).status == "pending"
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/tasks/{task.id}/kill", data={"csrf": csrf}, headers=same).status_code == 303
    assert tasks.show(task.id).status == "killed"


def test_login_itself_needs_the_csrf_token(client):
    client.get("/login")
    assert client.post("/login", data={"password": PASSWORD}).status_code == 403


def test_operations_paths_and_static_files_need_no_login(client):
    for path in ("/metrics", "/livez", "/readyz"):
        assert client.get(path).status_code == 404  # let through; the operations branch serves them
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for path in ("/static/..%2F..%2Fpyproject.toml", "/static/nope.js", "/static/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code == 404


def test_without_a_password_the_page_is_open_but_posts_still_need_csrf(tasks, clock):
    task = tasks.queue("catalogue")
    with TestClient(make_app(tasks, clock, password_hash=None), follow_redirects=False) as client:
        page = client.get("/")
        assert page.status_code == 200 and "Log out" not in page.text
        assert client.post(f"/tasks/{task.id}/kill").status_code == 403
        assert client.post(f"/tasks/{task.id}/kill", data={"csrf": csrf_of(page.text)}).status_code == 303
        assert client.get("/login").headers["location"] == "/"


def test_every_answer_has_the_security_headers(client, tasks):
    task = done(tasks)
    log_in(client)
    for answer in (client.get("/"), client.get("/login"), client.get("/api/tasks/77"),
                   client.get(f"/api/tasks/{task.id}/report"), client.get("/static/app.js"),
                   client.get("/api/tasks", headers={"Authorization": "Bearer x"}), client.get("/tasks/77")):
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP


# -- the pages --------------------------------------------------------------------------------------

def test_tasks_page_shows_the_seed_columns_filters_and_pages(client, tasks):
    now, nightly = tasks.clock.now(), tasks.config.profile("nightly")
    ids = [done(tasks).id] + [tasks.store.create(nightly, "schedule", now, now).id for _ in range(3)]
    log_in(client)
    page = client.get("/").text
    columns = ("ID", "Profile", "Kind", "Status", "Progress", "Scheduled At", "Started At", "Finished At")
    for column in columns:
        assert f"<th>{column}</th>" in page
    for word in ("Pending", "Processed", "Skipped", "Cancelled", "Error"):  # the progress tooltip
        assert f"<dt>{word}</dt>" in page
    assert 'data-active="1"' in page  # something is pending: app.js refreshes
    assert f'href="/api/tasks/{ids[0]}/export-file"' in page and f'action="/tasks/{ids[1]}/kill"' in page
    assert f'action="/tasks/{ids[0]}/kill"' not in page  # completed: no Kill
    two = client.get("/?limit=2").text
    assert f'id="task-{ids[3]}"' in two and f'id="task-{ids[1]}"' not in two
    assert f'href="/?before={ids[2]}&amp;limit=2"' in two
    older = client.get(f"/?before={ids[2]}&limit=2").text
    assert f'id="task-{ids[1]}"' in older and f'id="task-{ids[0]}"' in older and "Newest" in older
    completed = client.get("/?status=completed").text
    assert f'id="task-{ids[0]}"' in completed and f'id="task-{ids[1]}"' not in completed
    assert 'data-active="0"' in completed
    rows = client.get("/tasks/rows?profile=nightly")
    assert rows.headers["x-active"] == "1" and f'id="task-{ids[0]}"' not in rows.text
    assert client.get("/?status=nope").status_code == 400


def test_task_page_counters_log_and_find_in_report(client, tasks):
    task = done(tasks)
    log_in(client)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Processor" in page.text and "Actions log" in page.text
    assert all(escape(line) in page.text for line in tasks.log_tail(task.id))  # the action log's last lines
    reference = next(tasks.store.items(task.id)).reference
    found = client.get(f"/tasks/{task.id}?find={reference}").text
    assert f"<td data-label=\"Reference\">{reference}</td>" in found
    by_id = client.get(f"/tasks/{task.id}?find=3").text
    assert '<td data-label="Product">3</td>' in by_id
    assert "No product with reference or id" in client.get(f"/tasks/{task.id}?find=NOPE").text
    live = client.get(f"/tasks/{task.id}/live")
    assert live.headers["x-active"] == "0" and "Task" in live.text
    missing = client.get("/tasks/999999")
    assert missing.status_code == 404 and "task 999999 not found" in missing.text


def test_every_value_is_escaped(client, tasks, clock):
    evil = "<script>alert(1)</script>"
    task = tasks.store.create(tasks.config.profile("catalogue"), "manual", clock.now(), clock.now())
    entries = [QueueEntry(1, 0, "REF-1", evil)]
    tasks.store.start(task.id, clock.now(), "test:1:1", None, lambda: iter(entries), lambda _t: None,
                      timedelta(minutes=5))
    log_in(client)
    page = client.get(f"/tasks/{task.id}?find=REF-1").text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    search = client.get(f"/tasks/{task.id}?find=%3Cb%3E").text
    assert "<b>" not in search and "&lt;b&gt;" in search


def test_kill_delete_and_run_now_from_the_pages(client, tasks):
    running = tasks.queue("catalogue")
    tasks.beat.tick()
    assert tasks.show(running.id).status == "running"
    csrf = log_in(client)
    killed = client.post(f"/tasks/{running.id}/kill", data={"csrf": csrf, "next": "/"})
    assert (killed.status_code, killed.headers["location"]) == (303, "/")
    assert tasks.show(running.id).status == "killed"
    assert f"Task {running.id} killed: 30 pending items cancelled." in client.get("/").text
    client.post(f"/tasks/{running.id}/kill", data={"csrf": csrf})
    assert f"task {running.id} is killed" in client.get("/").text  # a refusal is shown, not a crash
    confirm = client.get(f"/tasks/{running.id}/delete?next=/")
    assert confirm.status_code == 200 and f"Delete task {running.id}?" in confirm.text
    assert tasks.show(running.id)  # asking is not deleting
    deleted = client.post(f"/tasks/{running.id}/delete", data={"csrf": csrf, "next": "/"})
    assert deleted.status_code == 303 and f"Task {running.id} deleted." in client.get("/").text
    assert client.get(f"/api/tasks/{running.id}").status_code == 404
    run = client.post("/profiles/catalogue/run", data={"csrf": csrf})
    new = tasks.list(limit=1)[0]
    assert run.headers["location"] == f"/tasks/{new.id}" and new.trigger == "manual"
    assert f"Export profile catalogue: queued task {new.id}." in client.get(run.headers["location"]).text


def test_profiles_page(client, tasks):
    task = done(tasks)
    log_in(client)
    page = client.get("/profiles").text
    assert "every day at 02:30 (UTC)" in page and "<code" in page and "30 2 * * *" in page
    assert f'href="/tasks/{task.id}"' in page and "s-completed" in page
    assert 'data-url="/api/profiles/catalogue/stats"' in page
    assert page.count("Run now") == 2 and "Full export" in page
