"""The JSON API under /api/: the CLI's `--json` objects, field for field (Task.to_json,
TaskManager.profiles), and the CLI's downloads. Errors are {"error": the CLI's one line} with a
status (app.py). Each view is a few lines over one task verb; none reads storage itself."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.actor import Actor
from heartbeat.web import requests
from heartbeat.web.downloads import FILES, download


def _tasks(request: Request):
    return request.app.state.tasks


def list_tasks(request: Request) -> JSONResponse:
    """Newest first; `?before=ID&limit=N` is the cursor, and a full page has a Link to the next."""
    f = requests.filters(request.query_params)
    found = f.page(_tasks(request))
    headers = {}
    if len(found) == f.limit:
        headers["Link"] = f'</api/tasks?{f.query(before=found[-1].id)}>; rel="next"'
    return JSONResponse([t.to_json() for t in found], headers=headers)


def show_task(request: Request) -> JSONResponse:
    return JSONResponse(_tasks(request).show_json(request.path_params["task_id"]))


def _actor(request: Request) -> Actor:
    return request.scope["heartbeat.actor"]


def kill_task(request: Request) -> JSONResponse:
    return JSONResponse(_tasks(request).kill(request.path_params["task_id"], actor=_actor(request)).to_json())


def retry_task(request: Request) -> JSONResponse:
    """201 with the new task (its `retry_of` names the original); 409 when there is nothing to retry."""
    task = _tasks(request).retry(request.path_params["task_id"], actor=_actor(request))
    return JSONResponse(task.to_json(), status_code=201, headers={"Location": f"/api/tasks/{task.id}"})


def deliver_task(request: Request) -> JSONResponse:
    """The task's object with its delivery, as this attempt left it."""
    task_id = request.path_params["task_id"]
    _tasks(request).deliver(task_id, actor=_actor(request))
    return JSONResponse(_tasks(request).show_json(task_id))


def delete_task(request: Request) -> Response:
    """204; 200 with the problems when some of its files could not be removed (the task is gone)."""
    removed = _tasks(request).delete(request.path_params["task_id"], actor=_actor(request))
    if removed.problems:
        return JSONResponse({"deleted": removed.tasks[0].id, "problems": removed.problems})
    return Response(status_code=204)


def task_file(what: str):
    """The view downloading a task's `what` (log, report, export-file, result)."""

    def view(request: Request) -> Response:
        return download(_tasks(request), request.path_params["task_id"], what)

    return view


def list_profiles(request: Request) -> JSONResponse:
    return JSONResponse(_tasks(request).profiles())


def run_profile(request: Request) -> JSONResponse:
    """201 with the new task's object; options ?full=1 (exports), ?dry_run=1 and ?force=1 (imports)."""
    q = request.query_params
    task = _tasks(request).queue(request.path_params["name"], full=requests.flag(q, "full"),
                                 dry_run=requests.flag(q, "dry_run"), force=requests.flag(q, "force"),
                                 actor=_actor(request))
    return JSONResponse(task.to_json(), status_code=201, headers={"Location": f"/api/tasks/{task.id}"})


def profile_stats(request: Request) -> JSONResponse:
    return JSONResponse(_tasks(request).profile_stats(request.path_params["name"]))


routes = [
    Route("/api/tasks", list_tasks),
    Route("/api/tasks/{task_id:int}", show_task),
    Route("/api/tasks/{task_id:int}", delete_task, methods=["DELETE"]),
    Route("/api/tasks/{task_id:int}/kill", kill_task, methods=["POST"]),
    Route("/api/tasks/{task_id:int}/retry", retry_task, methods=["POST"]),
    Route("/api/tasks/{task_id:int}/deliver", deliver_task, methods=["POST"]),
    *(Route(f"/api/tasks/{{task_id:int}}/{what}", task_file(what)) for what in FILES),
    Route("/api/profiles", list_profiles),
    Route("/api/profiles/{name}/run", run_profile, methods=["POST"]),
    Route("/api/profiles/{name}/stats", profile_stats),
]
