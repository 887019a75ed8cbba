"""Credentials: the signed session cookie, CSRF tokens, the API token and the login rate limit.
Passwords, users, their tokens and their sessions on the server are heartbeat.services.users' (the
names below are kept for the commands and tests that use them). No request handling here (guard.py
does that); every check is constant-time.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections import deque
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.errors import Refused
from heartbeat.services.users import MIN_PASSWORD, hash_password, password_matches  # noqa: F401

MIN_TOKEN = 16  # characters of HEARTBEAT_API_TOKEN
COOKIE_DAYS = 30  # the cookie's own life; the server ends the session sooner ([web] session_idle, logout)


def api_token(environ: dict | os._Environ = os.environ) -> str | None:
    """HEARTBEAT_API_TOKEN, or None when unset or empty; refuses one too short to be a secret."""
    token = environ.get("HEARTBEAT_API_TOKEN") or None
    if token is not None and len(token) < MIN_TOKEN:
        raise Refused(f"HEARTBEAT_API_TOKEN must have at least {MIN_TOKEN} characters (it has {len(token)}); "
                      "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token


def token_matches(expected: str | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())


def secret_key(data_dir: Path) -> bytes:
    """The key that signs session cookies: <data_dir>/web-session.key, made once (mode 0600), so a
    restart keeps people logged in. Delete the file to log everybody out."""
    path = data_dir / "web-session.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise Refused(f"{path} is not a session key (hex); delete it and a new one is made") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    return key


class Sessions:
    """The browser's cookie: signed (not encrypted), holding a CSRF token, a one-line message for
    the next page, and once logged in the id of a session the state database keeps
    (heartbeat.services.users): the cookie alone never lets anybody in, so a logout holds."""

    COOKIE = "heartbeat_session"

    def __init__(self, key: bytes, max_age: int = COOKIE_DAYS * 86400):
        self.signer = URLSafeTimedSerializer(key, salt="heartbeat.web.session")
        self.max_age = max_age

    def load(self, cookie: str | None) -> dict:
        if not cookie:
            return {}
        try:
            data = self.signer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def dump(self, data: dict) -> str:
        return self.signer.dumps(data)

    @staticmethod
    def log_in(session: dict, session_id: str) -> None:
        session.clear()
        session["sid"] = session_id
        session["csrf"] = secrets.token_urlsafe(24)  # a new token at login (no fixation)

    @staticmethod
    def csrf(session: dict) -> str:
        """The session's CSRF token, made on first use."""
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    @staticmethod
    def csrf_matches(session: dict, given: str | None) -> bool:
        expected = session.get("csrf")
        return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode())


class LoginLimiter:
    """At most `per_address` failed logins per `window` seconds from one address and `overall` from
    all addresses together; `wait` says how many seconds until the next attempt is heard. Time is
    passed in (monotonic seconds)."""

    def __init__(self, per_address: int = 5, overall: int = 50, window: float = 900.0):
        self.per_address, self.overall, self.window = per_address, overall, window
        self.failures: dict[str, deque[float]] = {}
        self.all: deque[float] = deque()

    def wait(self, address: str, now: float) -> float:
        self._expire(now)
        mine = self.failures.get(address, ())
        waits = [q[0] + self.window - now for q, limit in ((mine, self.per_address), (self.all, self.overall))
                 if len(q) >= limit]
        return max(waits, default=0.0)

    def failed(self, address: str, now: float) -> None:
        self.failures.setdefault(address, deque()).append(now)
        self.all.append(now)

    def succeeded(self, address: str) -> None:
        self.failures.pop(address, None)

    def _expire(self, now: float) -> None:
        while self.all and self.all[0] <= now - self.window:
            self.all.popleft()
        for address in list(self.failures):
            q = self.failures[address]
            while q and q[0] <= now - self.window:
                q.popleft()
            if not q:
                del self.failures[address]
