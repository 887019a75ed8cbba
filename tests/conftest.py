"""Shared fixtures: every database test runs on SQLite and on MariaDB.

MariaDB is reached at $HEARTBEAT_TEST_MARIADB (default mysql+pymysql://root@127.0.0.1:3306). Each test
gets a database of its own, created and dropped here. Without a server the MariaDB cases are skipped
with the reason, unless HEARTBEAT_REQUIRE_MARIADB=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import structlog

from core.clock import FrozenClock
from tests.feed_server import FeedServer

MARIADB_SERVER = os.environ.get("HEARTBEAT_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
_mariadb_error: str | None = None


def _mariadb_reachable() -> str | None:
    """None when the server answers, else why not (cached)."""
    global _mariadb_error
    if _mariadb_error is None:
        try:
            engine = sa.create_engine(MARIADB_SERVER, connect_args={"connect_timeout": 3})
            with engine.connect():
                pass
            engine.dispose()
            _mariadb_error = ""
        except Exception as exc:  # any driver error means: not reachable
            _mariadb_error = str(exc).splitlines()[0]
    return _mariadb_error or None


@pytest.fixture
def mariadb_url():
    """URL of a fresh, empty MariaDB database, dropped after the test."""
    why = _mariadb_reachable()
    if why:
        msg = f"MariaDB not reachable at {MARIADB_SERVER}: {why}"
        if os.environ.get("HEARTBEAT_REQUIRE_MARIADB") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    name = "hb_test_" + uuid.uuid4().hex[:12]
    server = sa.create_engine(MARIADB_SERVER)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        server.dispose()


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request):
    """The name of the database backend a test runs on."""
    return request.param


@pytest.fixture
def db_url(backend, tmp_path, request):
    """A fresh database URL on the parametrized backend (a state DB or a shop DB)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("mariadb_url")


@pytest.fixture
def shop_url(backend, tmp_path, request):
    """A second fresh database URL on the same backend, for a shop."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'demo-shop.db'}"
    return request.getfixturevalue("mariadb_url")


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 2, 9, 0, 30, tzinfo=UTC))


@pytest.fixture
def demo_products():
    """How many products the demo shop of `demo_url` has (a test module may override this)."""
    return 200


@pytest.fixture
def demo_url(shop_url, demo_products):
    """A demo shop (seed 42) on the parametrized backend."""
    from connectors.prestashop import create_demo_shop

    create_demo_shop(shop_url, products=demo_products, seed=42)
    return shop_url


@pytest.fixture
def shop(demo_url):
    """The demo shop, opened (test modules that need only a URL define their own `shop`)."""
    from connectors.prestashop import PrestaShop

    with PrestaShop(demo_url, name="demo_shop") as s:
        yield s


@pytest.fixture
def server():
    """A FeedServer running in a thread of this process."""
    srv = FeedServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _structlog_defaults():
    """Every test starts with structlog's defaults: a test that configures the logs (a level of
    warning, say) must not hide another's info events from `capture_logs` in the same process."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
