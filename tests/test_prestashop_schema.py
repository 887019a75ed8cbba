"""The demo shop (and every test shop) uses PrestaShop 8.1's own tables, columns and keys: its DDL
(connectors/prestashop/db_structure.py, assembled by schema.py) and the tables it really creates, on
SQLite and MariaDB, equal a manifest of install-dev/data/db_structure.sql
(tests/prestashop81_schema.py)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from connectors.prestashop import create_demo_shop
from connectors.prestashop.db_structure import DB_STRUCTURE
from connectors.prestashop.schema import shop_tables
from tests.prestashop81_schema import MANIFEST

PREFIX = "ps_"


def normal(type_text: str) -> str:
    """A MySQL column type as the manifest writes it: lower case, no integer display width."""
    text = type_text.lower().replace("integer", "int").replace("numeric", "decimal")
    text = re.sub(r"\b(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", text)
    return re.sub(r",\s+", ",", text).strip()


def key_name(table: str, index_name: str) -> str:
    """PrestaShop's name of one of our indexes (`ix_<prefix><table>_<name>`)."""
    return index_name.removeprefix(f"ix_{PREFIX}{table}_")


def declared(name: str) -> dict:
    """What schema.py declares for table `name`, in the manifest's terms (types as MySQL's DDL)."""
    table = getattr(shop_tables(PREFIX), name)
    dialect = mysql.dialect()
    return {
        "columns": [(c.name, normal(c.type.compile(dialect=dialect)), c.nullable) for c in table.columns],
        "primary": [c.name for c in table.primary_key.columns],
        "keys": {key_name(name, ix.name): (tuple(c.name for c in ix.columns), bool(ix.unique))
                 for ix in table.indexes},
    }


def test_the_manifest_covers_every_table_declared_as_db_structure_declares_it():
    assert sorted(DB_STRUCTURE) == sorted(MANIFEST)


@pytest.mark.parametrize("table", sorted(MANIFEST))
def test_the_demo_ddl_declares_prestashop_81s_columns_and_keys(table):
    assert declared(table) == MANIFEST[table]


@pytest.mark.parametrize("table, key, columns", [
    ("image", "image_product", ("id_product",)),
    ("category_product", "id_product", ("id_product",)),
    ("stock_available", "id_product", ("id_product",)),
])
def test_the_keys_the_export_relies_on_are_there(table, key, columns):
    assert declared(table)["keys"][key] == (columns, False)


def test_the_stock_table_has_81s_three_late_columns():
    names = [c[0] for c in declared("stock_available")["columns"]]
    assert names[-3:] == ["depends_on_stock", "out_of_stock", "location"]


def test_the_created_shop_has_exactly_those_tables_columns_and_keys(shop_url, backend):
    create_demo_shop(shop_url, products=3)
    engine = sa.create_engine(shop_url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for name, expected in MANIFEST.items():
                table = PREFIX + name
                columns = inspector.get_columns(table)
                assert [(c["name"], c["nullable"]) for c in columns] == \
                    [(n, null) for n, _, null in expected["columns"]], table
                assert inspector.get_pk_constraint(table)["constrained_columns"] == expected["primary"], table
                keys = {key_name(name, ix["name"]): (tuple(ix["column_names"]), bool(ix["unique"]))
                        for ix in inspector.get_indexes(table)}
                assert keys == expected["keys"], table
            if backend == "mariadb":  # types as the server reports them
                rows = conn.execute(sa.text(
                    "SELECT table_name, column_name, column_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE()")).all()
                types = {(t, c): normal(ty) for t, c, ty in rows}
                for name, expected in MANIFEST.items():
                    for column, type_, _ in expected["columns"]:
                        assert types[(PREFIX + name, column)] == type_, (name, column)
    finally:
        engine.dispose()
