"""The JSON twins of the seeds' screens (SPEC "More pages"): connections with their stats and check,
the maintenance tab (queue an analysis or a fix, preview and undo a fix), pause and resume of a
profile, the Configure page's data and its two retries. Each view is a few lines over one verb of
heartbeat.services, the same the CLI calls; errors are {"error": the CLI's line} (web/app.py)."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from heartbeat.web.requests import BadRequest

SCOPES = ("products", "orders")


def _actor(request: Request):
    """Who asks (core.actor.Actor), as the guard found them."""
    return request.scope["heartbeat.actor"]


def _state(request: Request):
    return request.app.state


def list_connections(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).connections.list())


def show_connection(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).connections.get(request.path_params["name"]))


def connection_stats(request: Request) -> JSONResponse:
    """Counted now, exactly: the seconds it took are in the answer ("seconds")."""
    return JSONResponse(_state(request).connections.stats(request.path_params["name"]))


def check_connection(request: Request) -> JSONResponse:
    """200 {"reachable", "error"} whether it is reachable or not: the check itself succeeded."""
    return JSONResponse(_state(request).connections.check(request.path_params["name"]))


async def run_maintenance(request: Request) -> JSONResponse:
    """201 and the new task; body {"operation", "scope"} as JSON (or the page's form fields)."""
    state, name = _state(request), request.path_params["name"]
    await run_in_threadpool(state.connections.get, name)  # 404 for an unknown one, before the body
    operation, scope = await maintenance_request(request, state.tasks)
    task = await run_in_threadpool(state.tasks.run_maintenance, name, operation, scope,
                                   actor=_actor(request))
    return JSONResponse(task.to_json(), status_code=201, headers={"Location": f"/api/tasks/{task.id}"})


async def maintenance_request(request: Request, tasks) -> tuple[str, str]:
    """(operation, scope) of a maintenance request, checked: 400 naming a missing or unknown value."""
    body = request.scope.get("heartbeat.form") or None
    if body is None:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise BadRequest("body: expected a JSON object {\"operation\": ..., \"scope\": ...}") from None
    if not isinstance(body, dict):
        raise BadRequest("body: expected a JSON object {\"operation\": ..., \"scope\": ...}")
    scope, operation = body.get("scope") or "products", body.get("operation")
    if scope not in SCOPES:
        raise BadRequest(f"scope: expected one of {', '.join(SCOPES)}, got {str(scope)[:40]!r}")
    known = [op for s, op, _ in tasks.maintenance_operations() if s == scope]
    if operation not in known:
        raise BadRequest(f"operation: expected one of {', '.join(known)} for scope {scope}, "
                         f"got {str(operation)[:40]!r}")
    return operation, scope


def undo_preview(request: Request) -> JSONResponse:
    """200 {"task", "changes"}: what an undo would restore; 409 with the reason it would be refused."""
    tasks, task_id = _state(request).tasks, request.path_params["task_id"]
    changes = tasks.undo_preview(task_id)
    return JSONResponse({"task": task_id, "changes": changes})


def undo(request: Request) -> JSONResponse:
    """200 and the task object with "restored": rows; 409 with the CLI's refusal."""
    tasks, task_id = _state(request).tasks, request.path_params["task_id"]
    restored = tasks.undo(task_id, actor=_actor(request))
    return JSONResponse({**tasks.show_json(task_id), "restored": restored})




def show_profile(request: Request) -> JSONResponse:
    """The `profiles list --json` object with "next_runs": the next 5 schedule slots."""
    tasks, name = _state(request).tasks, request.path_params["name"]
    return JSONResponse({**tasks.profile(name), "next_runs": tasks.next_runs(name)})


def pause(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).tasks.pause(request.path_params["name"], actor=_actor(request)))


def resume(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).tasks.resume(request.path_params["name"], actor=_actor(request)))


def configure(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).settings.overview())


def retry_notification(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).settings.retry_notification(request.path_params["delivery_id"],
                                                                    actor=_actor(request)))


routes = [
    Route("/api/connections", list_connections),
    Route("/api/connections/{name}", show_connection),
    Route("/api/connections/{name}/stats", connection_stats),
    Route("/api/connections/{name}/check", check_connection, methods=["POST"]),
    Route("/api/connections/{name}/maintenance", run_maintenance, methods=["POST"]),
    Route("/api/tasks/{task_id:int}/undo", undo_preview),
    Route("/api/tasks/{task_id:int}/undo", undo, methods=["POST"]),
    Route("/api/profiles/{name}", show_profile),
    Route("/api/profiles/{name}/pause", pause, methods=["POST"]),
    Route("/api/profiles/{name}/resume", resume, methods=["POST"]),
    Route("/api/configure", configure),
    Route("/api/notifications/{delivery_id:int}/retry", retry_notification, methods=["POST"]),
]
