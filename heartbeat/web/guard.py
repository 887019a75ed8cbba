"""The one place a request is let in, as ASGI middleware around the whole application.

In order: first of all, the Host header must name this server (the listen address, `localhost`, or
one of `[web] allowed_hosts`), else 421: a page on another site whose name resolves to 127.0.0.1
(DNS rebinding) must not read or drive a page that has no password. Listening on every address
(0.0.0.0, ::), any IP address is the listen address too (rebinding needs a name), names are not.
Then the operations paths (/metrics, /livez, /readyz) and static files need nothing; a request with
`Authorization: Bearer` is judged by the API token alone (API paths only, no cookie, no CSRF);
every other path but /login needs a logged-in session; then a state-changing request must come from
this site (Origin, Sec-Fetch-Site) and carry the session's CSRF token (form field `csrf` or header
X-CSRF-Token), /login's included. Refusals: 401 (API) or a redirect to /login (pages) when not
logged in, 401 for a wrong token, 403 for a cross-site or CSRF-less request.
Every response gets the security headers.
"""

from __future__ import annotations

import ipaddress
import json
from html import escape
from urllib.parse import parse_qsl, quote

from starlette.requests import Request

from heartbeat.web.auth import Sessions, token_matches

OPEN_PATHS = ("/metrics", "/livez", "/readyz")  # the operations routes: counts only, no login
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
    def __init__(self, app, sessions: Sessions, token: str | None, hosts: frozenset[str] | None = None):
        """`hosts`: the host names a request's Host header may give (None: any, for in-process tests)."""
        self.app, self.sessions, self.token, self.hosts = app, sessions, token, hosts

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
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token_matches(self.token, given.strip()):
                why = "wrong API token" if self.token else "no API token is set (HEARTBEAT_API_TOKEN)"
                return await _deny(scope, receive, send, 401, why)
            if not api:
                return await _deny(scope, receive, send, 403, "the API token opens /api/ only")
            scope["heartbeat.auth"] = "token"
            return await self.app(scope, receive, send)
        if path != "/login" and not self.sessions.logged_in(session):
            if api:
                why = "not logged in; log in, or send Authorization: Bearer <HEARTBEAT_API_TOKEN>"
                return await _deny(scope, receive, send, 401, why)
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
            return await _redirect(send, "/login?next=" + quote(target, safe="/"))
        if request.method in UNSAFE:
            if _cross_site(request):
                return await _deny(scope, receive, send, 403, "cross-site request refused")
            receive, form = await _form(request, receive)
            if form is None:
                return await _deny(scope, receive, send, 413, "form too large")
            if not Sessions.csrf_matches(session, request.headers.get("x-csrf-token") or form.get("csrf")):
                return await _deny(scope, receive, send, 403, "missing or wrong CSRF token; reload the page")
            scope["heartbeat.form"] = form
        scope["heartbeat.auth"] = "session"
        await self.app(scope, receive, send)

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
