"""The seeds' screens as HTML pages: Connections (each with its Stats and Maintenance tabs), pause
and resume on the Profiles page, Configure. Thin views over the verbs of heartbeat.services, the
same the CLI and /api/ call (web/screens_api.py). An action is a POST form answered by a redirect
with a one-line message (pages._act); a fix and an undo ask for confirmation on a page of their own
first, so a fix is never queued by one stray click and nothing needs a script."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core.errors import HeartbeatError
from heartbeat.web.pages import _act, render
from heartbeat.web.requests import BadRequest
from heartbeat.web.screens_api import SCOPES

SCOPE_TITLES = {"products": "Products", "orders": "Sales Orders"}
RECENT = 15  # maintenance tasks listed on a connection's tab
SHOWN_CHANGES = 100  # rows an undo confirmation lists (then "and N more")


def _actor(request: Request):
    """Who asks (core.actor.Actor), as the guard found them."""
    return request.scope["heartbeat.actor"]


def _state(request: Request):
    return request.app.state


def connections_page(request: Request) -> HTMLResponse:
    found = _state(request).connections.list()
    return render(request, "connections.html", tab="connections", connections=found)


def check(request: Request) -> Response:
    name = request.path_params["name"]

    def act():
        found = _state(request).connections.check(name)
        if not found["reachable"]:
            raise BadRequest(f"{name}: not reachable: {found['error']}")
        return f"{name}: reachable ({found['seconds']:.3f} s)."

    return _act(request, act)


def stats_page(request: Request) -> HTMLResponse:
    """The Stats tab: every profile's pending changes, counted at this request."""
    state, name = _state(request), request.path_params["name"]
    conn = state.connections.get(name)
    return render(request, "connection.html", tab="connections", conn=conn, view="stats",
                  stats=state.connections.stats(name))


def maintenance_page(request: Request) -> HTMLResponse:
    """The Maintenance tab of a shop connection: the Analysis and Actual Fix buttons for Products
    and Sales Orders, its recent maintenance tasks, and one task's result (?task=ID, else the newest)."""
    state, name = _state(request), request.path_params["name"]
    conn = state.connections.get(name)
    tasks = state.tasks
    recent = [t for t in tasks.list(kind="maintenance", limit=200) if _on(t.profile, name, state)][:RECENT]
    chosen = request.query_params.get("task")
    selected = next((t for t in recent if str(t.id) == chosen), None) if chosen else (
        next((t for t in recent if t.status.finished), None))
    result = None
    if selected is not None:
        try:
            result = tasks.result(selected.id)
            result["rows"] = [(pattern, p, [(e, _find(e)) for e in p["examples"]])
                              for pattern, p in result["patterns"].items()]
        except HeartbeatError as exc:
            result = {"error": str(exc)}
    return render(request, "connection.html", tab="connections", conn=conn, view="maintenance",
                  buttons=_buttons(tasks), recent=recent, selected=selected, result=result,
                  shop=conn["type"] == "prestashop", active=any(not t.status.finished for t in recent))


def _on(profile: str, connection: str, state) -> bool:
    """Whether a maintenance task's profile works on `connection` (on demand, or configured)."""
    if profile.startswith(f"maintenance:{connection}:"):
        return True
    return any(p.name == profile and p.source == connection for p in state.tasks.config.profiles)


def _buttons(tasks) -> dict:
    """{scope: {"analysis": [(operation, what, available)], "fix": [...]}}, in the seed's order."""
    out = {scope: {"analysis": [], "fix": []} for scope in SCOPES}
    for scope, operation, what in tasks.maintenance_operations():
        available = not what.endswith("(not available yet)")
        kind = "analysis" if operation.startswith("analyze") else "fix"
        out[scope][kind].append((operation, what, available))
    return out


def _find(example: str) -> str:
    """What finds an example's record in the task's report: its label, the item's reference
    (profiles.maintenance); a blank label falls back to its first number."""
    match = re.search(r"\d+", str(example))
    return str(example) if str(example).strip() else (match[0] if match else "")


def queue_maintenance(request: Request) -> Response:
    """An analysis is queued at once; a fix only from its confirmation page (form field confirm=1)."""
    state, name = _state(request), request.path_params["name"]
    form = request.scope.get("heartbeat.form", {})
    operation, scope = form.get("operation", ""), form.get("scope", "products")
    tab = f"/connections/{quote(name)}/maintenance"
    if operation.startswith("fix") and form.get("confirm") != "1":
        confirm = f"{tab}/confirm?operation={quote(operation)}&scope={quote(scope)}"
        return RedirectResponse(confirm, status_code=303)

    def act():
        task = state.tasks.run_maintenance(name, operation, scope, actor=_actor(request))
        return (f"Maintenance {scope} {operation} on {name}: queued task {task.id}.", f"{tab}?task={task.id}")

    return _act(request, act)


def confirm_fix(request: Request) -> HTMLResponse:
    state, name = _state(request), request.path_params["name"]
    conn = state.connections.get(name)
    q = request.query_params
    operation, scope = q.get("operation", ""), q.get("scope", "products")
    what = {(s, op): w for s, op, w in state.tasks.maintenance_operations()}.get((scope, operation))
    if what is None or not operation.startswith("fix"):
        raise BadRequest(f"operation: no fix {operation[:40]!r} for scope {scope[:20]!r}")
    return render(request, "fix_confirm.html", tab="connections", conn=conn, operation=operation,
                  scope=scope, scope_title=SCOPE_TITLES.get(scope, scope), what=what)


def confirm_undo(request: Request) -> HTMLResponse:
    """What an undo restores, listed; or the refusal the CLI would print, and no button."""
    tasks, task_id = _state(request).tasks, request.path_params["task_id"]
    task = tasks.show(task_id)
    try:
        changes, refusal = tasks.undo_preview(task_id), None
    except HeartbeatError as exc:
        changes, refusal = [], str(exc)
    return render(request, "undo_confirm.html", tab="connections", task=task, changes=changes[:SHOWN_CHANGES],
                  more=max(0, len(changes) - SHOWN_CHANGES), total=len(changes), refusal=refusal,
                  back=_maintenance_tab(task.profile, task.id))


def undo(request: Request) -> Response:
    tasks, task_id = _state(request).tasks, request.path_params["task_id"]

    def act():
        restored = tasks.undo(task_id, actor=_actor(request))
        task = tasks.show(task_id)
        return (f"Task {task_id} undone: {restored} row{'s' if restored != 1 else ''} restored.",
                _maintenance_tab(task.profile, task_id))

    return _act(request, act)


def _maintenance_tab(profile: str, task_id: int) -> str:
    parts = profile.split(":")
    if len(parts) == 4:  # maintenance:CONNECTION:SCOPE:OPERATION
        return f"/connections/{quote(parts[1])}/maintenance?task={task_id}"
    return f"/tasks/{task_id}"


def pause(request: Request) -> Response:
    name = request.path_params["name"]

    def act():
        _state(request).tasks.pause(name, actor=_actor(request))
        return f"Profile {name} paused: its schedule creates no tasks until resumed.", "/profiles"

    return _act(request, act)


def resume(request: Request) -> Response:
    name = request.path_params["name"]

    def act():
        row = _state(request).tasks.resume(name, actor=_actor(request))
        after = f" Next run: {row['next_run']}." if row["next_run"] else ""
        return f"Profile {name} resumed.{after}", "/profiles"

    return _act(request, act)


def configure_page(request: Request) -> HTMLResponse:
    return render(request, "configure.html", tab="configure", **_state(request).settings.overview())


def retry_notification(request: Request) -> Response:
    delivery_id = request.path_params["delivery_id"]

    def act():
        _state(request).settings.retry_notification(delivery_id, actor=_actor(request))
        again = f"Notification {delivery_id} queued again: the sender tries it at its next round."
        return again, "/configure"

    return _act(request, act)


def deliver(request: Request) -> Response:
    tasks, task_id = _state(request).tasks, request.path_params["task_id"]

    def act():
        delivery = tasks.deliver(task_id, actor=_actor(request))
        return f"Task {task_id}: {tasks.delivery_line(delivery)}", "/configure"

    return _act(request, act)


routes = [
    Route("/connections", connections_page),
    Route("/connections/{name}", stats_page),
    Route("/connections/{name}/check", check, methods=["POST"]),
    Route("/connections/{name}/maintenance", maintenance_page),
    Route("/connections/{name}/maintenance", queue_maintenance, methods=["POST"]),
    Route("/connections/{name}/maintenance/confirm", confirm_fix),
    Route("/tasks/{task_id:int}/undo", confirm_undo),
    Route("/tasks/{task_id:int}/undo", undo, methods=["POST"]),
    Route("/tasks/{task_id:int}/deliver", deliver, methods=["POST"]),
    Route("/profiles/{name}/pause", pause, methods=["POST"]),
    Route("/profiles/{name}/resume", resume, methods=["POST"]),
    Route("/configure", configure_page),
    Route("/notifications/{delivery_id:int}/retry", retry_notification, methods=["POST"]),
]
