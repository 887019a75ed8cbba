"""Whole-row images and writing them (integrity.rows) on SQLite and MariaDB: a fix writes a row only
when it is still what the plan read, an undo restores SQLite text that is not UTF-8 as TEXT, and
every reader of images encodes a row alike."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from connectors.prestashop.integrity.base import Change
from connectors.prestashop.integrity.reads import whole_rows
from connectors.prestashop.integrity.rows import Drifted, Rows, text_or_bytes
from connectors.prestashop.shop import shop_rows
from core.driver import Prepared, text_factory

BROKEN = "CAST(X'41FF42' AS TEXT)"  # SQLite text that is not valid UTF-8: A, 0xFF, B


@pytest.fixture
def engine(shop_url):
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ps_thing (id INT NOT NULL PRIMARY KEY, name VARCHAR(64), "
                             "price DECIMAL(20,6), quantity INT, date_upd DATETIME)")
        conn.exec_driver_sql("INSERT INTO ps_thing VALUES (1, 'one', 1.5, 3, '2026-01-02 03:04:05'), "
                             "(2, 'two', 2.25, 4, NULL)")
    yield engine
    engine.dispose()


def image(engine: sa.Engine, id_: int) -> dict | None:
    with engine.connect() as conn:
        return Rows(conn).one("ps_thing", {"id": id_})


def planned(engine: sa.Engine, id_: int, **after) -> Change:
    """A fix of row `id_` as a plan keeps it (through JSON, like the undo file): None deletes it."""
    before = image(engine, id_)
    change = Change("ps_thing", {"id": id_}, before, None if after.get("delete") else {**before, **after})
    return Change(**json.loads(json.dumps(dataclasses.asdict(change))))


def apply(engine: sa.Engine, *changes: Change) -> int:
    with engine.begin() as conn:
        return Rows(conn).apply(changes)


def execute(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_apply_leaves_a_row_changed_since_the_plan_as_it_is(engine):
    rename, drop = planned(engine, 1, name="fixed"), planned(engine, 2, delete=True)
    execute(engine, "UPDATE ps_thing SET name = 'merchant' WHERE id = 1")  # after the plan, before apply
    execute(engine, "UPDATE ps_thing SET quantity = 9 WHERE id = 2")
    merchant = {1: image(engine, 1), 2: image(engine, 2)}

    assert apply(engine, rename, drop) == 2
    assert image(engine, 1) == merchant[1] and image(engine, 1)["name"] == "merchant"
    assert image(engine, 2) == merchant[2]


def test_apply_writes_a_row_still_as_planned_and_a_redo_writes_nothing_more(engine):
    rename, drop = planned(engine, 1, name="fixed", quantity=5), planned(engine, 2, delete=True)

    assert apply(engine, rename, drop) == 0
    assert image(engine, 1) == rename.after and image(engine, 2) is None
    assert apply(engine, rename, drop) == 0  # the redo after a crash: both already written
    assert image(engine, 1) == rename.after and image(engine, 2) is None


def test_apply_after_a_redo_leaves_a_later_edit_alone(engine):
    rename = planned(engine, 1, name="fixed")
    apply(engine, rename)
    execute(engine, "UPDATE ps_thing SET name = 'merchant' WHERE id = 1")

    assert apply(engine, rename) == 1
    assert image(engine, 1)["name"] == "merchant"


def test_undo_refuses_a_row_changed_after_the_fix(engine):
    rename = planned(engine, 1, name="fixed")
    apply(engine, rename)
    execute(engine, "UPDATE ps_thing SET quantity = 8 WHERE id = 1")

    with pytest.raises(Drifted, match="quantity is 8"), engine.begin() as conn:
        Rows(conn).undo([rename])
    assert image(engine, 1)["quantity"] == 8


def sqlite_only(shop_url):
    if not shop_url.startswith("sqlite"):
        pytest.skip("MariaDB refuses text that is not valid in the column's character set")


@pytest.mark.parametrize("fix", [{"quantity": 7}, {"name": "AB"}, {"delete": True}])
def test_undo_restores_broken_utf8_as_text(engine, shop_url, fix):
    sqlite_only(shop_url)
    execute(engine, f"UPDATE ps_thing SET name = {BROKEN} WHERE id = 1")
    change = planned(engine, 1, **fix)
    assert change.before["name"] == {"hex": "41ff42", "text": True}

    assert apply(engine, change) == 0
    with engine.begin() as conn:
        assert Rows(conn).undo([change]) == 1
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT typeof(name), name = {BROKEN} FROM ps_thing WHERE id = 1"
                                    ).all() == [("text", 1)]
    assert image(engine, 1) == change.before


def test_an_undo_file_without_the_text_mark_still_matches_broken_text(engine, shop_url):
    sqlite_only(shop_url)
    execute(engine, f"UPDATE ps_thing SET name = {BROKEN} WHERE id = 1")
    change = planned(engine, 1, quantity=7)
    apply(engine, change)
    unmarked = ({**i, "name": {"hex": "41ff42"}} for i in (change.before, change.after))
    old = Change(change.table, change.key, *unmarked)

    with engine.begin() as conn:
        assert Rows(conn).undo([old]) == 1
    assert image(engine, 1) == change.before


def test_rows_and_whole_rows_give_the_same_images(engine, shop_url):
    if shop_url.startswith("sqlite"):
        execute(engine, f"UPDATE ps_thing SET name = {BROKEN} WHERE id = 2")
    with engine.connect() as conn:
        table = sa.Table("ps_thing", sa.MetaData(), autoload_with=conn)
        batch = whole_rows(conn, table, table.c.id.in_([1, 2]))
        one_by_one = [Rows(conn).one("ps_thing", {"id": i}) for i in (1, 2)]
    assert sorted(batch, key=lambda r: r["id"]) == one_by_one
    price = 1.5 if shop_url.startswith("sqlite") else "1.500000"  # NUMERIC affinity stores a REAL
    assert one_by_one[0] == {"id": 1, "name": "one", "price": price, "quantity": 3,
                             "date_upd": "2026-01-02 03:04:05"}


def test_shop_rows_reads_broken_text_and_puts_back_the_previous_text_factory(engine, shop_url):
    sqlite_only(shop_url)
    execute(engine, f"UPDATE ps_thing SET name = {BROKEN} WHERE id = 1")
    statement = Prepared(sa.text("SELECT name FROM ps_thing WHERE id = 1"), engine.dialect)
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        previous = driver.text_factory
        assert shop_rows(conn, statement) == [("A\ufffdB",)]
        assert driver.text_factory is previous
        with text_factory(conn, bytes):
            with text_factory(conn, text_or_bytes):
                assert conn.exec_driver_sql("SELECT name FROM ps_thing WHERE id = 1").scalar() == b"A\xffB"
            assert driver.text_factory is bytes
        assert driver.text_factory is previous
