"""Whole-row images of any shop table, and writing them: what a maintenance fix changes, and how it
is undone.

Rows are read through the driver, without SQLAlchemy's type conversion, and encoded as JSON values
(`encode`): text and numbers as they are, a Decimal as its text, a date as "YYYY-MM-DD HH:MM:SS",
bytes as {"hex": ...}, and SQLite text that is not valid UTF-8 as {"hex": ..., "text": true}, written
back as TEXT. Writing an image back stores the same values, so an undo restores a row as it was.
Every column of the real table is in an image, also those Heartbeat's own schema does not model
(real shops have many more). `read_images` is the one reader of images: Rows and the integrity
checks' batch reads (integrity.reads) must encode alike, or an undo would see drift that is not
there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.integrity.base import Change
from core.driver import text_factory
from core.errors import Refused


class Drifted(Refused):
    """A row is no longer what a fix left: undoing it would lose someone's later change."""


class BrokenText(bytes):
    """SQLite text that is not valid UTF-8, as its bytes (`text_or_bytes`): still text, not a BLOB."""


def text_or_bytes(data: bytes) -> str | bytes:
    """A SQLite text factory: valid UTF-8 as str, anything else as BrokenText."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return BrokenText(data)


def read_images(conn: sa.Connection, query: str | sa.Executable, params: tuple = ()) -> list[dict[str, Any]]:
    """The rows `query` (driver SQL with `params`, or a statement) selects, as encoded images."""
    with text_factory(conn, text_or_bytes):
        result = conn.exec_driver_sql(query, params) if isinstance(query, str) else conn.execute(query)
        names = list(result.keys())
        return [{n: encode(v) for n, v in zip(names, row, strict=True)} for row in result]


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
    if isinstance(value, BrokenText):
        return {"hex": value.hex(), "text": True}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    return str(value)


def decode(value: Any) -> Any:
    """An encoded value as a driver parameter ({"hex": ...} with or without "text": bytes)."""
    if _is_hex(value):
        return bytes.fromhex(value["hex"])
    return value


def _is_hex(value: Any) -> bool:
    return isinstance(value, dict) and "hex" in value and set(value) <= {"hex", "text"}


class Rows:
    """Reads and writes whole rows on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.quote = conn.dialect.identifier_preparer.quote
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.sqlite = conn.dialect.name == "sqlite"

    def read(self, table: str, where: dict[str, Any], *, lock: bool = False) -> list[dict[str, Any]]:
        """Every row of `table` whose columns equal `where` (None: IS NULL), as encoded images.
        `lock`: the rows stay as read until the transaction ends (FOR UPDATE; on SQLite the
        transaction takes the write lock before reading)."""
        condition, params = self._where(where)
        sql = f"SELECT * FROM {self.quote(table)} WHERE {condition}"
        if lock:
            sql += self._lock()
        return read_images(self.conn, sql, tuple(params))

    def one(self, table: str, key: dict[str, Any], *, lock: bool = False) -> dict[str, Any] | None:
        rows = self.read(table, key, lock=lock)
        if len(rows) > 1:
            raise Refused(f"{table} {_show_key(key)}: {len(rows)} rows have this key; nothing was written")
        return rows[0] if rows else None

    def insert(self, table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(self.quote(c) for c in row)
        marks, params = self._slots(row.values())
        self.conn.exec_driver_sql(f"INSERT INTO {self.quote(table)} ({columns}) VALUES ({', '.join(marks)})",
                                  tuple(params))

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        if not values:
            return
        marks, params = self._slots(values.values())
        assignments = ", ".join(f"{self.quote(c)} = {m}" for c, m in zip(values, marks, strict=True))
        condition, where = self._where(key)
        self.conn.exec_driver_sql(f"UPDATE {self.quote(table)} SET {assignments} WHERE {condition}",
                                  tuple(params + where))

    def delete(self, table: str, key: dict[str, Any]) -> None:
        condition, params = self._where(key)
        self.conn.exec_driver_sql(f"DELETE FROM {self.quote(table)} WHERE {condition}", tuple(params))

    def _where(self, where: dict[str, Any]) -> tuple[str, list[Any]]:
        parts, params = [], []
        for column, value in where.items():
            if value is None:
                parts.append(f"{self.quote(column)} IS NULL")
            else:
                mark, param = self._slot(value)
                parts.append(f"{self.quote(column)} = {mark}")
                params.append(param)
        return " AND ".join(parts) or "1 = 1", params

    def _slots(self, values: Iterable[Any]) -> tuple[list[str], list[Any]]:
        slots = [self._slot(v) for v in values]
        return [m for m, _ in slots], [p for _, p in slots]

    def _slot(self, value: Any) -> tuple[str, Any]:
        """The placeholder and driver parameter of an encoded value. SQLite would store bytes as a
        BLOB: its broken text goes back as TEXT (MySQL stores bytes in a text column as text)."""
        if self.sqlite and _is_hex(value) and value.get("text"):
            return f"CAST({self.mark} AS TEXT)", decode(value)
        return self.mark, decode(value)

    def _lock(self) -> str:
        if not self.sqlite:
            return " FOR UPDATE"
        if not self.conn.connection.driver_connection.in_transaction:
            # pysqlite begins only at the first write: without this, the row could change between
            # this read and that write
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        return ""

    # -- fixes and their undo -------------------------------------------------------------------------

    def apply(self, changes: Iterable[Change]) -> int:
        """Write `changes`, each only where its row is still what the plan read (`before`). A redo
        after a crash skips the rows already written (`after`); a row changed by someone else since
        the plan is left as it is, never overwritten. Returns how many changes were skipped so."""
        changed = 0
        for change in changes:
            rows = self.read(change.table, change.key, lock=True)
            current = rows[0] if len(rows) == 1 else None
            if len(rows) < 2 and _same(current, change.after):
                continue  # a redo: written before the crash
            if len(rows) > 1 or not _same(current, change.before):
                changed += 1
                continue
            self._write(change.table, change.key, change.before, change.after)
        return changed

    def undo(self, changes: Sequence[Change]) -> int:
        """Put back every row as it was before `changes`, last change first; refuses (Drifted,
        nothing written by the caller's transaction) when a row is no longer what the fix left.
        Returns the rows restored."""
        for change in reversed(changes):
            current = self.one(change.table, change.key, lock=True)
            if not _same(current, change.after):
                raise Drifted(_drift(change, current))
            self._write(change.table, change.key, change.after, change.before)
        return len(changes)

    def _write(self, table: str, key: dict[str, Any], old: dict[str, Any] | None,
               new: dict[str, Any] | None) -> None:
        """Turn the row `key`, now `old` (None: absent), into `new` (None: deleted)."""
        if new is None:
            self.delete(table, key)
        elif old is None:
            self.insert(table, new)
        else:
            self.update(table, key, _differing(old, new))


def _same(current: dict[str, Any] | None, recorded: dict[str, Any] | None) -> bool:
    """Whether a row read now is the recorded image (None: no row)."""
    if current is None or recorded is None:
        return current is recorded
    return current.keys() == recorded.keys() and all(_same_value(current[c], v) for c, v in recorded.items())


def _same_value(current: Any, recorded: Any) -> bool:
    if _is_hex(current) and _is_hex(recorded) and "text" not in recorded:
        return current["hex"] == recorded["hex"]  # an undo file from before broken text was marked
    return current == recorded


def _differing(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {c: v for c, v in new.items() if old.get(c) != v}


def _drift(change: Change, current: dict[str, Any] | None) -> str:
    where = f"{change.table} {_show_key(change.key)}"
    if current is None:
        return f"{where} was deleted after the fix; nothing was undone"
    if change.after is None:
        return f"{where} was created again after the fix deleted it; nothing was undone"
    columns = sorted(set(current) | set(change.after))
    column = next((c for c in columns if not _same_value(current.get(c), change.after.get(c))), columns[0])
    return (f"{where} changed after the fix ({column} is {current.get(column)!r}, the fix left "
            f"{change.after.get(column)!r}); nothing was undone")


def _show_key(key: dict[str, Any]) -> str:
    return ", ".join(f"{c} {v}" for c, v in key.items())
