"""Statements handed straight to the database driver, for the hot paths of a batch.

SQLAlchemy builds every statement here, so table names, quoting and dialect differences stay its
job; but a batch of a thousand products that goes through its per-row parameter dicts, its compile
cache lookups and its per-value result processors spends more time there than in the database
(the benchmark's profile: docs/performance.md). So:

- `Prepared` compiles a statement once and runs it with `exec_driver_sql`: rows come back as the driver
  gives them (SQLite: floats for decimals, text for datetimes; pymysql: Decimal and datetime), and
  the caller converts the few values it needs.
- `insert_rows` / `update_rows` send many rows in one executemany, as tuples. Column types' bind
  processors still apply, so values are stored exactly as SQLAlchemy would store them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Dialect


def positional_parameters(url: sa.URL) -> dict[str, str]:
    """create_engine options that send parameters as tuples where the driver takes either style:
    pymysql escapes a dict of parameters at a higher cost than a tuple, and executemany runs that
    once per row."""
    return {"paramstyle": "format"} if url.get_driver_name() == "pymysql" else {}


PING_AFTER_IDLE_S = 5.0  # a pooled pymysql connection unused for longer is pinged before it is used again
_IN_TRANSACTION = 1  # pymysql.constants.SERVER_STATUS.SERVER_STATUS_IN_TRANS


def create_engine(url: str | sa.URL, **options: Any) -> sa.Engine:
    """sa.create_engine with positional parameters (above) and a pool that checks connections
    before use. With pymysql, a batch takes a pooled connection several times, and SQLAlchemy's
    pre-ping (a round trip at each checkout) and reset-on-return (a ROLLBACK at each return, even
    after a COMMIT) would double the round trips of a batch's bookkeeping: there a connection is
    pinged only when it has been idle for PING_AFTER_IDLE_S (between heartbeats, when the server
    may have dropped it: a dead one is replaced, as pre-ping would), and rolled back on return
    only if the server says a transaction is still open. Other drivers keep SQLAlchemy's pre-ping."""
    url = sa.engine.make_url(url)
    lean = url.get_driver_name() == "pymysql"
    engine = sa.create_engine(url, pool_pre_ping=not lean, pool_reset_on_return=None if lean else "rollback",
                              **positional_parameters(url), **options)
    if lean:
        _lean_pool(engine.pool)
    return engine


def _lean_pool(pool: sa.Pool) -> None:
    @sa.event.listens_for(pool, "checkin")
    def _returned(dbapi_conn, record):
        record.info["returned_at"] = time.monotonic()

    @sa.event.listens_for(pool, "checkout")
    def _taken(dbapi_conn, record, proxy):
        returned = record.info.pop("returned_at", None)
        if returned is None or time.monotonic() - returned <= PING_AFTER_IDLE_S:
            return  # just connected, or used a moment ago
        try:
            dbapi_conn.ping(reconnect=False)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise sa.exc.DisconnectionError(str(exc)) from exc

    @sa.event.listens_for(pool, "reset")
    def _reset(dbapi_conn, record, state):
        if dbapi_conn is not None and dbapi_conn.server_status & _IN_TRANSACTION:
            dbapi_conn.rollback()


class Prepared:
    """A statement compiled once for one dialect. Its parameters are named with
    `sa.bindparam(name)`; at most one of them is a list (`sa.bindparam(name, expanding=True)`),
    whose SQL is rendered once per list length. Values go through the column types' bind
    processors (a Decimal becomes what SQLite can store), as SQLAlchemy would send them."""

    def __init__(self, statement: sa.Executable, dialect: Dialect):
        self._compiled = compiled = statement.compile(dialect=dialect)
        self._positional = dialect.positional
        self._dbapi_error = dialect.loaded_dbapi.Error
        self._processors = {name: p.type.dialect_impl(dialect).bind_processor(dialect)
                            for name, p in compiled.binds.items()}
        self._defaults = {name: self._process(name, v) for name, v in compiled.params.items()
                          if not compiled.binds[name].expanding}
        self._expanding = [name for name, p in compiled.binds.items() if p.expanding]
        if len(self._expanding) > 1:
            raise ValueError("Prepared supports one list parameter")
        self._sql: dict[int, str] = {}  # list length -> the statement's text

    def _process(self, name: str, value: Any) -> Any:
        processor = self._processors.get(name)
        return processor(value) if processor is not None and value is not None else value

    def execute(self, conn: Connection, **values: Any) -> CursorResult:
        return conn.exec_driver_sql(*self._bound(values))

    def explain(self, conn: Connection, **values: Any) -> list[tuple]:
        """The database's plan of this statement with these values: EXPLAIN QUERY PLAN's rows on
        SQLite, EXPLAIN's on MySQL/MariaDB (what tests check for full scans)."""
        sql, params = self._bound(values)
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        return [tuple(row) for row in conn.exec_driver_sql(prefix + sql, params)]

    def _bound(self, values: dict[str, Any]) -> tuple[str, Any]:
        """The statement's text for these values and its parameters, in the driver's style."""
        name = self._expanding[0] if self._expanding else None
        params = {**self._defaults, **{n: self._process(n, v) for n, v in values.items() if n != name}}
        if name is None:
            sql = self._compiled.string
            if self._positional:
                return sql, tuple(params[n] for n in self._compiled.positiontup)
            return sql, params
        items = [self._process(name, v) for v in values[name]]
        sql = self._sql.get(len(items))
        if sql is None:
            sql = self._compiled.construct_expanded_state({**params, name: items}).statement
            self._sql[len(items)] = sql
        if self._positional:
            ordered: list[Any] = []
            for n in self._compiled.positiontup:
                if n == name:
                    ordered += items
                else:
                    ordered.append(params[n])
            return sql, tuple(ordered)
        params.update((f"{name}_{i}", v) for i, v in enumerate(items, start=1))
        return sql, params

    def rows(self, conn: Connection, **values: Any) -> list[tuple]:
        """execute(), then every row as the driver's own tuple (no Row objects). A driver error
        while fetching is wrapped as SQLAlchemy wraps it during execute."""
        result = self.execute(conn, **values)
        try:
            return list(result.cursor.fetchall())
        except self._dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(self._compiled.string, None, exc, self._dbapi_error,
                                             dialect=conn.dialect) from exc
        finally:
            result.close()

    def many(self, conn: Connection, names: Sequence[str], rows: Sequence[tuple]) -> int:
        """One executemany: each row gives the values of `names`, in that order; the other
        parameters keep the values the statement was built with. Returns the rows matched."""
        if not rows:
            return 0
        if self._expanding:
            raise ValueError("many() takes statements without a list parameter")
        rows = _processed(rows, [self._processors.get(n) for n in names])
        if self._positional:
            # each row followed by the statement's own values; pick the driver's order out of that
            columns, order = list(names), []
            for n in self._compiled.positiontup:
                if n not in columns:
                    columns.append(n)
                order.append(columns.index(n))
            consts = tuple(self._defaults[n] for n in columns[len(names):])
            pick = itemgetter(*order)
            params: list = ([pick(r + consts) for r in rows] if len(order) > 1
                            else [(pick(r + consts),) for r in rows])
        else:
            params = [{**self._defaults, **dict(zip(names, row, strict=True))} for row in rows]
        return conn.exec_driver_sql(self._compiled.string, params).rowcount


def _mark(conn: Connection) -> str:
    """The driver's own positional placeholder (whatever style SQLAlchemy was told to compile)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _marks(conn: Connection, n: int) -> str:
    return ", ".join([_mark(conn)] * n)


def _processed(rows: Sequence[tuple], processors: Sequence[Any]) -> Sequence[tuple]:
    """`rows` with each column's bind processor (or None) applied, column by column."""
    if not rows or not any(processors):
        return rows
    columns = list(zip(*rows, strict=True))
    for i, process in enumerate(processors):
        if process is not None:
            columns[i] = _apply(process, columns[i])
    return list(zip(*columns, strict=True))


def _apply(process, values: Sequence[Any]) -> list[Any]:
    out, last, done = [], object(), None
    for v in values:
        if v is not last:  # a batch's rows often share one value object (a timestamp): once
            last, done = v, (None if v is None else process(v))
        out.append(done)
    return out


def _prepare(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]):
    dialect = conn.dialect
    return _processed(rows, [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns])


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
                rows: Sequence[tuple]) -> int:
    """UPDATE table SET set_columns WHERE key_columns, for every row (set values, then key values).
    Returns how many rows matched, all statements together."""
    if not rows:
        return 0
    mark = _mark(conn)
    sets = ", ".join(f"{c} = {mark}" for c in _quoted(conn, set_columns))
    keys = " AND ".join(f"{c} = {mark}" for c in _quoted(conn, key_columns))
    columns = [*set_columns, *key_columns]
    sql = f"UPDATE {table.name} SET {sets} WHERE {keys}"
    return conn.exec_driver_sql(sql, _prepare(conn, table, columns, rows)).rowcount


def set_based(conn: Connection) -> bool:
    """Whether a set-based UPDATE (`update_from_values`) pays on this connection: on MySQL/MariaDB
    it replaces a round trip per row with one per statement. SQLite is in-process, without round
    trips to save, and there an executemany of a prepared UPDATE is about twice as fast as UPDATE
    ... FROM (VALUES ...) (1,000 rows: 3.4 against 7.7 ms; docs/performance.md), so SQLite keeps
    row-by-row updates. `update_from_values` still runs on SQLite 3.33 and later."""
    return conn.dialect.name != "sqlite"


def update_from_values(conn: Connection, table: sa.Table, set_columns: Sequence[str],
                       key_columns: Sequence[str], rows: Sequence[tuple], *,
                       fixed: dict[str, Any] | None = None,
                       plus: dict[str, tuple[str, str]] | None = None) -> int:
    """Set-based UPDATE: the rows (set values, then key values, as `update_rows`) travel as one
    list of values joined to `table` on `key_columns`, one statement per chunk of rows instead of
    one per row: `UPDATE t ... FROM (VALUES ...)` on SQLite (3.33 and later), `UPDATE t JOIN
    (SELECT ... UNION ALL VALUES ...)` on MySQL/MariaDB. `fixed`: more conditions, column = value.
    `plus`: columns set to a value of the row plus a column of the table, {"physical_quantity":
    ("quantity", "reserved_quantity")}. Keys must be unique among `rows` (a row matched twice would
    take either value): the caller keeps the last value of a key, as row-by-row updates would.
    Returns how many rows matched."""
    if not rows:
        return 0
    fixed, plus = fixed or {}, plus or {}
    columns = [*set_columns, *key_columns]
    rows = _prepare(conn, table, columns, rows)
    consts = tuple(_prepare(conn, table, list(fixed), [tuple(fixed.values())])[0]) if fixed else ()
    name, q, mark = table.name, conn.dialect.identifier_preparer.quote, _mark(conn)
    mysql = conn.dialect.name != "sqlite"
    row_marks = f"({', '.join([mark] * len(columns))})"
    # SQLite names a VALUES list's columns column1, column2...; MySQL takes the first row's aliases
    alias = dict(zip(columns, [f"k{i}" for i in range(len(columns))] if mysql
                     else [f"column{i + 1}" for i in range(len(columns))], strict=True))
    target = f"{name}." if mysql else ""  # SQLite's SET names the column alone
    sets = ", ".join([f"{target}{q(c)} = v.{alias[c]}" for c in set_columns]
                     + [f"{target}{q(c)} = v.{alias[v]} + {name}.{q(o)}" for c, (v, o) in plus.items()])
    join = " AND ".join(f"{name}.{q(k)} = v.{alias[k]}" for k in key_columns)
    where = " AND ".join(f"{name}.{q(c)} = {mark}" for c in fixed)

    def statement(n: int) -> str:
        if mysql:
            first = ", ".join(f"{mark} AS {a}" for a in alias.values())
            more = f" UNION ALL VALUES {', '.join([row_marks] * (n - 1))}" if n > 1 else ""
            return (f"UPDATE {name} JOIN (SELECT {first}{more}) AS v ON {join} SET {sets}"
                    + (f" WHERE {where}" if where else ""))
        return (f"UPDATE {name} SET {sets} FROM (VALUES {', '.join([row_marks] * n)}) AS v WHERE {join}"
                + (f" AND {where}" if where else ""))

    per_chunk = 5000 if mysql else max(1, min(5000, 30000 // len(columns)))  # SQLite: 32766 variables
    matched = 0
    if not mysql:  # the list has no statistics, and SQLite would build an index of the whole table
        automatic = conn.exec_driver_sql("PRAGMA automatic_index").scalar()  # for each statement: the
        conn.exec_driver_sql("PRAGMA automatic_index = OFF")  # table's own keys serve (8 x faster)
    try:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start:start + per_chunk]
            params = tuple(value for row in chunk for value in row) + consts
            matched += conn.exec_driver_sql(statement(len(chunk)), params).rowcount
    finally:
        if not mysql:
            conn.exec_driver_sql(f"PRAGMA automatic_index = {int(automatic)}")
    return matched


def decode_replacing(data: bytes) -> str:
    """A SQLite text factory: invalid UTF-8 read as U+FFFD instead of failing the read."""
    return data.decode("utf-8", errors="replace")


@contextmanager
def text_factory(conn: Connection, factory: Callable[[bytes], Any]) -> Iterator[None]:
    """SQLite: decode text with `factory` meanwhile, then the previous factory again (nothing to do
    on other drivers)."""
    raw = conn.connection.driver_connection
    previous = getattr(raw, "text_factory", None)
    if previous is None:
        yield
        return
    raw.text_factory = factory
    try:
        yield
    finally:
        raw.text_factory = previous


def keyset_pages(read_page: Callable[[int, int], Sequence[Sequence[Any]]],
                 size: int) -> Iterator[Sequence[Any]]:
    """Every row of an ascending keyset read, page by page: `read_page(after, size)` gives at most
    `size` rows whose key (their first field) is above `after`, ascending. Memory does not grow with
    the table and no connection or server-side cursor is held between pages, so a caller may
    interleave other reads or abandon the iterator at no cost."""
    after = 0
    while True:
        page = read_page(after, size)
        yield from page
        if len(page) < size:
            return
        after = page[-1][0]
