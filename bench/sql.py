"""Plain DBAPI connections (sqlite3, pymysql) for the raw limit and the rq peer: no SQLAlchemy.

URLs are written as the product's config writes them (SQLAlchemy form) and parsed here with urllib,
once. Session settings copy the product's (tasks/database.py), so both sides pay for the same
durability: the state database in WAL with synchronous=NORMAL and writers taking BEGIN IMMEDIATE on
SQLite, READ COMMITTED on MariaDB; shops keep the driver's defaults, as the PrestaShop connector does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

SQLITE_PREFIX = "sqlite:///"


@dataclass
class Db:
    """One connection and the few things that differ between the two drivers."""

    conn: Any
    mysql: bool

    def __post_init__(self):
        self.cur = self.conn.cursor()
        self.mark = "%s" if self.mysql else "?"
        self.for_update = " FOR UPDATE" if self.mysql else ""

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    def sql(self, text: str) -> str:
        """`text` written with `?` placeholders, in this driver's style."""
        return text.replace("?", "%s") if self.mysql else text

    def begin(self) -> None:
        """Start a write transaction (pymysql has one open implicitly)."""
        if not self.mysql:
            self.cur.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.commit() if self.mysql else self.cur.execute("COMMIT")

    def rollback(self) -> None:
        if self.mysql:
            self.conn.rollback()
        elif self.conn.in_transaction:
            self.cur.execute("ROLLBACK")

    def ts(self, moment: datetime) -> Any:
        """A naive UTC datetime as the product stores it (SQLAlchemy's SQLite text format)."""
        return moment if self.mysql else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def close(self) -> None:
        self.conn.close()


def sqlite_path(url: str) -> str | None:
    return url[len(SQLITE_PREFIX):] if url.startswith(SQLITE_PREFIX) else None


def connect(url: str, *, state: bool) -> Db:
    """A connection to a state database (`state=True`) or a shop, from its URL."""
    path = sqlite_path(url)
    if path is not None:
        if state:
            conn = sqlite3.connect(path, isolation_level=None, timeout=60)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000"):
                conn.execute(f"PRAGMA {pragma}")
        else:  # mode=rw, as the connector opens a shop
            conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None,
                                   timeout=60)
        return Db(conn, mysql=False)
    return Db(mysql_connect(url), mysql=True)


def mysql_connect(url: str, database: bool = True):
    """A pymysql connection (autocommit off, READ COMMITTED) from a mysql+pymysql:// URL."""
    import pymysql

    u = urlsplit(url)
    conn = pymysql.connect(
        host=u.hostname or "127.0.0.1", port=u.port or 3306, user=unquote(u.username or "root"),
        password=unquote(u.password or ""), database=(u.path.lstrip("/") or None) if database else None,
        charset="utf8mb4", autocommit=False,
    )
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    return conn
