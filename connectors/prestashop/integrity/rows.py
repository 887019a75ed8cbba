"""Whole-row images of any shop table, and writing them: what a maintenance fix changes, and how it
is undone.

Rows are read through the driver, without SQLAlchemy's type conversion, and encoded as JSON values
(`encode`): text and numbers as they are, a Decimal as its text, a date as "YYYY-MM-DD HH:MM:SS",
bytes (and SQLite text that is not valid UTF-8) as {"hex": ...}. Writing an image back stores the
same values, so an undo restores a row as it was. Every column of the real table is in an image,
also those Heartbeat's own schema does not model (real shops have many more).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.integrity.base import Change
from core.errors import Refused


class Drifted(Refused):
    """A row is no longer what a fix left: undoing it would lose someone's later change."""


def encode(value: Any) -> Any:
    """A driver's value as JSON (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        fraction = f".{value.microsecond:06d}" if value.microsecond else ""
        return value.strftime("%Y-%m-%d %H:%M:%S") + fraction
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    return str(value)


def decode(value: Any) -> Any:
    """An encoded value as a driver parameter."""
    if isinstance(value, dict) and set(value) == {"hex"}:
        return bytes.fromhex(value["hex"])
    return value


class Rows:
    """Reads and writes whole rows on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.quote = conn.dialect.identifier_preparer.quote
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def read(self, table: str, where: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of `table` whose columns equal `where` (None: IS NULL), as encoded images."""
        condition, params = self._where(where)
        sql = f"SELECT * FROM {self.quote(table)} WHERE {condition}"
        raw = self.conn.connection.driver_connection
        factory = getattr(raw, "text_factory", None)
        if factory is not None:  # SQLite: undecodable text comes back as bytes, kept exactly
            raw.text_factory = _text_or_bytes
        try:
            cursor = self.conn.exec_driver_sql(sql, tuple(params))
            names = [d[0] for d in cursor.cursor.description]
            return [{n: encode(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
        finally:
            if factory is not None:
                raw.text_factory = factory

    def one(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        rows = self.read(table, key)
        if len(rows) > 1:
            raise Refused(f"{table} {_show_key(key)}: {len(rows)} rows have this key; nothing was written")
        return rows[0] if rows else None

    def insert(self, table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(self.quote(c) for c in row)
        marks = ", ".join([self.mark] * len(row))
        self.conn.exec_driver_sql(f"INSERT INTO {self.quote(table)} ({columns}) VALUES ({marks})",
                                  tuple(decode(v) for v in row.values()))

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        if not values:
            return
        assignments = ", ".join(f"{self.quote(c)} = {self.mark}" for c in values)
        condition, params = self._where(key)
        self.conn.exec_driver_sql(f"UPDATE {self.quote(table)} SET {assignments} WHERE {condition}",
                                  tuple(decode(v) for v in values.values()) + tuple(params))

    def delete(self, table: str, key: dict[str, Any]) -> None:
        condition, params = self._where(key)
        self.conn.exec_driver_sql(f"DELETE FROM {self.quote(table)} WHERE {condition}", tuple(params))

    def _where(self, where: dict[str, Any]) -> tuple[str, list[Any]]:
        parts, params = [], []
        for column, value in where.items():
            if value is None:
                parts.append(f"{self.quote(column)} IS NULL")
            else:
                parts.append(f"{self.quote(column)} = {self.mark}")
                params.append(decode(value))
        return " AND ".join(parts) or "1 = 1", params

    # -- fixes and their undo -------------------------------------------------------------------------

    def apply(self, changes: Iterable[Change]) -> None:
        """Write `changes` (a redo after a crash writes them again and changes nothing more)."""
        for change in changes:
            if change.after is None:
                self.delete(change.table, change.key)
            elif change.before is None:
                if self.one(change.table, change.key) is None:
                    self.insert(change.table, change.after)
            else:
                self.update(change.table, change.key, _differing(change.before, change.after))

    def undo(self, changes: Sequence[Change]) -> int:
        """Put back every row as it was before `changes`, last change first; refuses (Drifted,
        nothing written by the caller's transaction) when a row is no longer what the fix left.
        Returns the rows restored."""
        for change in reversed(changes):
            current = self.one(change.table, change.key)
            if current != change.after:
                raise Drifted(_drift(change, current))
            if change.before is None:
                self.delete(change.table, change.key)
            elif change.after is None:
                self.insert(change.table, change.before)
            else:
                self.update(change.table, change.key, _differing(change.after, change.before))
        return len(changes)


def _differing(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {c: v for c, v in new.items() if old.get(c) != v}


def _drift(change: Change, current: dict[str, Any] | None) -> str:
    where = f"{change.table} {_show_key(change.key)}"
    if current is None:
        return f"{where} was deleted after the fix; nothing was undone"
    if change.after is None:
        return f"{where} was created again after the fix deleted it; nothing was undone"
    columns = sorted(set(current) | set(change.after))
    column = next(c for c in columns if current.get(c) != change.after.get(c))
    return (f"{where} changed after the fix ({column} is {current.get(column)!r}, the fix left "
            f"{change.after.get(column)!r}); nothing was undone")


def _show_key(key: dict[str, Any]) -> str:
    return ", ".join(f"{c} {v}" for c, v in key.items())


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
