"""The HTML pages: tasks (`/`), one task (`/tasks/{id}`), profiles (`/profiles`), login. Thin views
over the task verbs, rendered by Jinja2 with every value escaped. An action (kill, delete, run now)
is a POST form answered by a redirect with a one-line message, so a reload never repeats it; the
fragments `/tasks/rows` and `/tasks/{id}/live` let app.js refresh a page in place."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core.actor import Actor
from core.errors import HeartbeatError
from heartbeat.web import requests, roles, timeline
from heartbeat.web.auth import Sessions
from heartbeat.web.words import schedule_words
from tasks.states import TaskStatus

ACTIVE = (TaskStatus.PENDING, TaskStatus.RUNNING)
LOG_LINES = 30
TIMELINE_HOURS = 24


def render(request: Request, template: str, status: int = 200, headers: dict | None = None,
           **context) -> HTMLResponse:
    """`template` with `context`, the session's CSRF token and flash, who acts, and `can(method,
    path)`: whether the guard lets them use that route (roles.permits), so that a page shows
    only the forms, buttons and links its reader may use."""
    state = request.app.state
    flash = request.session.pop("flash", None)
    actor = request.scope.get("heartbeat.actor")
    return state.templates.TemplateResponse(request, template, {
        "csrf": Sessions.csrf(request.session), "flash": flash, "actor": actor,
        "login_required": actor is not None and actor.via == "web" and "sid" in request.session,
        "can": lambda method, path: roles.permits(actor, method, path),
        "refresh_ms": state.refresh_ms, "asset": state.asset_version, **context,
    }, status_code=status, headers=headers)


def actor(request: Request) -> Actor:
    """Who acts (the guard put them there)."""
    return request.scope["heartbeat.actor"]


def _tasks(request: Request):
    return request.app.state.tasks


def _listing(request: Request) -> dict:
    f = requests.filters(request.query_params)
    found = f.page(_tasks(request))
    return {"tasks": found, "filters": f, "active": any(t.status in ACTIVE for t in found),
            "next": f.query(before=found[-1].id) if len(found) == f.limit else None,
            "newest": f.query(before=None) if f.before else None}


def tasks_page(request: Request) -> HTMLResponse:
    profiles = [p["name"] for p in _tasks(request).profiles()]
    lanes = _tasks(request).timeline(TIMELINE_HOURS)
    tl = timeline.layout(lanes, request.app.state.clock.now(), TIMELINE_HOURS)
    return render(request, "tasks.html", profiles=profiles, statuses=requests.STATUSES,
                  kinds=requests.KINDS, tl=tl, **_listing(request))


def tasks_rows(request: Request) -> HTMLResponse:
    listing = _listing(request)
    return render(request, "_rows.html", headers={"X-Active": "1" if listing["active"] else "0"}, **listing)


def _task_context(request: Request) -> dict:
    tasks, task_id = _tasks(request), request.path_params["task_id"]
    task = tasks.show(task_id)
    result = None
    if task.kind == "maintenance":
        try:
            result = tasks.result(task_id)
        except HeartbeatError as exc:  # e.g. its profile is no longer configured
            result = {"error": str(exc)}
    return {"task": task, "log": tasks.log_tail(task_id, LOG_LINES), "result": result,
            "active": task.status in ACTIVE}


def task_page(request: Request) -> HTMLResponse:
    context = _task_context(request)
    find = (request.query_params.get("find") or "")[:200]
    find = find if find.strip() else ""  # kept as given: a maintenance example's label may have spaces
    found = _tasks(request).find_in_report(context["task"].id, find) if find else None
    return render(request, "task.html", find=find, found=found, **context)


def task_live(request: Request) -> HTMLResponse:
    context = _task_context(request)
    return render(request, "_live.html", headers={"X-Active": "1" if context["active"] else "0"}, **context)


def kill(request: Request) -> Response:
    task_id = request.path_params["task_id"]

    def act():
        task = _tasks(request).kill(task_id, actor=actor(request))
        return f"Task {task.id} killed: {task.progress.cancelled} pending items cancelled."

    return _act(request, act)


def retry(request: Request) -> Response:
    task_id = request.path_params["task_id"]

    def act():
        task = _tasks(request).retry(task_id, actor=actor(request))
        return f"Task {task.id} queued: a retry of task {task_id}'s error items.", f"/tasks/{task.id}"

    return _act(request, act)


def confirm_delete(request: Request) -> HTMLResponse:
    task = _tasks(request).show(request.path_params["task_id"])
    return render(request, "delete.html", task=task, back=_back(request, request.query_params.get("next")))


def delete(request: Request) -> Response:
    task_id = request.path_params["task_id"]

    def act():
        removed = _tasks(request).delete(task_id, actor=actor(request))
        problems = " ".join(removed.problems)
        return f"Task {task_id} deleted." + (f" {problems}" if problems else "")

    return _act(request, act)


def profiles_page(request: Request) -> HTMLResponse:
    rows = _tasks(request).profiles()
    config = request.app.state.tasks.config
    for row in rows:
        profile = config.profile(row["name"])
        row["words"] = schedule_words(row["schedule"], profile.timezone)
        row["timezone"] = profile.timezone
        row["counts"] = row["kind"] == "export" and profile.options.get("entity", "products") == "products"
        row["runs"] = _tasks(request).upcoming(row)  # the next 5 slots (issue 25)
    return render(request, "profiles.html", profiles=rows)


def run_profile(request: Request) -> Response:
    name, form = request.path_params["name"], request.scope.get("heartbeat.form", {})

    def act():
        task = _tasks(request).queue(name, full=requests.flag(form, "full"),
                                     dry_run=requests.flag(form, "dry_run"), actor=actor(request))
        what = "dry-run task" if task.options.get("dry_run") else "task"
        message = f"{task.kind.capitalize()} profile {task.profile}: queued {what} {task.id}."
        return message, f"/tasks/{task.id}"

    return _act(request, act)


def _act(request: Request, act) -> Response:
    """Do `act` (returns a message, or a message and where to go) and redirect back with the message;
    a refusal is shown the same way, as an error."""
    target = _back(request, request.scope.get("heartbeat.form", {}).get("next"))
    try:
        outcome = act()
        message, target = outcome if isinstance(outcome, tuple) else (outcome, target)
        request.session["flash"] = ["ok", message]
    except HeartbeatError as exc:
        request.session["flash"] = ["error", str(exc)]
    return RedirectResponse(target, status_code=303)


def _back(request: Request, wanted: str | None) -> str:
    """A local path to return to: `wanted` when it is one of ours, else the tasks page."""
    if wanted and wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted:
        parts = urlsplit(wanted)
        if not parts.scheme and not parts.netloc:
            return wanted
    return "/"


def login_page(request: Request) -> Response:
    if request.scope.get("heartbeat.actor") is not None and "sid" not in request.session:  # open page
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", next=_back(request, request.query_params.get("next")))


def login(request: Request) -> Response:
    """Name (blank: the [web] password) and password -> a new session on the server, its id in
    the cookie; failures are rate-limited per address and overall."""
    state, form = request.app.state, request.scope.get("heartbeat.form", {})
    target = _back(request, form.get("next"))
    address, now = request.client.host if request.client else "?", state.clock.monotonic()
    wait = state.limiter.wait(address, now)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        why = f"Too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
        return render(request, "login.html", status=429, next=target, error=why,
                      headers={"Retry-After": str(int(wait) + 1)})
    done = state.users.login(form.get("name", "")[:64], form.get("password", ""), address)
    if done is None:
        state.limiter.failed(address, now)
        return render(request, "login.html", status=401, next=target, error="Wrong user name or password.")
    state.limiter.succeeded(address)
    state.users.end_session(request.session.get("sid"))  # a session it replaces
    Sessions.log_in(request.session, done.session_id)
    return RedirectResponse(target, status_code=303)


def logout(request: Request) -> Response:
    """Ends the session on the server: a copy of the cookie no longer opens anything."""
    request.app.state.users.end_session(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def static(request: Request) -> Response:
    """A file shipped in the package, looked up by name in what was loaded at start: no request
    path reaches the filesystem."""
    found = request.app.state.static.get(request.path_params["name"])
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body, media = found
    return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


routes = [
    Route("/", tasks_page),
    Route("/tasks/rows", tasks_rows),
    Route("/tasks/{task_id:int}", task_page),
    Route("/tasks/{task_id:int}/live", task_live),
    Route("/tasks/{task_id:int}/kill", kill, methods=["POST"]),
    Route("/tasks/{task_id:int}/retry", retry, methods=["POST"]),
    Route("/tasks/{task_id:int}/delete", confirm_delete),
    Route("/tasks/{task_id:int}/delete", delete, methods=["POST"]),
    Route("/profiles", profiles_page),
    Route("/profiles/{name}/run", run_profile, methods=["POST"]),
    Route("/login", login_page),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/static/{name}", static),
]
