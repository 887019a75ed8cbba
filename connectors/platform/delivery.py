"""Uploading a finished export file to the platform over HTTP(S): one bounded attempt per call.

An attempt streams the file from disk in chunks (gzip-compressed on the fly when the connection asks,
then sent with chunked transfer encoding), so a large file is never held in memory. It carries an
`Idempotency-Key: <task id>-<sha256 of the file>` header: the same file of the same task always gets
the same key, so an upload repeated after a crash (Heartbeat uploads at least once) is recognised by
a receiver that honours the key, and imported once.

`upload` never retries by itself and never raises for a failed attempt: it returns a `Sent` saying
whether to try again later (`retryable`); heartbeat.engine.uploads decides when. Messages never hold the
auth header's value (read from the environment at the moment of sending) nor the URL (only its host).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import Connection

CHUNK = 256 * 1024
KEY_HEADER = "Idempotency-Key"
RETRYABLE = {408, 409, 425, 429}  # with every 5xx: the same request may well succeed later
SNIPPET = 200  # characters of an error answer's body kept in the outcome


def target_url_problem(url: str) -> str | None:
    """Why `url` cannot be an http target (None when it can): http(s), a host, no credentials."""
    if any(not c.isprintable() or c.isspace() for c in url):
        return "must be an http:// or https:// URL without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not hold credentials (user:password@); name an environment variable in auth_env"
    if parts.fragment:
        return "must not have a #fragment"
    return None


@dataclass(frozen=True)
class HttpTarget:
    """An http connection's upload settings (docs/configuration.md)."""

    name: str
    url: str
    method: str = "PUT"
    auth_header: str = "Authorization"
    auth_env: str | None = None
    gzip: bool = False
    connect_timeout: float = 10.0
    timeout: float = 60.0

    @classmethod
    def from_connection(cls, conn: Connection) -> HttpTarget:
        o = conn.options
        return cls(conn.name, o["url"], o.get("method", "PUT"), o.get("auth_header", "Authorization"),
                   o.get("auth_env"), o.get("gzip", False), o.get("connect_timeout", 10.0),
                   o.get("timeout", 60.0))

    @property
    def host(self) -> str:
        """host[:port], as messages name the target."""
        parts = urlsplit(self.url)
        return parts.hostname + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class Sent:
    """The outcome of one attempt: the answer's HTTP status (None: no answer), the attempt's
    duration, why it failed (None: delivered), whether a later attempt may succeed, how long the
    target asked to wait (Retry-After, seconds) and the file's SHA-256 (None if it was not read)."""

    status: int | None = None
    seconds: float = 0.0
    error: str | None = None
    retryable: bool = True
    retry_after: float | None = None
    sha256: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


class _Failed(Exception):
    """An attempt that got no usable answer; the message is the outcome's reason."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.retryable = retryable


def idempotency_key(task_id: int, sha256: str) -> str:
    return f"{task_id}-{sha256}"


def file_sha256(path: str, size: int) -> str:
    """SHA-256 of the first `size` bytes of `path` (the committed export file), read in chunks.
    Raises OSError, or _Failed when the file is shorter."""
    digest = hashlib.sha256()
    for chunk in _chunks(path, size):
        digest.update(chunk)
    return digest.hexdigest()


def upload(target: HttpTarget, task_id: int, path: str, size: int, env: Mapping[str, str] | None = None,
           monotonic: Callable[[], float] = time.monotonic) -> Sent:
    """One attempt to send the first `size` bytes of `path` (task_id's export file) to `target`."""
    env = os.environ if env is None else env
    started = monotonic()
    try:
        sha256 = file_sha256(path, size)
    except _Failed as exc:
        return Sent(error=str(exc), retryable=False)
    except OSError as exc:
        return Sent(error=f"cannot read the export file {path}: {exc.strerror or exc}", retryable=False)
    headers = {"Content-Type": "application/json", KEY_HEADER: idempotency_key(task_id, sha256),
               "User-Agent": "heartbeat"}
    secret = None
    if target.auth_env:
        secret = env.get(target.auth_env)
        if secret is None:
            return Sent(error=f"connections.{target.name}.auth_env: environment variable {target.auth_env} "
                              "is not set", sha256=sha256)
        headers[target.auth_header] = secret
    if target.gzip:
        headers["Content-Encoding"] = "gzip"  # no Content-Length: http.client sends it chunked
    else:
        headers["Content-Length"] = str(size)
    try:
        status, reason, retry_after, text = _send(target, path, size, headers)
    except _Failed as exc:
        return Sent(seconds=monotonic() - started, error=_scrub(str(exc), secret), retryable=exc.retryable,
                    sha256=sha256)
    seconds = monotonic() - started
    if 200 <= status < 300:
        return Sent(status, seconds, sha256=sha256)
    why = f"HTTP {status} {reason}".rstrip()
    if 300 <= status < 400:
        why += " (redirects are not followed: set url to the final address)"
    elif text:
        why += f": {_scrub(text, secret)}"
    retryable = status >= 500 or status in RETRYABLE
    return Sent(status, seconds, why, retryable, retry_after, sha256)


def _send(target: HttpTarget, path: str, size: int,
          headers: dict[str, str]) -> tuple[int, str, float | None, str]:
    """(status, reason, Retry-After seconds, the start of the answer's body) of one request."""
    parts = urlsplit(target.url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=target.connect_timeout)
    try:
        try:
            conn.connect()
        except TimeoutError:
            raise _Failed(f"cannot connect to {target.host} within {target.connect_timeout:g} s") from None
        except OSError as exc:
            raise _Failed(f"cannot connect to {target.host}: {_why(exc)}") from None
        conn.sock.settimeout(target.timeout)  # from here on, each send and read waits this long at most
        body = _gzipped(path, size) if target.gzip else _chunks(path, size)
        location = parts.path or "/"
        try:
            conn.request(target.method, location + (f"?{parts.query}" if parts.query else ""), body, headers)
            response = conn.getresponse()
            text = response.read(4096)
        except TimeoutError:
            raise _Failed(f"no answer from {target.host} within {target.timeout:g} s (timeout)") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Failed(f"connection to {target.host} lost: {_why(exc)}") from None
        return response.status, response.reason or "", _retry_after(response.getheader("Retry-After")), \
            _first_line(text)
    finally:
        conn.close()


def _chunks(path: str, size: int) -> Iterator[bytes]:
    """The first `size` bytes of `path`, a chunk at a time."""
    left = size
    with open(path, "rb") as f:
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise _Failed(f"the export file {path} is shorter than its committed {size} bytes",
                              retryable=False)
            left -= len(chunk)
            yield chunk


def _gzipped(path: str, size: int) -> Iterator[bytes]:
    """The file gzip-compressed as it is read (a gzip member without a time stamp: the same bytes
    every attempt)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in _chunks(path, size):
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delay form; an HTTP date is ignored)."""
    return float(value) if value and value.strip().isdigit() else None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    line = "".join(c for c in text[0] if c.isprintable()) if text else ""
    return line if len(line) <= SNIPPET else line[:SNIPPET - 3] + "..."


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _scrub(text: str, secret: str | None) -> str:
    """`text` without the auth header's value (a target may echo it in an error)."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
        for part in re.split(r"\s+", secret):  # "Bearer TOKEN": the token alone too
            if len(part) >= 8:
                text = text.replace(part, "***")
    return text
