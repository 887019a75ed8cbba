"""Named users of the web page and API, their API tokens and their login sessions.

Only hashes are stored: a password's argon2id hash (made by the caller), a token's or a session
id's SHA-256 (each a long random string: a fast hash is enough, and a request finds its row by it).
Every verb is one short transaction; database errors become StateDatabaseError (tasks.guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.clock import as_utc, iso
from core.errors import Refused, UserNotFound
from tasks import tables as t
from tasks.database import reading
from tasks.guard import guarded
from tasks.rows import naive

U, K, S = t.users.c, t.tokens.c, t.sessions.c
TOUCH_EVERY = timedelta(seconds=60)  # a session's or token's "last seen" is written at most this often


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict:
        """No hash: what `user list --json` and GET /api/users show."""
        return {"name": self.name, "role": self.role, "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at)}


@dataclass(frozen=True)
class Token:
    user: str
    label: str
    created_at: datetime
    last_used_at: datetime | None

    def to_json(self) -> dict:
        return {"user": self.user, "label": self.label, "created_at": iso(self.created_at),
                "last_used_at": iso(self.last_used_at)}


def _user(row) -> User:
    return User(row.name, row.role, row.password_hash, as_utc(row.created_at), as_utc(row.updated_at))


class UserStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _read(self):
        return reading(self.engine)

    # -- users -------------------------------------------------------------------------------------

    @guarded
    def add(self, name: str, role: str, password_hash: str, now: datetime) -> User:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(U.name).where(U.name == name)).first() is not None:
                raise Refused(f"user {name!r} exists already; change it with `heartbeat web user passwd` "
                              "or `user role`")
            conn.execute(t.users.insert().values(name=name, role=role, password_hash=password_hash,
                                                 created_at=naive(now), updated_at=naive(now)))
        return self.get(name)

    @guarded
    def get(self, name: str) -> User:
        """Raises UserNotFound."""
        with self._read() as conn:
            row = conn.execute(sa.select(t.users).where(U.name == name)).first()
        if row is None:
            raise UserNotFound(name)
        return _user(row)

    @guarded
    def list(self) -> list[User]:
        with self._read() as conn:
            return [_user(r) for r in conn.execute(sa.select(t.users).order_by(U.name))]

    @guarded
    def any(self) -> bool:
        with self._read() as conn:
            return conn.execute(sa.select(U.name).limit(1)).first() is not None

    @guarded
    def remove(self, name: str) -> None:
        """The user with its tokens and sessions. Raises UserNotFound."""
        with self.engine.begin() as conn:
            if conn.execute(t.users.delete().where(U.name == name)).rowcount == 0:
                raise UserNotFound(name)
            conn.execute(t.tokens.delete().where(K.user_name == name))
            conn.execute(t.sessions.delete().where(S.user_name == name))

    @guarded
    def update(self, name: str, now: datetime, *, role: str | None = None, password_hash: str | None = None,
               keep_session: str | None = None) -> int:
        """Change a user's role and/or password; every session of theirs but `keep_session` (a
        session hash: the one making the change) ends with it. Returns the sessions ended."""
        values = {"updated_at": naive(now)}
        if role is not None:
            values["role"] = role
        if password_hash is not None:
            values["password_hash"] = password_hash
        with self.engine.begin() as conn:
            if conn.execute(t.users.update().where(U.name == name).values(**values)).rowcount == 0:
                raise UserNotFound(name)
            ended = t.sessions.delete().where(S.user_name == name)
            if keep_session:
                ended = ended.where(S.hash != keep_session)
            return conn.execute(ended).rowcount

    # -- API tokens ----------------------------------------------------------------------------------

    @guarded
    def add_token(self, user: str, label: str, token_hash: str, now: datetime) -> Token:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(U.name).where(U.name == user)).first() is None:
                raise UserNotFound(user)
            if conn.execute(sa.select(K.label).where(K.user_name == user, K.label == label)).first():
                raise Refused(f"user {user!r} has a token labelled {label!r} already; revoke it first "
                              f"(`heartbeat web user revoke {user} {label}`) or choose another --label")
            conn.execute(t.tokens.insert().values(hash=token_hash, user_name=user, label=label,
                                                  created_at=naive(now)))
        return Token(user, label, now, None)

    @guarded
    def tokens(self, user: str) -> list[Token]:
        self.get(user)
        with self._read() as conn:
            rows = conn.execute(sa.select(K.user_name, K.label, K.created_at, K.last_used_at)
                                .where(K.user_name == user).order_by(K.label))
            return [Token(r.user_name, r.label, as_utc(r.created_at), as_utc(r.last_used_at)) for r in rows]

    @guarded
    def revoke(self, user: str, label: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(t.tokens.delete().where(K.user_name == user, K.label == label)).rowcount == 0:
                self.get(user)
                raise Refused(f"user {user!r} has no token labelled {label!r}")

    @guarded
    def token_owner(self, token_hash: str, now: datetime) -> tuple[User, str] | None:
        """(user, token label) of a token, noting its use; None for an unknown token."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.users, K.label, K.last_used_at).join(
                t.tokens, K.user_name == U.name).where(K.hash == token_hash)).first()
            if row is None:
                return None
            if row.last_used_at is None or as_utc(row.last_used_at) + TOUCH_EVERY < now:
                conn.execute(t.tokens.update().where(K.hash == token_hash).values(last_used_at=naive(now)))
        return _user(row), row.label

    # -- login sessions ------------------------------------------------------------------------------

    @guarded
    def open_session(self, session_hash: str, user: str, now: datetime, address: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.sessions.insert().values(hash=session_hash, user_name=user, created_at=naive(now),
                                                    last_seen=naive(now), address=(address or "")[:64]))

    @guarded
    def session(self, session_hash: str, now: datetime, idle: timedelta) -> str | None:
        """The user name of a live session, noting the request; None when it is unknown, ended, or
        idle longer than `idle` (then it is ended now)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(S.user_name, S.last_seen).where(S.hash == session_hash)).first()
            if row is None:
                return None
            seen = as_utc(row.last_seen)
            if seen + idle < now:
                conn.execute(t.sessions.delete().where(S.hash == session_hash))
                return None
            if seen + TOUCH_EVERY < now:
                conn.execute(t.sessions.update().where(S.hash == session_hash).values(last_seen=naive(now)))
            return row.user_name

    @guarded
    def end_session(self, session_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.sessions.delete().where(S.hash == session_hash))

    @guarded
    def end_sessions(self, user: str) -> int:
        """Every session of `user`; returns how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(t.sessions.delete().where(S.user_name == user)).rowcount

    @guarded
    def forget_idle(self, before: datetime) -> int:
        """Sessions not seen since `before` (housekeeping; an idle one is refused anyway)."""
        with self.engine.begin() as conn:
            return conn.execute(t.sessions.delete().where(S.last_seen < naive(before))).rowcount
