"""Users of the web page and API: the verbs `heartbeat web user ...`, the Users page and /api/users
call, and the checks the guard (heartbeat/web/guard.py) makes for each request.

Who can log in: the users stored in the state database (argon2id password, a role), and the single
`[web] password_hash` of the config, which logs in as "admin" with the admin role (so set-ups made
before named users keep working). Login sessions live in the state database: logging out ends one
on the server, `user logout NAME` ends all of a user's, a password or role change ends the user's
other sessions, and a session idle longer than `[web] session_idle` is refused. API tokens are
random, shown once and stored as SHA-256. argon2 is imported on first use (docs/performance.md:
commands that need no password start without it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from core.actor import Actor, Role
from core.clock import Clock
from core.errors import Refused, UserNotFound
from heartbeat.services.audit import AuditTrail
from tasks.stores.users import Token, User, UserStore

MIN_PASSWORD = 12  # characters; docs/web.md
CONFIG_ADMIN = "admin"  # the name the single [web] password_hash logs in as
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CONFIG_SESSION = "@config:"  # a session of the config's password: "@config:<fingerprint>"


def hash_password(password: str) -> str:
    """An argon2id hash (the library's RFC 9106 low-memory parameters); refuses a password shorter
    than MIN_PASSWORD."""
    if len(password) < MIN_PASSWORD:
        raise Refused(f"the password must have at least {MIN_PASSWORD} characters (it has {len(password)})")
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def checked_name(name: str, what: str = "user name") -> str:
    if not NAME.fullmatch(name or ""):
        raise Refused(f"{what} {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                      "letter or digit")
    return name


@dataclass(frozen=True)
class Login:
    """A session opened by `UserManager.login`: the id for the cookie and who it is."""

    session_id: str
    name: str
    role: Role


class UserManager:
    def __init__(self, store: UserStore, audit: AuditTrail, clock: Clock, config_password: str | None,
                 web):
        """`config_password`: `[web] password_hash` (None: no config admin); `web`: core.config.Web."""
        self.store, self.audit, self.clock = store, audit, clock
        self.config_password, self.idle = config_password, web.idle
        self._fingerprint = sha256(config_password)[:32] if config_password else None

    # -- managing users (admin) --------------------------------------------------------------------

    def add(self, name: str, role: str, password: str, actor: Actor) -> User:
        role = _role(role)
        user = self.store.add(checked_name(name), role.name, hash_password(password), self.clock.now())
        self.audit.record(actor, "user.add", f"user:{name}", f"role {role.name}")
        return user

    def list(self) -> list[User]:
        return self.store.list()

    def get(self, name: str) -> User:
        return self.store.get(name)

    def remove(self, name: str, actor: Actor) -> None:
        """The user with their tokens and sessions."""
        self.store.remove(name)
        self.audit.record(actor, "user.remove", f"user:{name}")

    def passwd(self, name: str, password: str, actor: Actor, keep_session: str | None = None) -> int:
        """A new password; the user's other sessions end. Returns how many ended."""
        ended = self.store.update(name, self.clock.now(), password_hash=hash_password(password),
                                  keep_session=keep_session and sha256(keep_session))
        self.audit.record(actor, "user.passwd", f"user:{name}", f"{ended} other sessions ended")
        return ended

    def set_role(self, name: str, role: str, actor: Actor, keep_session: str | None = None) -> int:
        """A new role; the user's other sessions end. Returns how many ended."""
        role = _role(role)
        ended = self.store.update(name, self.clock.now(), role=role.name,
                                  keep_session=keep_session and sha256(keep_session))
        self.audit.record(actor, "user.role", f"user:{name}",
                          f"role {role.name}; {ended} other sessions ended")
        return ended

    def logout(self, name: str, actor: Actor) -> int:
        """End every session of `name`; returns how many there were."""
        self.store.get(name)
        ended = self.store.end_sessions(name)
        self.audit.record(actor, "user.logout", f"user:{name}", f"{ended} sessions ended")
        return ended

    def new_token(self, name: str, actor: Actor, label: str | None = None) -> tuple[Token, str]:
        """(the token's record, the token itself: shown once, only its SHA-256 is kept)."""
        if label is None:
            taken = {t.label for t in self.store.tokens(name)}
            label = next(f"token-{n}" for n in range(1, len(taken) + 2) if f"token-{n}" not in taken)
        secret = "hb_" + secrets.token_urlsafe(32)
        label = checked_name(label, "token label")
        token = self.store.add_token(name, label, sha256(secret), self.clock.now())
        self.audit.record(actor, "token.add", f"user:{name}", f"token {label}")
        return token, secret

    def tokens(self, name: str) -> list[Token]:
        return self.store.tokens(name)

    def revoke(self, name: str, label: str, actor: Actor) -> None:
        self.store.revoke(name, label)
        self.audit.record(actor, "token.revoke", f"user:{name}", f"token {label}")

    # -- who is asking (the guard) -----------------------------------------------------------------

    def login_required(self) -> bool:
        """False only with no [web] password_hash and no user: the page is open (loopback only)."""
        return bool(self.config_password) or self.store.any()

    def login(self, name: str, password: str, address: str | None) -> Login | None:
        """A new session for the right name and password, else None. A blank name (or "admin"
        when no user has that name) with the config's password logs in as the config admin."""
        name = (name or "").strip()
        user = None
        if name:
            try:
                user = self.store.get(name)
            except UserNotFound:
                user = None
        if user is not None:
            if not password_matches(user.password_hash, password):
                return None
            who, role = user.name, Role.named(user.role)
        elif name in ("", CONFIG_ADMIN) and self.config_password and password_matches(self.config_password,
                                                                                        password):
            who, role = _CONFIG_SESSION + self._fingerprint, Role.admin
        else:
            if not name or user is None:  # the same work as a wrong password: no timing hint
                password_matches(_DUMMY, password)
            return None
        session_id = secrets.token_urlsafe(32)
        self.store.open_session(sha256(session_id), who, self.clock.now(), address)
        return Login(session_id, CONFIG_ADMIN if who.startswith(_CONFIG_SESSION) else who, role)

    def session(self, session_id: str | None, address: str | None) -> Actor | None:
        """The actor of a live session (its role as the user has it now), else None."""
        if not session_id:
            return None
        who = self.store.session(sha256(session_id), self.clock.now(), self.idle)
        if who is None:
            return None
        if who.startswith(_CONFIG_SESSION):  # ended when the config's password changed
            if self._fingerprint is None or not hmac.compare_digest(who, _CONFIG_SESSION + self._fingerprint):
                return None
            return Actor(CONFIG_ADMIN, "web", Role.admin, address)
        try:
            user = self.store.get(who)
        except UserNotFound:
            return None
        return Actor(user.name, "web", Role.named(user.role), address)

    def end_session(self, session_id: str | None) -> None:
        if session_id:
            self.store.end_session(sha256(session_id))

    def token(self, secret: str, address: str | None) -> Actor | None:
        """The actor of a user's API token, else None."""
        found = self.store.token_owner(sha256(secret), self.clock.now())
        if found is None:
            return None
        user, label = found
        return Actor(user.name, "api", Role.named(user.role), address, token=label)


def _role(name: str) -> Role:
    try:
        return Role.named(name)
    except ValueError as exc:
        raise Refused(str(exc)) from None


_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$DaHwJKoclqXOP27H3xfc3A$kGOi1gkiDHGGHWoKU7rIFBXdSB6pSUX3dedZG2IZFpE"
