"""The one place a request is let in, as ASGI middleware around the whole application.

In order: first of all, the Host header must name this server (the listen address, `localhost`, or
one of `[web] allowed_hosts`), else 421: a page on another site whose name resolves to 127.0.0.1
(DNS rebinding) must not read or drive a page that has no password. Listening on every address
(0.0.0.0, ::), any IP address is the listen address too (rebinding needs a name), names are not.
Then the operations paths (/metrics, /livez, /readyz) and static files need nothing; the route's
least role is looked up in roles.ROLES (a route the table does not name is refused to all); a
request with `Authorization: Bearer` is judged by its token alone (HEARTBEAT_API_TOKEN acts as an
admin, a user's token as that user; API paths only, no cookie, no CSRF); every other request but
/login needs a live login session (the state database's, heartbeat.services.users; with no
password and no user at all the page is open, loopback only); the actor's role must reach the
route's; then a state-changing request must come from this site (Origin, Sec-Fetch-Site) and carry
the session's CSRF token (form field `csrf` or header X-CSRF-Token), /login's included. Refusals:
401 (API) or a redirect to /login (pages) when not logged in, 401 for a wrong token, 403 with the
reason for a role too low, a cross-site or a CSRF-less request. The views find who acts in
scope["heartbeat.actor"] (core.actor.Actor) and hand it to the verbs. Every response gets the
security headers.
"""

from __future__ import annotations

import ipaddress
import json
from html import escape
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from core.actor import Actor, Role
from heartbeat.services.users import UserManager
from heartbeat.web import roles
from heartbeat.web.auth import Sessions, token_matches

OPEN_PATHS = ("/metrics", "/livez", "/readyz")  # the operations routes: counts only, no login
ENV_TOKEN = "HEARTBEAT_API_TOKEN"  # the actor name of the environment's token (an admin)
OPEN_ACTOR = "local"  # who acts on a page that needs no login
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
MAX_FORM = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]

_SECURITY_NAMES = {name for name, _ in SECURITY_HEADERS}


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith("/static/")


class Guard:
    def __init__(self, app, sessions: Sessions, token: str | None, users: UserManager,
                 hosts: frozenset[str] | None = None):
        """`hosts`: the host names a request's Host header may give (None: any, for in-process tests)."""
        self.app, self.sessions, self.token, self.users, self.hosts = app, sessions, token, users, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        host = host_name(request.headers.get("host", ""))
        if self.hosts is not None and not host_allowed(host, self.hosts):
            why = ("this server does not answer for that host name; add it to [web] allowed_hosts "
                   "if it is really this server's")
            return await _deny(scope, receive, send, 421, why)
        session = self.sessions.load(request.cookies.get(Sessions.COOKIE))
        scope["session"] = session
        send = self._sending(send, scope, dict(session))
        path, api = scope["path"], scope["path"].startswith("/api/")
        if is_open(path):
            return await self.app(scope, receive, send)
        route = roles.route_of(self.app.routes, request.method, path)
        try:
            # an unknown path needs a login too (then the application answers 404)
            needed = roles.required(request.method, route) if route else roles.VIEWER
        except KeyError:
            return await _deny(scope, receive, send, 403, f"no role is set for {request.method} {route} "
                                                          "(heartbeat/web/roles.py); refused to everybody")
        address = request.client.host if request.client else None
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return await self._bearer(scope, receive, send, authorization, needed, address)
        actor = await run_in_threadpool(self._session_actor, session, address)
        if actor is None and needed is not roles.PUBLIC:
            if api:
                why = "not logged in; log in, or send Authorization: Bearer <token>"
                return await _deny(scope, receive, send, 401, why)
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
            return await _redirect(send, "/login?next=" + quote(target, safe="/"))
        if not roles.allows(actor, needed):
            return await _deny(scope, receive, send, 403, roles.refusal(actor.role, needed, actor.name))
        if request.method in UNSAFE:
            if _cross_site(request):
                return await _deny(scope, receive, send, 403, "cross-site request refused")
            receive, form = await _form(request, receive)
            if form is None:
                return await _deny(scope, receive, send, 413, "form too large")
            if not Sessions.csrf_matches(session, request.headers.get("x-csrf-token") or form.get("csrf")):
                return await _deny(scope, receive, send, 403, "missing or wrong CSRF token; reload the page")
            scope["heartbeat.form"] = form
        scope["heartbeat.auth"], scope["heartbeat.actor"] = "session", actor
        await self.app(scope, receive, send)

    async def _bearer(self, scope, receive, send, authorization: str, needed, address):
        scheme, _, given = authorization.partition(" ")
        given = given.strip()
        actor = None
        if scheme.lower() == "bearer" and given:
            if token_matches(self.token, given):
                actor = Actor(ENV_TOKEN, "api", Role.admin, address)
            else:
                actor = await run_in_threadpool(self.users.token, given, address)
        if actor is None:
            unset = ": no user has it (and HEARTBEAT_API_TOKEN is not set)"
            why = "wrong API token" + ("" if self.token else unset)
            return await _deny(scope, receive, send, 401, why)
        if not scope["path"].startswith("/api/"):
            return await _deny(scope, receive, send, 403, "an API token opens /api/ only")
        if not roles.allows(actor, needed):
            return await _deny(scope, receive, send, 403, roles.refusal(actor.role, needed, actor.name))
        scope["heartbeat.auth"], scope["heartbeat.actor"] = "token", actor
        return await self.app(scope, receive, send)

    def _session_actor(self, session: dict, address: str | None) -> Actor | None:
        """Who the session is (None: not logged in); everybody is the local admin when the page
        needs no login (no password, no user: loopback only, server.py)."""
        actor = self.users.session(session.get("sid"), address)
        if actor is None and not self.users.login_required():
            return Actor(OPEN_ACTOR, "web", Role.admin, address)
        return actor

    def _sending(self, send, scope, before: dict):
        """`send` adding the security headers, and the session cookie when the session changed."""

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _SECURITY_NAMES]
                headers += SECURITY_HEADERS
                if scope["session"] != before:
                    headers.append((b"set-cookie", self._cookie(scope).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        return sending

    def _cookie(self, scope) -> str:
        session = scope["session"]
        value, age = (self.sessions.dump(session), self.sessions.max_age) if session else ("", 0)
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        return f"{Sessions.COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; SameSite=Lax{secure}"


def host_name(host: str) -> str:
    """The name of a Host header, lowercase, without its port ("[::1]:8080" -> "::1")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


ANY_IP = "*"  # in a set of allowed hosts: every IP address (a server listening on all of them)


def host_allowed(name: str, hosts: frozenset[str]) -> bool:
    if name in hosts:
        return True
    if ANY_IP not in hosts:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed_hosts(listen_host: str, configured: tuple[str, ...] | list[str]) -> frozenset[str]:
    """What a Host header may name: the listen address, localhost, and the configured names."""
    listen = host_name(listen_host if ":" not in listen_host else f"[{listen_host}]")
    every = {ANY_IP} if listen in ("0.0.0.0", "::", "") else set()
    return frozenset({listen, "localhost", *every, *(host_name(h) for h in configured)})


def _cross_site(request: Request) -> bool:
    """A browser says where a request comes from: refuse any other site (and an opaque origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _form(request: Request, receive):
    """The urlencoded form of the body (read here, then replayed to the application), {} for other
    bodies; None when it is larger than MAX_FORM."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return receive, {}
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_FORM:
            return receive, None
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay, dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _deny(scope, receive, send, status: int, why: str):
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"error": why}, separators=(",", ":")).encode(), b"application/json"
    else:
        body = (f"<!doctype html><title>{status}</title><p>{escape(why)}</p>"
                '<p><a href="/">Back to the Task Manager</a></p>').encode()
        kind = b"text/html; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="heartbeat"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str):
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
