"""A real HTTP server on 127.0.0.1 receiving export-file uploads, for the delivery tests.

It behaves as a platform honouring Idempotency-Key: the first request with a key it accepts is
imported (its body, gunzipped if sent gzip, is kept in `imports`), a later one with the same key is
answered 200 without importing again. `script` says what each request gets, in order, then "accept":
- "fail": HTTP 500; "refuse": HTTP 400 echoing the request's Authorization header (a careless
  platform), "busy": HTTP 503 with Retry-After: 600;
- "hang": no answer until the test ends (the client's read timeout fires);
- "import_then_kill": import the upload, then SIGKILL process `kill_pid` before answering (a
  daemon dying after the upload but before recording it).
"""

from __future__ import annotations

import gzip
import http.server
import os
import signal
import threading


class UploadServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[str] | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script or [])
        self.requests: list[dict] = []  # method, path, headers, body (as sent), in arrival order
        self.imports: list[bytes] = []  # bodies imported, gunzipped
        self.imported: set[str] = set()  # keys imported
        self.kill_pid: int | None = None
        self.released = threading.Event()
        self.lock = threading.Lock()

    def url(self, path: str = "/import") -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    @property
    def keys(self) -> list[str | None]:
        return [r["headers"].get("Idempotency-Key") for r in self.requests]

    def start(self) -> UploadServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self):  # noqa: N802 (the stdlib's name)
        self._receive()

    def do_POST(self):  # noqa: N802
        self._receive()

    def _receive(self):
        server: UploadServer = self.server
        body = self._body()
        with server.lock:
            server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "body": body})
            action = server.script.pop(0) if server.script else "accept"
        if action == "hang":
            server.released.wait()
            return
        if action == "fail":
            return self._answer(500, b"database busy")
        if action == "busy":
            return self._answer(503, b"", {"Retry-After": "600"})
        if action == "refuse":
            echoed = (self.headers.get("Authorization") or "").encode()
            return self._answer(400, b"bad request from " + echoed)
        key = self.headers.get("Idempotency-Key")
        with server.lock:
            first = key not in server.imported
            if first:
                server.imported.add(key)
                server.imports.append(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip"
                                      else body)
        if action == "import_then_kill":
            os.kill(server.kill_pid, signal.SIGKILL)
            server.released.wait()
            return
        self._answer(201 if first else 200, b'{"imported": true}')

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass
