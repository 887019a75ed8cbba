"""What one batch costs the state database, counted: statements sent (on MariaDB an executemany
of an UPDATE counts once per row, as pymysql sends it), commits and connection checkouts, during one heartbeat
that does one batch of a running export and then of a running import, on SQLite and MariaDB.
A count, not a time: it cannot flake, and it goes up only when the code sends more."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import sqlalchemy as sa

from core import driver
from tasks import database
from tests.helpers import import_config, make_config, make_heartbeat, write_csv


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    checkouts: int = 0
    other: list[str] = field(default_factory=list)  # pings and rollbacks the pool sent of its own

    def watch(self, engine: sa.Engine) -> None:
        def statement(conn, cursor, sql, parameters, context, executemany):
            # pymysql sends an executemany as one statement per row, but for an INSERT's; SQLite,
            # in-process, runs it as one prepared statement
            many = (executemany and conn.dialect.name != "sqlite"
                    and not sql.lstrip().upper().startswith("INSERT"))
            self.statements += [sql.split("\n")[0][:60]] * (len(parameters) if many else 1)

        def checkout(dbapi_conn, record, proxy):
            self.checkouts += 1
            if dbapi_conn.__class__.__module__.startswith("pymysql"):  # SQLite has no round trips
                for name in ("ping", "rollback"):  # count the driver's own calls (once per connection)
                    method = getattr(dbapi_conn, name)
                    if not getattr(method, "counted", False):
                        setattr(dbapi_conn, name, self._counting(name, method))

        sa.event.listen(engine, "before_cursor_execute", statement)
        sa.event.listen(engine, "commit", lambda conn: setattr(self, "commits", self.commits + 1))
        sa.event.listen(engine.pool, "checkout", checkout, insert=True)


    def _counting(self, name, method):
        def counted(*args, **kwargs):
            self.other.append(name)
            return method(*args, **kwargs)

        counted.counted = True
        return counted


def one_batch(beat) -> Counter:
    """Counts of one tick that does one batch of the task started by the tick before."""
    beat.tick(beat.clock.now())  # starts the task (queue) and does its first batch
    counter = Counter()
    counter.watch(beat.store.engine)
    report = beat.tick(beat.clock.now())
    assert report.batches == 1 and not report.started
    return counter


def round_trips(counted: Counter) -> list[str]:
    """What went to the database: statements (SQLite's PRAGMAs aside: its database is in-process,
    as are its BEGINs, counted all the same) and the pool's own pings and rollbacks."""
    return [s for s in counted.statements if not s.startswith("PRAGMA")] + counted.other


def test_one_export_batch(tmp_path, db_url, demo_url, clock, backend):
    beat = make_heartbeat(make_config(tmp_path, db_url, demo_url, batch_size=20,
                                      options={"entity": "products", "full": True}), clock)
    beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    counted = one_batch(beat)
    # the heartbeat's read of due and running tasks; the claim (lock the task, record the attempt:
    # committed before any work); the batch (lock the task again, its items, what the profile last
    # sent of them, the new hashes, the items' outcomes in one UPDATE, the counters, the log lines
    # in one INSERT, the profile's metric totals in one UPDATE); on SQLite a BEGIN for each of the
    # three transactions. Nothing else: no re-read of the task, no ping and no rollback from the
    # pool, no look for due deliveries (the config has no http connection).
    assert len(round_trips(counted)) == {"sqlite": 14, "mariadb": 11}[backend], counted
    assert counted.commits == 3 and counted.checkouts == 3


def test_one_import_batch(tmp_path, db_url, demo_url, clock, backend):
    rows = [["reference", "price", "quantity"]] + [[f"DEMO-{i:06d}", f"{i}.5", str(i)] for i in range(1, 61)]
    feed = write_csv(tmp_path / "feed.csv", rows)
    config = import_config(tmp_path, db_url, demo_url, {"path": str(feed)}, fields=["price", "quantity"])
    beat = make_heartbeat(dataclasses.replace(config, profiles=(
        dataclasses.replace(config.profiles[0], batch_size=20),)), clock)
    beat.store.create(beat.config.profile("supplier"), "manual", clock.now(), clock.now())
    counted = one_batch(beat)
    # as an export's, with the plan (lock the task, the items, save the new plan: committed before
    # the shop is written; the locked row tells whether a saved plan is there to read) and without
    # change tracking; the outcomes of the 20 matched items in one set-based UPDATE on MariaDB (it
    # was one UPDATE per item; SQLite keeps its faster executemany), 12 log lines in one INSERT, the
    # metric totals in one UPDATE
    assert len(round_trips(counted)) == {"sqlite": 15, "mariadb": 11}[backend], counted
    assert counted.commits == 4 and counted.checkouts == 4
    assert sum(s.startswith("UPDATE hb_items") for s in counted.statements) == 1


def test_a_pooled_connection_idle_for_long_is_pinged_and_replaced_when_dead(mariadb_url, monkeypatch):
    monkeypatch.setattr(driver, "PING_AFTER_IDLE_S", -1.0)  # every checkout counts as after a pause
    engine = database.create_state_engine(mariadb_url)
    try:
        with engine.connect() as conn:
            first = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
        killer = sa.create_engine(mariadb_url)
        with killer.connect() as conn:
            conn.exec_driver_sql(f"KILL {first}")  # the server drops it, as after a restart or wait_timeout
        killer.dispose()
        with engine.connect() as conn:  # the ping finds it dead; the pool connects again
            assert conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar() != first
    finally:
        engine.dispose()


def test_a_connection_returned_inside_a_transaction_is_rolled_back(mariadb_url):
    engine = database.create_state_engine(mariadb_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INT)")
        raw = engine.raw_connection()  # no SQLAlchemy Connection to roll it back: the pool must
        raw.cursor().execute("INSERT INTO t VALUES (1)")
        raw.close()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 0
    finally:
        engine.dispose()
