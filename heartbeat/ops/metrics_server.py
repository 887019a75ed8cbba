"""The daemon's small HTTP server for `[metrics] listen = "HOST:PORT"`: /metrics, /livez, /readyz
(heartbeat/ops/metrics.py), served from threads of its own beside the tick loop."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog

from core.errors import Refused
from heartbeat.config.loader import listen_address
from heartbeat.ops import metrics

log = structlog.get_logger("heartbeat")
_TEXT = "text/plain; charset=utf-8"


class MetricsServer:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def start(app, listen: str, clock=None) -> MetricsServer:
    """Serve `app`'s metrics on `listen` ("HOST:PORT"). Raises Refused when it cannot listen there."""
    host, port = listen_address(listen)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, content_type = metrics.exposition(app, clock)
                self._answer(200, body, content_type)
            elif path in ("/livez", "/readyz"):
                health = metrics.liveness() if path == "/livez" else metrics.readiness(app, clock)
                self._answer(health.http_status, health.body, _TEXT)
            else:
                self._answer(404, b"not found: try /metrics, /livez or /readyz\n", _TEXT)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # scrapes every few seconds: not worth a log line each
            pass

    try:
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        server = server_class((host, port), Handler)
    except OSError as exc:
        raise Refused(f"cannot serve metrics on {listen} ([metrics] listen): {exc.strerror or exc}") from None
    server.daemon_threads = True
    log.info("metrics.listening", address=listen)
    return MetricsServer(server)
