"""The state database: migrations create exactly the tables the code declares, on both backends, and
upgrade an existing database keeping its rows."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tasks import tables
from tasks.database import HEAD_REVISION, MIGRATIONS, create_state_engine, current_revision, ensure_schema
from tasks.store import TaskStore
from tests.helpers import execute, make_store


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


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    """Migrate to an older revision, as a database made by an earlier release would be."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _add_task(store: TaskStore, clock) -> int:
    profile = SimpleNamespace(name="catalogue", kind="export", batch_size=10)
    return store.create(profile, "manual", clock.now(), clock.now()).id


def test_task_ids_are_never_reused_after_a_delete(db_url, clock):
    store = make_store(db_url)
    ids = [_add_task(store, clock) for _ in range(3)]
    store.delete(ids[-1], clock.now())
    assert _add_task(store, clock) == ids[-1] + 1
    for task in store.list():
        store.delete(task.id, clock.now())
    assert _add_task(store, clock) == ids[-1] + 2


def test_upgrade_keeps_tasks_and_never_reuses_an_id_a_row_still_names(db_url, clock):
    engine = create_state_engine(db_url)
    _upgrade_to(engine, "0003")
    execute(db_url, *[
        "INSERT INTO hb_tasks (id, profile, kind, status, triggered_by, created_at, scheduled_at, "
        f"batch_size) VALUES ({i}, 'catalogue', 'export', 'completed', 'manual', '2026-11-01 10:00:00', "
        "'2026-11-01 10:00:00', 10)" for i in range(1, 6)
    ], "INSERT INTO hb_items (task_id, position, product_id, status) VALUES (3, 1, 7, 'processed')",
        "INSERT INTO hb_log (task_id, logged_at, level, message) "
        "VALUES (3, '2026-11-01 10:00:00', 'info', 'x')",
        "INSERT INTO hb_sync_state (profile, product_id, hash, task_id, sent_at) "
        "VALUES ('catalogue', 7, 'h', 5, '2026-11-01 10:00:00')",
        "DELETE FROM hb_tasks WHERE id IN (4, 5)")  # deleted before the upgrade; the sync state names 5
    assert ensure_schema(engine) is True
    store = make_store(db_url)
    assert [t.id for t in store.list()] == [3, 2, 1]
    assert store.item_counts(3) == {"processed": 1} and [line.message for line in store.log(3)] == ["x"]
    assert _add_task(store, clock) == 6
    with engine.connect() as conn:  # indexes and columns as declared
        assert compare_metadata(MigrationContext.configure(conn), tables.metadata) == []


def test_upgrade_cancels_the_items_an_error_left_pending(db_url):
    engine = create_state_engine(db_url)
    _upgrade_to(engine, "0004")
    execute(db_url,
            "INSERT INTO hb_tasks (id, profile, kind, status, triggered_by, created_at, scheduled_at, "
            "batch_size, message, total, pending, processed, handled_upto) VALUES (1, 'catalogue', 'export', "
            "'error', 'manual', '2026-11-01 10:00:00', '2026-11-01 10:00:00', 10, 'disk full', 3, 2, 1, 1)",
            "INSERT INTO hb_items (task_id, position, product_id, status) VALUES "
            "(1, 1, 7, 'processed'), (1, 2, 8, 'pending'), (1, 3, 9, 'pending')")
    ensure_schema(engine)
    store = make_store(db_url)
    task = store.get(1)
    assert (task.progress.pending, task.progress.cancelled, task.handled_upto) == (0, 2, 3)
    assert [(r.status, r.detail) for r in store.items(1)] == [
        ("processed", None), ("cancelled", "task ended in error: disk full"),
        ("cancelled", "task ended in error: disk full")]
