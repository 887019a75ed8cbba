"""core.driver: statements compiled once and run on the driver, on SQLite and MariaDB, and
with a named parameter style (the dict branch a driver taking only names would use)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.driver import Prepared, insert_rows, positional_parameters, update_rows

metadata = sa.MetaData()
things = sa.Table(
    "driver_things", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("price", sa.Numeric(20, 6)),
    sa.Column("seen_at", sa.DateTime),
)
SEEN = datetime(2026, 11, 2, 9, 30, 15)  # whole seconds: a plain DATETIME on MariaDB


@pytest.fixture(params=["sqlite", "mariadb", "sqlite-named"])
def engine(request, tmp_path):
    """The product's engines (positional parameters), and one compiling named parameters: the
    dict branch of a driver that takes only names."""
    if request.param == "sqlite-named":
        engine = sa.create_engine(f"sqlite:///{tmp_path}/named.db", paramstyle="named")
    else:
        url = f"sqlite:///{tmp_path}/db.db" if request.param == "sqlite" else \
            request.getfixturevalue("mariadb_url")
        engine = sa.create_engine(url, **positional_parameters(sa.make_url(url)))
    metadata.drop_all(engine)
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def fill(engine, n: int = 10) -> None:
    with engine.begin() as conn:
        insert_rows(conn, things, ("id", "kind", "price", "seen_at"),
                    [(i, "odd" if i % 2 else "even", Decimal(f"{i}.25"), SEEN) for i in range(1, n + 1)])


def test_rows_with_a_list_parameter_come_back_as_tuples(engine):
    fill(engine)
    query = Prepared(sa.select(things.c.id, things.c.kind).where(
        things.c.kind == sa.bindparam("kind"), things.c.id.in_(sa.bindparam("ids", expanding=True)),
    ).order_by(things.c.id), engine.dialect)
    with engine.connect() as conn:
        assert query.rows(conn, kind="odd", ids=[1, 2, 3, 5]) == [(1, "odd"), (3, "odd"), (5, "odd")]
        assert query.rows(conn, kind="even", ids=[2]) == [(2, "even")]  # another length, its own SQL
        assert query.rows(conn, kind="odd", ids=[7, 9, 4, 6]) == [(7, "odd"), (9, "odd")]


def test_values_go_through_the_column_types(engine):
    fill(engine, 2)
    later = datetime(2026, 11, 3, 8, 0, 0)
    update = Prepared(things.update().where(things.c.id == sa.bindparam("k")).values(
        price=sa.bindparam("v", type_=things.c.price.type), seen_at=sa.bindparam("at", type_=sa.DateTime)),
        engine.dialect)
    with engine.begin() as conn:
        rows = [(Decimal("12.500000"), 1, later), (Decimal("3.1"), 99, later)]
        matched = update.many(conn, ("v", "k", "at"), rows)
    assert matched == 1  # the match count: id 99 does not exist
    with engine.connect() as conn:
        query = sa.select(things.c.id, things.c.price, things.c.seen_at).order_by(things.c.id)
        rows = conn.execute(query).all()
    assert [(i, Decimal(str(p)).normalize(), at) for i, p, at in rows] == [
        (1, Decimal("12.5"), later), (2, Decimal("2.25"), SEEN)]  # read back through SQLAlchemy's types


def test_update_rows_sets_each_row(engine):
    fill(engine, 4)
    with engine.begin() as conn:
        update_rows(conn, things, ("kind",), ("id",), [("first", 1), ("third", 3)])
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(things.c.kind).order_by(things.c.id)).scalars().all()
    assert kinds == ["first", "even", "third", "even"]


def test_list_values_go_through_the_column_type(engine):
    fill(engine, 3)
    query = Prepared(sa.select(things.c.id).where(things.c.seen_at.in_(sa.bindparam("at", expanding=True)))
                     .order_by(things.c.id), engine.dialect)
    with engine.connect() as conn:  # SQLite stores SQLAlchemy's text form of a datetime, not sqlite3's
        assert query.rows(conn, at=[SEEN, datetime(2026, 1, 1)]) == [(1,), (2,), (3,)]
