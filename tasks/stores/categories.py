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

from core.config import CategoryRule
from core.errors import Refused
from tasks import tables as t
from tasks.database import reading
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


@dataclass(frozen=True)
class MappingRow:
    """A row of the mapping table: its id, its version (the table's at its last write), its cells
    (column -> category id)."""

    id: int
    version: int
    cells: dict[str, str]

    def as_json(self) -> dict:
        return {"id": self.id, "version": self.version, "cells": dict(self.cells)}


class RowNotFound(Refused):
    def __init__(self, row_id: int):
        super().__init__(f"no row {row_id} in the mapping table")


class RowChanged(Refused):
    """An edit made against an older version of a row: `current` is the row now (None: removed)."""

    def __init__(self, row_id: int, current: MappingRow | None):
        self.row_id, self.current = row_id, current
        what = "was removed" if current is None else f"is at version {current.version}"
        super().__init__(f"row {row_id} changed since you read it (it {what}); nothing was written: "
                         "read it again")


class ShopCategoryTaken(Refused):
    def __init__(self, column: str, category: str, row_id: int):
        self.row_id = row_id
        super().__init__(f"{column} category {category} is mapped in row {row_id} already (a shop "
                         "category goes to one row)")


class CategoryStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _read(self):
        return reading(self.engine)

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
    def taxonomy_stamp(self, column: str) -> tuple | None:
        """What tells one load of the column's taxonomy from the next (when, from which file, which
        version); None when the column does not exist. One small read, for a cache of the taxonomy."""
        c = t.category_columns.c
        with self._read() as conn:
            row = conn.execute(sa.select(c.taxonomy_loaded_at, c.taxonomy_file, c.taxonomy_version)
                               .where(c.name == column)).first()
        return tuple(row) if row is not None else None

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
        `columns` named (an imported file's header) exist afterwards. The new rows get new ids and
        one new version; the old ones become tombstones, so an edit made before it is refused."""
        with self._write() as conn:
            self._ensure(conn, columns, now)
            version, first = self._next(conn)
            r = t.category_rows
            conn.execute(r.update().where(r.c.deleted == sa.false())
                         .values(deleted=True, version=version, updated_at=naive(now)))
            conn.execute(t.category_map.delete())
            ids = range(first, first + len(rows))
            values = [{"row_id": n, "column_name": col, "category_id": cat}
                      for n, row in zip(ids, rows, strict=True) for col, cat in row.items()]
            for start in range(0, len(values), CHUNK):
                conn.execute(t.category_map.insert(), values[start:start + CHUNK])
            heads = [{"row_id": n, "version": version, "deleted": False, "updated_at": naive(now)}
                     for n in ids]
            for start in range(0, len(heads), CHUNK):
                conn.execute(r.insert(), heads[start:start + CHUNK])

    @guarded
    def rows(self) -> tuple[list[MappingRow], int]:
        """The mapping table's rows in id order, and the table's version (0: never written)."""
        m, r = t.category_map.c, t.category_rows.c
        with self._read() as conn:
            version = conn.execute(sa.select(sa.func.max(r.version))).scalar() or 0
            heads = conn.execute(sa.select(r.row_id, r.version).where(r.deleted == sa.false())
                                 .order_by(r.row_id)).all()
            cells: dict[int, dict[str, str]] = {}
            for row_id, column, category in conn.execute(sa.select(m.row_id, m.column_name, m.category_id)):
                cells.setdefault(row_id, {})[column] = category
        return [MappingRow(i, v, cells.get(i, {})) for i, v in heads], version

    @guarded
    def write_row(self, row_id: int | None, cells: dict[str, str], seen: int | None, now: datetime,
                  shop_columns: Sequence[str] = ()) -> MappingRow:
        """Write one row (a new one when `row_id` is None; no cells removes it) unless it changed
        after version `seen` (RowChanged, nothing written; None: no check). A shop column's
        category already in another row is ShopCategoryTaken. Returns the row as written."""
        r = t.category_rows
        with self._write() as conn:
            if row_id is not None:
                self._check_version(conn, row_id, seen)
            for column in shop_columns:
                if column in cells:
                    self._check_free(conn, column, cells[column], row_id)
            self._ensure(conn, list(cells), now)
            version, first = self._next(conn)
            if row_id is None:
                row_id = first
                conn.execute(r.insert().values(row_id=row_id, version=version, deleted=False,
                                               updated_at=naive(now)))
            else:
                conn.execute(r.update().where(r.c.row_id == row_id).values(
                    version=version, deleted=not cells, updated_at=naive(now)))
            conn.execute(t.category_map.delete().where(t.category_map.c.row_id == row_id))
            if cells:
                conn.execute(t.category_map.insert(), [{"row_id": row_id, "column_name": c, "category_id": v}
                                                       for c, v in cells.items()])
        return MappingRow(row_id, version, dict(cells))

    def _check_version(self, conn: Connection, row_id: int, seen: int | None) -> None:
        r = t.category_rows.c
        head = conn.execute(sa.select(r.version, r.deleted).where(r.row_id == row_id)
                            .with_for_update()).first()
        if head is None:
            raise RowNotFound(row_id)
        if head.deleted and seen is None:
            raise RowNotFound(row_id)
        if seen is not None and (head.deleted or head.version > seen):
            current = None if head.deleted else MappingRow(row_id, head.version, self._cells(conn, row_id))
            raise RowChanged(row_id, current)

    @staticmethod
    def _cells(conn: Connection, row_id: int) -> dict[str, str]:
        m = t.category_map.c
        return dict(conn.execute(sa.select(m.column_name, m.category_id).where(m.row_id == row_id)).all())

    @staticmethod
    def _check_free(conn: Connection, column: str, category: str, row_id: int | None) -> None:
        m = t.category_map.c
        query = sa.select(m.row_id).where(m.column_name == column, m.category_id == category)
        if row_id is not None:
            query = query.where(m.row_id != row_id)
        other = conn.execute(query.limit(1)).scalar()
        if other is not None:
            raise ShopCategoryTaken(column, category, other)

    @staticmethod
    def _next(conn: Connection) -> tuple[int, int]:
        """The next table version and the next free row id (ids are never reused), the row heads
        locked so two writers take turns."""
        r = t.category_rows.c
        top = conn.execute(sa.select(r.row_id, r.version).with_for_update()).all()
        return max((v for _, v in top), default=0) + 1, max((i for i, _ in top), default=0) + 1

    @guarded
    def rules(self, first: int = 1) -> list[CategoryRule]:
        """The rules written on the page, in order, numbered from `first` (after the config's)."""
        r = t.category_rules.c
        with self._read() as conn:
            found = conn.execute(sa.select(r.column_name, r.category_id, r.connection, r.reference_prefix,
                                           r.name_contains, r.manufacturer_contains, r.shop_category)
                                 .order_by(r.position)).all()
        return [CategoryRule(index=first + n, column=row[0], category=row[1], connection=row[2],
                             reference_prefix=row[3], name_contains=row[4], manufacturer_contains=row[5],
                             shop_category=row[6]) for n, row in enumerate(found)]

    @guarded
    def replace_rules(self, rules: Sequence[CategoryRule], now: datetime) -> None:
        """The page's rules become `rules`, in this order, in one transaction."""
        with self._write() as conn:
            self._ensure(conn, [rule.column for rule in rules], now)
            conn.execute(t.category_rules.delete())
            if rules:
                conn.execute(t.category_rules.insert(), [
                    {"position": n, "column_name": r.column, "category_id": r.category,
                     "connection": r.connection, "reference_prefix": r.reference_prefix,
                     "name_contains": r.name_contains,
                     "manufacturer_contains": r.manufacturer_contains, "shop_category": r.shop_category,
                     "updated_at": naive(now)} for n, r in enumerate(rules, 1)])

    @guarded
    def add_column(self, name: str, now: datetime) -> None:
        with self._write() as conn:
            self._ensure(conn, [name], now)

    @guarded
    def all_overrides(self) -> list[tuple[str, int, str, str, datetime]]:
        """Every per-product override: (connection, id_product, column, category id, set_at)."""
        o = t.category_overrides.c
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(
                sa.select(o.connection, o.id_product, o.column_name, o.category_id, o.set_at)
                .order_by(o.connection, o.column_name, o.id_product))]

    @guarded
    def overrides(self, connection: str, column: str) -> dict[int, str]:
        """Per-product overrides of `connection`'s products into `column`: id_product -> id."""
        o = t.category_overrides.c
        with self._read() as conn:
            return dict(conn.execute(sa.select(o.id_product, o.category_id)
                                     .where(o.connection == connection, o.column_name == column)).all())

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
