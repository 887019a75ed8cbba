"""The state database: engine set-up per backend and schema upgrades through Alembic.

SQLite runs in WAL mode so readers (the CLI) never wait for the daemon; every write transaction
starts with BEGIN IMMEDIATE so two writers queue on the lock instead of deadlocking on an upgrade
from a read lock. Read-only work asks for `sqlite_begin="DEFERRED"`. MySQL/MariaDB run at READ
COMMITTED, the usual level for job queues: row locks without gap locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from core import driver
from core.errors import StateDatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0016"  # keep equal to the newest file in migrations/versions (a test checks)
SQLITE_BUSY_MS = 60_000


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite a deferred one, so a read never waits for a writer's lock
    (nor for its own process's batch, whose transaction holds it). Every store reads through it."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="DEFERRED")
        with conn.begin():
            yield conn


def create_state_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return driver.create_engine(url, pool_recycle=3600, isolation_level="READ COMMITTED",
                                connect_args={"connect_timeout": 10})


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="DEFERRED")
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def ensure_schema(engine: Engine) -> bool:
    """Upgrade to HEAD_REVISION if needed (cheap when already there). True when it upgraded."""
    try:
        if current_revision(engine) == HEAD_REVISION:
            return False
        return upgrade(engine)
    except sa.exc.OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise StateDatabaseError(str(exc.orig).splitlines()[0], shown) from exc


def upgrade(engine: Engine) -> bool:
    """Run Alembic up to head, serialised across processes. True when anything changed."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        mysql = conn.dialect.name in ("mysql", "mariadb")
        if mysql:  # DDL commits implicitly there; a named lock keeps two daemons apart
            conn.exec_driver_sql("SELECT GET_LOCK('heartbeat_migrate', 60)")
        try:
            before = _revision_in(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            return _revision_in(conn) != before
        finally:
            if mysql:
                conn.exec_driver_sql("SELECT RELEASE_LOCK('heartbeat_migrate')")


def _revision_in(conn) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
