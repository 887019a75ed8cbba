"""Who may use which route: the table the guard (guard.py) reads for every request, route -> the
least role it needs. A route missing from the table is refused to everybody (and
tests/test_web_roles.py fails), so a new route cannot slip in unguarded: add it here.

viewer: reads everything but the users; operator: also runs, kills, analyses, fixes, retries,
delivers, pauses, checks connections and edits the category mapping; admin: also deletes, undoes
and manages users and tokens (docs/web.md, "Users and roles"). PUBLIC routes need no login.
"""

from __future__ import annotations

from core.actor import Role

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


def refusal(role: Role, needed: Role, name: str) -> str:
    """The 403's reason: who is refused and the role it takes."""
    a = "an" if role.name[0] in "aeiou" else "a"
    return f"{name} is {a} {role.name}; this needs the {needed.name} role"
