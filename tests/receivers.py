"""Real receivers of notifications on 127.0.0.1 for the tests: a webhook (an HTTP server that can
fail its first requests) and an SMTP server speaking just enough of RFC 5321, each in a thread."""

from __future__ import annotations

import email
import email.policy
import http.server
import socketserver
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver(http.server.ThreadingHTTPServer):
    """Answers 500 to its first `fail_first` POSTs, then 200; keeps every request."""

    daemon_threads = True

    def __init__(self, fail_first: int = 0):
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.fail_first = fail_first
        self.requests: list[Request] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if r.answered == 200]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: WebhookReceiver = self.server
        code = 500 if len(server.requests) < server.fail_first else 200
        server.requests.append(Request(self.path, dict(self.headers), body, code))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class SmtpReceiver(socketserver.ThreadingTCPServer):
    """Accepts every message; keeps them as email.message.EmailMessage objects, with the envelope."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self._say("220 test SMTP ready")
        sender, recipients = "", []
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb == "MAIL":
                sender, recipients = line.decode().split(":", 1)[1].strip(), []
                self._say("250 ok")
            elif verb == "RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip())
                self._say("250 ok")
            elif verb == "DATA":
                self._say("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                msg = email.message_from_bytes(data, policy=email.policy.default)
                self.server.messages.append((sender, recipients, msg))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")

    def _say(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()
