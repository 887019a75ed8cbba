"""Users and their API tokens, for admins: the Users page (`/users`, each change a POST form
answered by a redirect, except a new token, shown once on the answer itself and never stored in a
cookie) and its JSON twin (`GET|POST /api/users`, `DELETE /api/users/{name}`). Thin views over
heartbeat.services.users.UserManager, the verbs `heartbeat web user ...` calls."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.actor import Role
from heartbeat.services.users import NAME
from heartbeat.web.pages import _act, actor, render
from heartbeat.web.requests import BadRequest

ROLE_NAMES = [r.name for r in Role]


def _users(request: Request):
    return request.app.state.users


def _form(request: Request) -> dict:
    return request.scope.get("heartbeat.form", {})


def _own_session(request: Request, name: str) -> str | None:
    """The session making a change to its own user: it stays open."""
    me = actor(request)
    return request.session.get("sid") if me.name == name and me.via == "web" else None


def users_page(request: Request, new_token: tuple[str, str, str] | None = None,
               status: int = 200) -> HTMLResponse:
    users = _users(request)
    rows = [{"user": u, "tokens": users.tokens(u.name)} for u in users.list()]
    return render(request, "users.html", tab="users", rows=rows, roles=ROLE_NAMES, new_token=new_token,
                  status=status)


def add_user(request: Request) -> Response:
    form = _form(request)

    def act():
        user = _users(request).add(form.get("name", "").strip(), form.get("role", ""),
                                   form.get("password", ""), actor(request))
        return f"User {user.name} added ({user.role}).", "/users"

    return _act(request, act)


def change(what: str):
    """The view for POST /users/{name}/<what>: role, password, logout or delete."""

    def view(request: Request) -> Response:
        name, form, users, me = request.path_params["name"], _form(request), _users(request), actor(request)

        def act():
            if what == "role":
                ended = users.set_role(name, form.get("role", ""), me, _own_session(request, name))
                return f"User {name} is now {form.get('role')}; {ended} other sessions ended.", "/users"
            if what == "password":
                ended = users.passwd(name, form.get("password", ""), me, _own_session(request, name))
                return f"Password of {name} changed; {ended} other sessions ended.", "/users"
            if what == "logout":
                return f"{users.logout(name, me)} sessions of {name} ended.", "/users"
            users.remove(name, me)
            return f"User {name} removed, with their tokens and sessions.", "/users"

        return _act(request, act)

    return view


def new_token(request: Request) -> Response:
    """The token is shown on this answer only (not a redirect: no secret in a cookie or a URL)."""
    name, label = request.path_params["name"], (_form(request).get("label") or "").strip() or None
    token, secret = _users(request).new_token(name, actor(request), label)
    return users_page(request, new_token=(name, token.label, secret), status=201)


def revoke_token(request: Request) -> Response:
    name, label = request.path_params["name"], request.path_params["label"]

    def act():
        _users(request).revoke(name, label, actor(request))
        return f"Token {label} of {name} revoked.", "/users"

    return _act(request, act)


def users_json(request: Request) -> JSONResponse:
    users = _users(request)
    return JSONResponse([{**u.to_json(), "tokens": [t.to_json() for t in users.tokens(u.name)]}
                         for u in users.list()])


async def add_user_json(request: Request) -> JSONResponse:
    """{"name", "role", "password"} -> 201 and the user (no hash)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BadRequest("the body must be JSON: {\"name\", \"role\", \"password\"}") from None
    fields = ("name", "role", "password")
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in fields):
        raise BadRequest("expected a JSON object with the strings name, role and password")
    if body["role"] not in ROLE_NAMES:
        raise BadRequest(f"role: expected one of {', '.join(ROLE_NAMES)}, got {body['role'][:40]!r}")
    if not NAME.fullmatch(body["name"]):
        raise BadRequest(f"name: 1 to 64 letters, digits, '.', '_' or '-', got {body['name'][:70]!r}")
    from starlette.concurrency import run_in_threadpool

    user = await run_in_threadpool(_users(request).add, body["name"], body["role"], body["password"],
                                   actor(request))
    return JSONResponse(user.to_json(), status_code=201, headers={"Location": "/api/users"})


def remove_user_json(request: Request) -> Response:
    _users(request).remove(request.path_params["name"], actor(request))
    return Response(status_code=204)


routes = [
    Route("/users", users_page),
    Route("/users", add_user, methods=["POST"]),
    *(Route(f"/users/{{name}}/{what}", change(what), methods=["POST"])
      for what in ("role", "password", "logout", "delete")),
    Route("/users/{name}/tokens", new_token, methods=["POST"]),
    Route("/users/{name}/tokens/{label}/revoke", revoke_token, methods=["POST"]),
    Route("/api/users", users_json),
    Route("/api/users", add_user_json, methods=["POST"]),
    Route("/api/users/{name}", remove_user_json, methods=["DELETE"]),
]
