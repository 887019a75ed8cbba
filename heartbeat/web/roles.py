"""Who may use which route: the table the guard (guard.py) reads for every request, route -> the
least role it needs. A route missing from the table is refused to everybody (and
tests/test_web_roles.py fails), so a new route cannot slip in unguarded: add it here.

viewer: reads everything but the users; operator: also runs, kills, analyses, fixes, retries,
delivers, pauses, checks connections and edits the category mapping; admin: also deletes, undoes
and manages users and tokens (docs/web.md, "Users and roles"). PUBLIC routes need no login.

The pages ask the same table what to show (`permits`, the templates' `can(method, path)`): a
form, button or link is rendered only when the guard would let its actor use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from starlette.routing import BaseRoute, Match, compile_path

from core.actor import Actor, Role

PUBLIC = None
VIEWER, OPERATOR, ADMIN = Role.viewer, Role.operator, Role.admin
TASK = "/tasks/{task_id:int}"
API_TASK = "/api/tasks/{task_id:int}"

# (method, route path as declared in api.py / pages.py / app.py) -> the least role, or PUBLIC
ROLES: dict[tuple[str, str], Role | None] = {
    # operations and the login itself
    ("GET", "/metrics"): PUBLIC, ("GET", "/livez"): PUBLIC, ("GET", "/readyz"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): VIEWER,
    # pages
    ("GET", "/"): VIEWER, ("GET", "/tasks/rows"): VIEWER,
    ("GET", TASK): VIEWER, ("GET", TASK + "/live"): VIEWER,
    ("POST", TASK + "/kill"): OPERATOR, ("POST", TASK + "/retry"): OPERATOR,
    ("GET", TASK + "/delete"): ADMIN, ("POST", TASK + "/delete"): ADMIN,
    ("GET", "/profiles"): VIEWER, ("POST", "/profiles/{name}/run"): OPERATOR,
    ("GET", "/audit"): VIEWER,
    ("GET", "/users"): ADMIN, ("POST", "/users"): ADMIN,
    ("POST", "/users/{name}/role"): ADMIN, ("POST", "/users/{name}/password"): ADMIN,
    ("POST", "/users/{name}/logout"): ADMIN, ("POST", "/users/{name}/delete"): ADMIN,
    ("POST", "/users/{name}/tokens"): ADMIN, ("POST", "/users/{name}/tokens/{label}/revoke"): ADMIN,
    # the JSON API
    ("GET", "/api/tasks"): VIEWER, ("GET", API_TASK): VIEWER, ("DELETE", API_TASK): ADMIN,
    ("POST", API_TASK + "/kill"): OPERATOR, ("POST", API_TASK + "/retry"): OPERATOR,
    ("POST", API_TASK + "/deliver"): OPERATOR,
    **{("GET", f"{API_TASK}/{what}"): VIEWER for what in ("log", "report", "export-file", "result")},
    ("GET", "/api/profiles"): VIEWER, ("POST", "/api/profiles/{name}/run"): OPERATOR,
    ("GET", "/api/profiles/{name}/stats"): VIEWER,
    ("GET", "/api/audit"): VIEWER, ("GET", "/api/timeline"): VIEWER,
    ("GET", "/api/users"): ADMIN, ("POST", "/api/users"): ADMIN, ("DELETE", "/api/users/{name}"): ADMIN,
    # the seeds' screens (web/screens.py, web/screens_api.py): connections, maintenance, pause, configure
    ("GET", "/connections"): VIEWER, ("GET", "/connections/{name}"): VIEWER,
    ("POST", "/connections/{name}/check"): OPERATOR,
    ("GET", "/connections/{name}/maintenance"): VIEWER, ("POST", "/connections/{name}/maintenance"): OPERATOR,
    ("GET", "/connections/{name}/maintenance/confirm"): OPERATOR,
    ("GET", TASK + "/undo"): ADMIN, ("POST", TASK + "/undo"): ADMIN, ("POST", TASK + "/deliver"): OPERATOR,
    ("POST", "/profiles/{name}/pause"): OPERATOR, ("POST", "/profiles/{name}/resume"): OPERATOR,
    ("GET", "/configure"): VIEWER, ("POST", "/notifications/{delivery_id:int}/retry"): OPERATOR,
    ("GET", "/api/connections"): VIEWER, ("GET", "/api/connections/{name}"): VIEWER,
    ("GET", "/api/connections/{name}/stats"): VIEWER, ("POST", "/api/connections/{name}/check"): OPERATOR,
    ("POST", "/api/connections/{name}/maintenance"): OPERATOR,
    ("GET", API_TASK + "/undo"): VIEWER, ("POST", API_TASK + "/undo"): ADMIN,
    ("GET", "/api/profiles/{name}"): VIEWER,
    ("POST", "/api/profiles/{name}/pause"): OPERATOR, ("POST", "/api/profiles/{name}/resume"): OPERATOR,
    ("GET", "/api/configure"): VIEWER, ("POST", "/api/notifications/{delivery_id:int}/retry"): OPERATOR,
    # the category mapping page (web/categories.py): operators edit it
    ("GET", "/categories"): VIEWER, ("GET", "/categories/products"): VIEWER,
    **{("GET", f"/api/categories{what}"): VIEWER
       for what in ("", "/export", "/unmapped", "/products", "/suggestions", "/taxonomy/{column}", "/rules",
                    "/overrides")},
    ("POST", "/api/categories/rows"): OPERATOR, ("PUT", "/api/categories/rows/{row_id:int}"): OPERATOR,
    ("DELETE", "/api/categories/rows/{row_id:int}"): OPERATOR, ("POST", "/api/categories/import"): OPERATOR,
    ("POST", "/api/categories/suggestions/accept"): OPERATOR, ("POST", "/api/categories/columns"): OPERATOR,
    ("PUT", "/api/categories/rules"): OPERATOR,
    ("PUT", "/api/products/{product_id:int}/categories/{column}"): OPERATOR,
    ("DELETE", "/api/products/{product_id:int}/categories/{column}"): OPERATOR,
}


def required(method: str, path: str) -> Role | None:
    """The least role for `method` on the route declared as `path` (HEAD is GET). Raises KeyError
    for a route the table does not name."""
    return ROLES[("GET" if method == "HEAD" else method, path)]


def allows(actor: Actor | None, needed: Role | None) -> bool:
    """Whether `actor` (None: nobody logged in) reaches `needed`, a route's least role."""
    return needed is PUBLIC or (actor is not None and actor.may(needed))


def route_of(routes: Iterable[BaseRoute], method: str, path: str) -> str | None:
    """The route `method path` is for, as declared (e.g. /tasks/{task_id:int}), found as the
    router finds it: the first route matching both; None when no route does."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path
    return None


def declared(method: str, path: str) -> str | None:
    """The route of this table `method path` is for: `path` itself when it is a route as declared
    ("/tasks/{task_id:int}/kill"), else the route whose pattern matches the concrete URL
    ("/tasks/12/kill?next=/": a query is ignored); None when none does."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in ROLES:
        return path
    path = urlsplit(path).path
    return next((route for regex, route in _patterns(method) if regex.match(path)), None)


def permits(actor: Actor | None, method: str, path: str) -> bool:
    """Whether the guard lets `actor` use `method` on `path` (a concrete URL or a declared route,
    as `declared` takes them): what a page asks before it shows a form, button or link."""
    route = declared(method, path)
    return route is not None and allows(actor, required(method, route))


@cache
def _patterns(method: str) -> list[tuple[re.Pattern, str]]:
    """The table's routes of `method`, each with the regular expression the router matches it by."""
    return [(compile_path(path)[0], path) for m, path in ROLES if m == method]


def refusal(role: Role, needed: Role, name: str) -> str:
    """The 403's reason: who is refused and the role it takes."""
    a = "an" if role.name[0] in "aeiou" else "a"
    return f"{name} is {a} {role.name}; this needs the {needed.name} role"
