"""A real HTTP server on 127.0.0.1 serving feeds, for the tests of feeds read over HTTP."""

from __future__ import annotations

import http.server


class FeedServer(http.server.ThreadingHTTPServer):
    """Serves `routes`: path -> (status, body, extra headers); records Authorization headers and
    every request's headers. A route's ETag header is honoured (If-None-Match -> 304); statuses
    queued in `failures[path]` are answered first, one per request."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.authorizations: list[str | None] = []
        self.requests: list[dict[str, str]] = []
        self.failures: dict[str, list[int]] = {}

    def url(self, path: str, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.server_port}{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        self.server.authorizations.append(self.headers.get("Authorization"))
        self.server.requests.append(dict(self.headers))
        status, body, headers = self.server.routes.get(self.path, (404, b"no such feed", {}))
        if self.server.failures.get(self.path):
            status, body, headers = self.server.failures[self.path].pop(0), b"try later", {}
        elif headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
            status, body = 304, b""
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass
