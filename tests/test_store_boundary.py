"""The task store is the only door to the state database: above it, a database error is one
domain error (StateDatabaseError) with the driver's reason, never a SQLAlchemy type."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.prestashop import create_demo_shop
from core.errors import StateDatabaseError
from reports import action_log
from tasks.batch import BatchResult
from tasks.database import create_state_engine
from tasks.store import TaskStore
from tests.helpers import make_config, make_heartbeat
from tests.proxy import Proxy


def test_an_unreachable_state_database_is_one_domain_error():
    store = TaskStore(create_state_engine("mysql+pymysql://root@127.0.0.1:1/nowhere"), action_log)
    for verb in (lambda: store.get(1), lambda: store.list(), lambda: store.items(1)):
        with pytest.raises(StateDatabaseError) as exc:
            verb()
        assert "Can't connect" in str(exc.value) and "\n" not in str(exc.value)


def test_a_database_error_of_the_callers_own_work_passes_through(tmp_path, db_url, demo_url, clock):
    """A shop's database error raised inside a batch's work is the shop's, not the state database's."""
    beat = make_heartbeat(make_config(tmp_path, db_url, demo_url, batch_size=10), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.tick(clock.advance(1))
    attempt = beat.store.claim(task.id, beat.owner, clock.now(), beat.lease)
    shop_gone = sa.exc.OperationalError("SELECT 1", {}, Exception("shop server has gone away"))

    def work(batch) -> BatchResult:
        raise shop_gone

    with pytest.raises(sa.exc.OperationalError) as exc:
        beat.store.commit_batch(task.id, beat.owner, attempt, clock.now(), work)
    assert exc.value is shop_gone
    assert beat.store.get(task.id).progress.processed == 10  # the batch rolled back


def test_the_state_database_failing_inside_a_callers_function_is_still_its_error(tmp_path, mariadb_url,
                                                                                  clock):
    """Planning reads the batch's items from inside the caller's planner: if the state database goes
    away right then, that is a StateDatabaseError (the heartbeat retries on its next tick), not the
    caller's own failure (which would count towards ending the task)."""
    create_demo_shop(f"sqlite:///{tmp_path / 'shop.db'}", products=30)
    proxy = Proxy(sa.engine.make_url(mariadb_url).port or 3306)
    try:
        state = sa.engine.make_url(mariadb_url).set(port=proxy.port).render_as_string(hide_password=False)
        beat = make_heartbeat(make_config(tmp_path, state, f"sqlite:///{tmp_path / 'shop.db'}",
                                          batch_size=10), clock)
        task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
        beat.tick(clock.advance(1))
        attempt = beat.store.claim(task.id, beat.owner, clock.now(), beat.lease)

        def planner(planning):
            proxy.down()
            return planning.items()

        with pytest.raises(StateDatabaseError):
            beat.store.plan(task.id, beat.owner, attempt, planner)
    finally:
        proxy.close()
