"""The ASGI application: routes, templates, static files, error answers, and the Guard around it all.

Operations routes (issue 16) go in `operations_routes` passed to `create_app`, or in ROUTES below:
`/metrics`, `/livez` and `/readyz` are already let in without a login by guard.OPEN_PATHS.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from importlib import resources

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.templating import Jinja2Templates

from core.clock import Clock, as_utc, iso
from core.errors import (
    Forbidden,
    HeartbeatError,
    IllegalTransition,
    ProfileNotFound,
    Refused,
    StateDatabaseError,
    TaskNotFound,
    UserNotFound,
)
from heartbeat.services.category_table import CategoryTable
from heartbeat.services.connections import ConnectionManager, ConnectionNotFound
from heartbeat.services.settings import Settings
from heartbeat.services.tasks import TaskManager
from heartbeat.services.users import UserManager
from heartbeat.web import admin, api, categories, pages, screens, screens_api, trail
from heartbeat.web.auth import LoginLimiter, Sessions
from heartbeat.web.guard import Guard
from heartbeat.web.requests import BadRequest
from tasks.stores.outbox import NotificationNotFound

STATUS = {ConnectionNotFound: 404, NotificationNotFound: 404, TaskNotFound: 404, ProfileNotFound: 404,
          UserNotFound: 404, IllegalTransition: 409, Refused: 409, BadRequest: 400, Forbidden: 403,
          StateDatabaseError: 503}
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "categories.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"}


def create_app(tasks: TaskManager, *, password_hash: str | None, api_token: str | None, secret_key: bytes,
               clock: Clock | None = None, refresh_seconds: float = 3.0,
               operations_routes: list[BaseRoute] = (), users: UserManager | None = None,
               hosts: frozenset[str] | None = None) -> Guard:
    """The whole web application over `tasks` (the same TaskManager the CLI uses) and `users` (made
    over the same state database when not given). `password_hash` None and no user: no login
    (serve on a loopback address only: server.py checks). `api_token` None: the API takes logged-in
    sessions and users' tokens only. `hosts`: the host names a request's Host may give (guard.py)."""
    clock = clock or tasks.clock
    if users is None:
        users = UserManager(tasks.store.users, tasks.audit, clock, password_hash, tasks.config.web)
    app = Starlette(routes=[*operations_routes, *api.routes, *screens_api.routes, *categories.routes,
                            *trail.routes, *admin.routes, *pages.routes, *screens.routes],
                    exception_handlers={HeartbeatError: _error, HTTPException: _http_error})
    sessions = Sessions(secret_key)
    state = app.state
    state.tasks, state.users, state.sessions, state.clock = tasks, users, sessions, clock
    state.categories = lambda: CategoryTable(tasks.config, tasks.store, state.clock)  # per request
    state.connections, state.settings = ConnectionManager(tasks), Settings(tasks)
    state.limiter = LoginLimiter()
    state.refresh_ms = int(refresh_seconds * 1000)
    state.templates = Jinja2Templates(env=_templates())
    state.static = {name: (resources.files("heartbeat.web").joinpath("static", name).read_bytes(), media)
                    for name, media in STATIC.items()}
    state.asset_version = hashlib.sha256(b"".join(body for body, _ in state.static.values())).hexdigest()[:10]
    return Guard(app, sessions, api_token, users, hosts)


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("heartbeat.web", "templates"), autoescape=True)
    env.filters["iso"] = lambda value: iso(_time(value))
    env.filters["utc"] = lambda value: _time(value).strftime("%Y-%m-%d %H:%M UTC")
    env.filters["utc_full"] = lambda value: _time(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return env


def _time(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return as_utc(value)


def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (no such route: 404, a method the route has not: 405) answered as
    a domain error is: the documented JSON under /api/, the page's error page elsewhere."""
    if exc.status_code == 404:
        message = f"no such page: {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    headers = dict(exc.headers or {})
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers)
    return pages.render(request, "error.html", status=exc.status_code, message=message)


def _error(request: Request, exc: HeartbeatError) -> Response:
    """A domain error: the CLI's one line, as JSON under /api/, else as a page; its status by class."""
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=status)
    return pages.render(request, "error.html", status=status, message=str(exc))
