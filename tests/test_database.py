"""The state database: migrations create exactly the tables the code declares, on both backends."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tasks import tables
from tasks.database import HEAD_REVISION, MIGRATIONS, create_state_engine, current_revision, ensure_schema


def test_upgrade_creates_schema_once_and_is_idempotent(db_url):
    engine = create_state_engine(db_url)
    assert current_revision(engine) is None
    assert ensure_schema(engine) is True
    assert ensure_schema(engine) is False
    assert current_revision(engine) == HEAD_REVISION


def test_migrated_schema_matches_the_declared_tables(db_url):
    engine = create_state_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []


def test_head_revision_constant_is_the_newest_migration():
    revisions = sorted(p.name.split("_")[0] for p in (Path(MIGRATIONS) / "versions").glob("[0-9]*.py"))
    assert revisions[-1] == HEAD_REVISION


def test_sqlite_state_uses_wal_so_readers_do_not_wait(tmp_path):
    engine = create_state_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert isinstance(engine, sa.Engine)
