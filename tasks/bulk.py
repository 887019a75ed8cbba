"""Bulk statements sent straight to the driver with rows as tuples.

A million queue rows or a thousand outcomes per batch through SQLAlchemy's per-row parameter dicts
cost seconds the database never sees (the benchmark's profile: docs/performance.md). These helpers
build the statement once and hand the driver plain tuples; column types' bind processors still
apply, so values are stored exactly as SQLAlchemy would store them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _marks(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def _prepare(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]):
    processors = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    if not any(processors):
        return rows
    return [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in rows]


def _quoted(conn: Connection, names: Sequence[str]) -> list[str]:
    return [conn.dialect.identifier_preparer.quote(n) for n in names]


def insert_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """INSERT every row (a tuple in `columns` order) in one executemany."""
    if not rows:
        return
    cols = ", ".join(_quoted(conn, columns))
    sql = f"INSERT INTO {table.name} ({cols}) VALUES ({_marks(conn, len(columns))})"
    conn.exec_driver_sql(sql, _prepare(conn, table, columns, rows))


def update_rows(conn: Connection, table: sa.Table, set_columns: Sequence[str], key_columns: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """UPDATE table SET set_columns WHERE key_columns, for every row (set values, then key values)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{c} = {mark}" for c in _quoted(conn, set_columns))
    keys = " AND ".join(f"{c} = {mark}" for c in _quoted(conn, key_columns))
    columns = [*set_columns, *key_columns]
    conn.exec_driver_sql(f"UPDATE {table.name} SET {sets} WHERE {keys}", _prepare(conn, table, columns, rows))
