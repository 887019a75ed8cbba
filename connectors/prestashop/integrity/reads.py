"""Reading many shop rows at once for the integrity checks: a batch's rows with text that may not be
UTF-8, whole-row images of many rows in one query (integrity.rows.read_images, as Rows reads them one
row at a time), and the values the database gives a new row's unnamed columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.integrity.rows import read_images, text_or_bytes
from connectors.prestashop.shop import IDS_PER_QUERY
from core.driver import decode_replacing, text_factory

ABSENT = object()  # no value can be known for a column before the row is written


def read(conn: sa.Connection, query: sa.Select, *, replacing: bool = False) -> list[sa.Row]:
    """Rows of `query`. SQLite keeps whatever bytes were written as TEXT: when some text is not
    valid UTF-8 the query is read again, that text as bytes (or, `replacing`, with U+FFFD), so a
    check can name it. Clean text keeps SQLite's own fast decoding."""
    try:
        return conn.execute(query).all()
    except sa.exc.OperationalError as exc:
        if "decode" not in str(exc.orig).lower():
            raise
        with text_factory(conn, decode_replacing if replacing else text_or_bytes):
            return conn.execute(query).all()


def read_in(conn: sa.Connection, query: sa.Select, column: sa.ColumnElement,
            ids: Sequence[Any]) -> list[sa.Row]:
    """`read(query)` for `column` in `ids`, IDS_PER_QUERY at a time."""
    return [row for chunk in chunks(list(ids), IDS_PER_QUERY)
            for row in read(conn, query.where(column.in_(chunk)))]


def whole_rows(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
    """Every column of the real table (also those schema.py does not declare) of the rows matching
    `where`, encoded exactly as integrity.rows.Rows.read gives them."""
    return read_images(conn, sa.select(sa.text("*")).select_from(table).where(*where))


def images(conn: sa.Connection, table: sa.Table,
           keys: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """Whole-row images of the rows `keys` (dicts of the same columns) of `table`, by the key's
    values; one query per IDS_PER_QUERY keys (the key's first two columns IN their values)."""
    if not keys:
        return {}
    columns = list(keys[0])
    wanted = {tuple(k[c] for c in columns) for k in keys}
    out = {}
    for chunk in chunks(sorted(wanted), IDS_PER_QUERY):
        where = [table.c[c].in_(sorted({k[n] for k in chunk})) for n, c in enumerate(columns[:2])]
        for image in whole_rows(conn, table, *where):
            found = tuple(image[c] for c in columns)
            if found in wanted:
                out[found] = image
    return out


def new_row_values(conn: sa.Connection, table: str) -> list[tuple[str, Any]]:
    """(column, the encoded value the database gives it in a new row that does not name it, or
    ABSENT) for every column of the real table, in order."""
    sqlite = conn.dialect.name == "sqlite"
    return [(c["name"], _default(c, sqlite)) for c in sa.inspect(conn).get_columns(table)]


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _default(column: dict[str, Any], sqlite: bool) -> Any:
    """A reflected column's literal default as the driver would read it back; NULL when nullable
    without one; ABSENT for an expression (current_timestamp()) or a NOT NULL column without one."""
    text = column.get("default")
    if text is None:
        return None if column["nullable"] else ABSENT
    text = str(text).strip()
    if text.upper() == "NULL":
        return None
    quoted = len(text) >= 2 and text[0] == text[-1] == "'"
    value = text[1:-1].replace("''", "'") if quoted else text
    kind = column["type"]
    try:
        if isinstance(kind, sa.Integer):
            return int(value)
        if isinstance(kind, sa.Float):
            return float(value)
        if isinstance(kind, sa.Numeric):
            number = Decimal(value)
            if sqlite:  # NUMERIC affinity stores an integral value as an INTEGER
                return int(number) if number == number.to_integral_value() else float(number)
            return str(number.quantize(Decimal(1).scaleb(-(kind.scale or 0))))
        if isinstance(kind, sa.String) and quoted:
            return value
    except (ArithmeticError, ValueError):
        pass
    return ABSENT
