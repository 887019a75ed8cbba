"""The category mapping's state (docs/categories.md): columns, taxonomies, the mapping table and
per-product overrides, in the state database beside the tasks.

Every verb is one transaction; the writes that replace something (a taxonomy, the whole mapping
table) replace all of it or nothing. Checking what is written (ids that exist, paths that resolve)
is the caller's job (heartbeat.services.categories): this module stores what it is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tasks import tables as t
from tasks.guard import guarded
from tasks.rows import naive

CHUNK = 1000  # rows per multi-row insert


@dataclass(frozen=True)
class Column:
    """A column of the mapping table: its name and, when a taxonomy is loaded, where from."""

    name: str
    taxonomy_file: str | None
    taxonomy_version: str | None
    taxonomy_loaded_at: datetime | None
    entries: int  # categories in its taxonomy (0: none loaded)


class CategoryStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read-only transaction: on SQLite a deferred one, so an export reading the mapping in
        the middle of its batch (whose transaction holds the write lock) does not wait for itself."""
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                yield conn

    @guarded
    def columns(self) -> list[Column]:
        """Every column, in the order they were created."""
        c, x = t.category_columns.c, t.taxonomy.c
        counts = (sa.select(x.column_name, sa.func.count().label("n")).group_by(x.column_name).subquery())
        query = (sa.select(c.name, c.taxonomy_file, c.taxonomy_version, c.taxonomy_loaded_at,
                           sa.func.coalesce(counts.c.n, 0))
                 .outerjoin(counts, counts.c.column_name == c.name)
                 .order_by(c.created_at, c.name))
        with self._read() as conn:
            return [Column(*row) for row in conn.execute(query)]

    @guarded
    def taxonomy(self, column: str) -> dict[str, str]:
        """The column's taxonomy: category id -> path ({} when none is loaded)."""
        x = t.taxonomy.c
        with self._read() as conn:
            return dict(conn.execute(sa.select(x.category_id, x.path).where(x.column_name == column)).all())

    @guarded
    def load_taxonomy(self, column: str, entries: Sequence[tuple[str, str]], source: str,
                      version: str | None, now: datetime) -> None:
        """Replace the column's taxonomy by `entries` (id, path), creating the column if needed."""
        with self._write() as conn:
            self._ensure(conn, [column], now)
            conn.execute(t.taxonomy.delete().where(t.taxonomy.c.column_name == column))
            rows = [{"column_name": column, "category_id": i, "path": p} for i, p in entries]
            for start in range(0, len(rows), CHUNK):
                conn.execute(t.taxonomy.insert(), rows[start:start + CHUNK])
            conn.execute(t.category_columns.update().where(t.category_columns.c.name == column).values(
                taxonomy_file=source[-255:], taxonomy_version=version and version[:100],
                taxonomy_loaded_at=naive(now)))

    @guarded
    def mapping(self) -> list[dict[str, str]]:
        """The mapping table: one dict per row (column -> category id), in row order."""
        m = t.category_map.c
        rows: dict[int, dict[str, str]] = {}
        with self._read() as conn:
            for row_id, column, category in conn.execute(
                    sa.select(m.row_id, m.column_name, m.category_id).order_by(m.row_id, m.column_name)):
                rows.setdefault(row_id, {})[column] = category
        return list(rows.values())

    @guarded
    def replace_mapping(self, rows: Sequence[dict[str, str]], columns: Sequence[str], now: datetime) -> None:
        """The mapping table becomes `rows` (column -> id), all of it in one transaction; the
        `columns` named (an imported file's header) exist afterwards."""
        values = [{"row_id": n, "column_name": col, "category_id": cat}
                  for n, row in enumerate(rows, 1) for col, cat in row.items()]
        with self._write() as conn:
            self._ensure(conn, columns, now)
            conn.execute(t.category_map.delete())
            for start in range(0, len(values), CHUNK):
                conn.execute(t.category_map.insert(), values[start:start + CHUNK])

    @guarded
    def overrides(self, connection: str, column: str) -> dict[int, str]:
        """Per-product overrides of `connection`'s products into `column`: id_product -> id."""
        o = t.category_overrides.c
        with self._read() as conn:
            return dict(conn.execute(sa.select(o.id_product, o.category_id)
                                     .where(o.connection == connection, o.column_name == column)).all())

    @guarded
    def add_column(self, column: str, now: datetime) -> None:
        """Create `column` (nothing if it exists)."""
        with self._write() as conn:
            self._ensure(conn, [column], now)

    def set_override(self, connection: str, id_product: int, column: str, category: str,
                     now: datetime) -> None:
        o = t.category_overrides
        key = (o.c.connection == connection) & (o.c.id_product == id_product) & (o.c.column_name == column)
        with self._write() as conn:
            self._ensure(conn, [column], now)
            conn.execute(o.delete().where(key))
            conn.execute(o.insert().values(connection=connection, id_product=id_product, column_name=column,
                                           category_id=category, set_at=naive(now)))

    @guarded
    def unset_override(self, connection: str, id_product: int, column: str) -> bool:
        """Remove an override; False when there was none."""
        o = t.category_overrides
        key = (o.c.connection == connection) & (o.c.id_product == id_product) & (o.c.column_name == column)
        with self._write() as conn:
            return conn.execute(o.delete().where(key)).rowcount > 0

    @staticmethod
    def _ensure(conn: Connection, columns: Sequence[str], now: datetime) -> None:
        c = t.category_columns.c
        known = set(conn.execute(sa.select(c.name)).scalars())
        for n, name in enumerate(dict.fromkeys(columns)):
            if name not in known:  # microseconds apart, so they list in the order given
                conn.execute(t.category_columns.insert().values(
                    name=name, created_at=naive(now) + timedelta(microseconds=n)))
