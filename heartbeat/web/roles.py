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
}


def required(method: str, path: str) -> Role | None:
    """The least role for `method` on the route declared as `path` (HEAD is GET). Raises KeyError
    for a route the table does not name."""
    return ROLES[("GET" if method == "HEAD" else method, path)]


def refusal(role: Role, needed: Role, name: str) -> str:
    """The 403's reason: who is refused and the role it takes."""
    a = "an" if role.name[0] in "aeiou" else "a"
    return f"{name} is {a} {role.name}; this needs the {needed.name} role"
