"""Listening: `heartbeat web` in the foreground, or a thread of `heartbeat run` ([web] listen).

uvicorn serves the application on a socket bound here first, so a bad or busy address is one clear
line before anything starts. An address other than loopback needs `[web] password_hash`. Behind a
reverse proxy on this machine, uvicorn takes the client address and scheme from X-Forwarded-For and
X-Forwarded-Proto sent by 127.0.0.1 only (login rate limit per client, Secure cookie under https).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import threading

import structlog
import uvicorn

from core.errors import Refused
from heartbeat.app import App
from heartbeat.web import auth, operations
from heartbeat.web.app import create_app
from heartbeat.web.guard import allowed_hosts

log = structlog.get_logger("heartbeat.web")


def parse_listen(text: str) -> tuple[str, int]:
    """("127.0.0.1", 8080) from "127.0.0.1:8080"; "[::1]:8080" for IPv6."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Refused(f"cannot listen on {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def application(app: App, host: str, refresh_seconds: float = 3.0):
    """The web application over the App's task verbs; refuses an exposed address without a password."""
    web = app.config.web
    if not app.users.login_required() and not is_loopback(host):
        raise Refused(f"refusing to listen on {host} without a password: anyone on the network could use "
                      "the page; set [web] password_hash (see `heartbeat web hash-password`), add a user "
                      "(`heartbeat web user add NAME --role admin`) or listen on 127.0.0.1")
    return create_app(app.tasks, password_hash=web.password_hash, api_token=auth.api_token(),
                      secret_key=auth.secret_key(app.config.data_dir), refresh_seconds=refresh_seconds,
                      operations_routes=operations.routes(app), users=app.users,
                      hosts=allowed_hosts(host, web.allowed_hosts))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Refused(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class Server(uvicorn.Server):
    """uvicorn's server without its signal handling, which re-raises SIGTERM after the shutdown (an
    exit status of -15): `serve` installs ours, and under `heartbeat run` the daemon's stop it."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def server(asgi) -> Server:
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    config = uvicorn.Config(asgi, log_config=None, access_log=False, lifespan="off", server_header=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", timeout_graceful_shutdown=5)
    return Server(config)


def prepare(app: App, listen: str) -> tuple[Server, socket.socket]:
    host, port = parse_listen(listen)
    asgi = application(app, host)
    sock = bind(host, port)
    if not app.users.login_required():
        log.warning("web.no_password", listen=listen,
                    hint="anyone who can reach this address on this machine can use the page")
    return server(asgi), sock


def serve(app: App, listen: str) -> int:
    """`heartbeat web`: serve until SIGTERM/SIGINT (uvicorn finishes the requests in flight)."""
    srv, sock = prepare(app, listen)

    def on_signal(signum, _frame):
        if srv.should_exit:  # a second signal: do not wait for the requests in flight
            srv.force_exit = True
        srv.should_exit = True
        log.info("web.stopping", signal=signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("web.listening", url=f"http://{listen}/")
    srv.run(sockets=[sock])
    log.info("web.stopped")
    return 0


class Background:
    """The page served from a thread with its own event loop, beside the daemon's heartbeat."""

    def __init__(self, app: App, listen: str):
        self.listen = listen
        self.server, self.sock = prepare(app, listen)
        self.thread = threading.Thread(target=self._run, name="heartbeat-web", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self) -> Background:
        self.thread.start()
        log.info("web.listening", url=f"http://{self.listen}/")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        log.info("web.stopped")
