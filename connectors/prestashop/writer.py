"""Writing imports into a PrestaShop shop: find products and combinations, set their values.

`ShopWriter(shop).lookup(keys, by)` finds what feed keys match in one shop (`shop.id_shop`,
`shop.id_lang`) with their current values; `apply(updates, now)` sets new values in one
transaction. Writes set values, never add to them, so applying the same updates again changes
nothing. Tables and columns are PrestaShop's own (schema.py), through SQLAlchemy Core.

Writes are set-based on MySQL/MariaDB: one UPDATE per table and field for a whole batch, its values
joined as a list (core.driver.update_from_values), rather than one UPDATE per row, which costs a
round trip each. On SQLite (in-process) an executemany of one prepared UPDATE per row is faster,
and is kept (core.driver.set_based). Both ways leave the shop in the same state (tests/
test_shop_writer.py compares them on both backends). Values are set whatever the row holds now: a
row changed in the shop since the batch was planned gets the planned value, a row deleted since
is left deleted, a missing stock row is created.

What a field means where (P = product, C = combination):
- price: P ps_product.price + ps_product_shop.price (tax excluded); C the price impact,
  ps_product_attribute.price + ps_product_attribute_shop.price.
- wholesale_price, weight: P ps_product (+ ps_product_shop for wholesale_price); C both
  ps_product_attribute and ps_product_attribute_shop (weight is an impact).
- quantity: ps_stock_available of id_shop, or of its shop group when the group shares stock
  (physical_quantity = quantity + reserved_quantity);
  after a combination's quantity changes its product's row is set to the sum of its combinations'.
- active: ps_product.active + ps_product_shop.active; name: ps_product_lang (id_shop, id_lang);
  ean13: ps_product.ean13 or ps_product_attribute.ean13. A combination's active and name are its
  product's: read them there, update them on the product.
As PrestaShop does when saving a product, ps_product (the default values) is written along with
the shop's row. Any other shop's rows are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from connectors.prestashop.shop import IDS_PER_QUERY, PrestaShop, first_line, safe_url, shop_rows
from core.driver import Prepared, set_based, update_from_values
from core.fields import COMBINATION_UPDATABLE, UPDATABLE

LOOKUP_BY = ("reference", "ean13", "id")
ID_TEXT = re.compile(r"[0-9]{1,9}")  # an id_product a feed may name: ASCII digits, within INT
_MICRO = Decimal("0.000001")


class Target(NamedTuple):
    """A product (id_product_attribute 0) or combination of the shop, with the current value of
    every field in UPDATABLE: Decimals for price, wholesale_price and weight, int quantity (0 without
    a stock row), bool active, str name and ean13 ("" when NULL)."""

    id_product: int
    id_product_attribute: int
    current: dict[str, Any]


class Unreadable(NamedTuple):
    """A current value the shop holds that its column cannot mean (text in a price column, say):
    it stands in Target.current for that field, so the importer makes the item an error naming
    it instead of failing the batch."""

    value: Any


class Update(NamedTuple):
    """New values for one target; keys from UPDATABLE (COMBINATION_UPDATABLE for a combination)."""

    id_product: int
    id_product_attribute: int
    values: dict[str, Any]


class ShopWriter:
    """Lookups and writes on one shop, through the shop's own engine and tables. Statements are
    compiled on first use and kept (core.driver.Prepared): keep one writer per shop."""

    def __init__(self, shop: PrestaShop, set_based: bool | None = None):
        self.shop, self.t = shop, shop.tables
        self._prepared: dict[tuple, Prepared] = {}
        self.set_based = set_based  # None: where it pays (core.driver.set_based); True or False: always

    def _statement(self, key: tuple, build: Callable[[], sa.Executable]) -> Prepared:
        if key not in self._prepared:
            self._prepared[key] = Prepared(build(), self.shop.dialect)
        return self._prepared[key]

    # -- lookup -------------------------------------------------------------------------------

    def lookup(self, keys: Iterable[str], by: str = "reference",
               fields: Sequence[str] = UPDATABLE) -> dict[str, list[Target]]:
        """key -> every product and combination it matches, ascending (id_product, id_pa), with
        the current values of `fields`.

        `by` "reference" or "ean13" matches products and combinations by their own value, exactly
        (case and spaces count, on every backend); "id" matches products by id_product. Keys
        matching nothing, and empty keys, are absent. Two queries per IDS_PER_QUERY keys.
        """
        if by not in LOOKUP_BY:
            raise ValueError(f"lookup by {by!r}: expected one of {', '.join(LOOKUP_BY)}")
        fields = tuple(dict.fromkeys(fields))
        unknown = set(fields) - set(UPDATABLE)
        if unknown:
            known = ", ".join(UPDATABLE)
            raise ValueError(f"cannot look up {', '.join(sorted(unknown))}: expected fields among {known}")
        readers = [_READERS[f] for f in fields]
        wanted = _wanted(keys, by)
        found: dict[str, list[Target]] = {}
        values = sorted(wanted)
        products = self._statement(("lookup", by, fields), lambda: self._products_query(by, fields))
        combinations = None if by == "id" else self._statement(
            ("lookup combinations", by, fields), lambda: self._combinations_query(by, fields))
        with self.shop._connect() as conn:
            for start in range(0, len(values), IDS_PER_QUERY):
                chunk = values[start:start + IDS_PER_QUERY]
                rows = shop_rows(conn, products, keys=chunk)
                if combinations is not None:
                    rows += shop_rows(conn, combinations, keys=chunk)
                if not rows:
                    continue
                key_column, pids, pas, *columns = zip(*rows, strict=True)  # converted column by column
                currents = zip(*(_read_column(read, c) for read, c in zip(readers, columns, strict=True)),
                               strict=True)
                for key, pid, pa, current in zip(key_column, pids, pas, currents, strict=True):
                    # Target's own __new__ (keyword defaults) costs more per row than the tuple's
                    target = tuple.__new__(Target, (pid, pa, dict(zip(fields, current, strict=True))))
                    for asked in wanted.get(key, ()):
                        if asked in found:
                            found[asked].append(target)
                        else:
                            found[asked] = [target]
        return {k: v if len(v) == 1 else sorted(v, key=lambda t: t[:2]) for k, v in found.items()}

    def _products_query(self, by: str, fields: Sequence[str]) -> sa.Select:
        """Rows of key, id_product, 0, then the current value of each of `fields`; a table is
        joined only when a field needs it."""
        t, shop = self.t, self.shop
        p, ps, pl, st = t.product, t.product_shop, t.product_lang, t.stock_available
        columns = {"price": ps.c.price, "wholesale_price": ps.c.wholesale_price, "quantity": st.c.quantity,
                   "active": ps.c.active, "name": pl.c.name, "ean13": p.c.ean13, "weight": p.c.weight}
        key = p.c.id_product if by == "id" else p.c[by]
        query = (
            sa.select(key, p.c.id_product, sa.literal(0), *(columns[f] for f in fields))
            .join(ps, sa.and_(ps.c.id_product == p.c.id_product, ps.c.id_shop == shop.id_shop))
            .where(key.in_(sa.bindparam("keys", expanding=True)))
        )
        if "name" in fields:
            query = query.outerjoin(pl, sa.and_(pl.c.id_product == p.c.id_product,
                                                pl.c.id_shop == shop.id_shop, pl.c.id_lang == shop.id_lang))
        if "quantity" in fields:
            query = query.outerjoin(st, sa.and_(st.c.id_product == p.c.id_product,
                                                st.c.id_product_attribute == 0, shop.stock.where(st)))
        return query

    def _combinations_query(self, by: str, fields: Sequence[str]) -> sa.Select:
        """As `_products_query`, for combinations: a combination's active and name are its
        product's."""
        t, shop = self.t, self.shop
        pa, pas, ps, pl, st = (t.product_attribute, t.product_attribute_shop, t.product_shop,
                               t.product_lang, t.stock_available)
        columns = {"price": pas.c.price, "wholesale_price": pas.c.wholesale_price, "quantity": st.c.quantity,
                   "active": ps.c.active, "name": pl.c.name, "ean13": pa.c.ean13, "weight": pas.c.weight}
        query = (
            sa.select(pa.c[by], pa.c.id_product, pa.c.id_product_attribute, *(columns[f] for f in fields))
            .join(pas, sa.and_(pas.c.id_product_attribute == pa.c.id_product_attribute,
                               pas.c.id_shop == shop.id_shop))
            .join(ps, sa.and_(ps.c.id_product == pa.c.id_product, ps.c.id_shop == shop.id_shop))
            .where(pa.c[by].in_(sa.bindparam("keys", expanding=True)))
        )
        if "name" in fields:
            query = query.outerjoin(pl, sa.and_(pl.c.id_product == pa.c.id_product,
                                                pl.c.id_shop == shop.id_shop, pl.c.id_lang == shop.id_lang))
        if "quantity" in fields:
            query = query.outerjoin(st, sa.and_(st.c.id_product == pa.c.id_product,
                                                st.c.id_product_attribute == pa.c.id_product_attribute,
                                                shop.stock.where(st)))
        return query

    # -- apply --------------------------------------------------------------------------------

    def apply(self, updates: Iterable[Update], now: datetime) -> None:
        """Set every update's values, and date_upd = `now` (a naive shop-local time, stored to the
        second) on each product touched, in one transaction: all or nothing.

        Raises ValueError for a field not in UPDATABLE (or active/name on a combination), or a value
        that is not a number where one is needed; ConnectorError if the database fails.
        """
        plan = _Plan(updates)
        if not plan.touched:
            return
        stamp = now.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
        with self.shop._connect() as conn:
            try:
                with conn.begin():
                    _Writes(conn, self).run(plan, stamp)
            except sa.exc.DBAPIError as exc:
                raise self.shop._fail(f"writing to {safe_url(self.shop.url)} failed: "
                                      f"{first_line(exc)}", exc) from None


class _Plan:
    """Updates grouped by table: per field, the rows (value, id) where id is id_product for
    products and id_product_attribute for combinations; quantities as (value, pid, pa). A target
    named twice keeps the value of its last update, as updates run one after the other would."""

    def __init__(self, updates: Iterable[Update]):
        product: dict[str, dict[int, Any]] = {}
        combination: dict[str, dict[int, Any]] = {}
        quantities: dict[tuple[int, int], int] = {}
        self.touched: set[int] = set()
        for pid, pa, values in updates:  # Update, or any (id_product, id_product_attribute, values)
            pid, pa = int(pid), int(pa)
            allowed = COMBINATION_UPDATABLE if pa else UPDATABLE
            for field, value in values.items():
                if field not in allowed:
                    what = "a combination" if pa else "a product"
                    raise ValueError(f"{field!r} cannot be set on {what} (expected {', '.join(allowed)})")
                converted = _CONVERT[field](value)
                if field == "quantity":
                    quantities[(pid, pa)] = converted
                else:
                    group = combination if pa else product
                    group.setdefault(field, {})[pa or pid] = converted
                self.touched.add(pid)
        self.product = {f: [(v, k) for k, v in rows.items()] for f, rows in product.items()}
        self.combination = {f: [(v, k) for k, v in rows.items()] for f, rows in combination.items()}
        self.quantities = [(v, pid, pa) for (pid, pa), v in quantities.items()]


# field -> (table name in ShopTables, whether its rows are per shop); name rows are per shop and language
_PRODUCT_COLUMNS = {
    "price": (("product", False), ("product_shop", True)),
    "wholesale_price": (("product", False), ("product_shop", True)),
    "active": (("product", False), ("product_shop", True)),
    "weight": (("product", False),),
    "ean13": (("product", False),),
    "name": (("product_lang", True),),
}
_COMBINATION_COLUMNS = {
    "price": (("product_attribute", False), ("product_attribute_shop", True)),
    "wholesale_price": (("product_attribute", False), ("product_attribute_shop", True)),
    "weight": (("product_attribute", False), ("product_attribute_shop", True)),
    "ean13": (("product_attribute", False),),
}


class _Writes:
    """The statements of one `apply`, on a connection inside its transaction."""

    def __init__(self, conn: sa.Connection, writer: ShopWriter):
        self.conn, self.writer, self.t, self.shop = conn, writer, writer.t, writer.shop
        self.set_based = set_based(conn) if writer.set_based is None else writer.set_based

    def run(self, plan: _Plan, stamp: str) -> None:
        for field, rows in plan.product.items():
            for table, per_shop in _PRODUCT_COLUMNS[field]:
                self._set(table, field, "id_product", per_shop, rows)
        for field, rows in plan.combination.items():
            for table, per_shop in _COMBINATION_COLUMNS[field]:
                self._set(table, field, "id_product_attribute", per_shop, rows)
        if plan.quantities:
            self._quantities(plan.quantities)
        self._stamp(sorted(plan.touched), stamp)

    def _set(self, table_name: str, column: str, key: str, per_shop: bool, rows: list[tuple]) -> None:
        """UPDATE table SET column = v WHERE key = k [AND id_shop (AND id_lang)] for every row (v, k):
        one set-based statement, or an executemany row by row."""
        if self.set_based:
            fixed = {"id_shop": self.shop.id_shop} if per_shop else {}
            if table_name == "product_lang":
                fixed["id_lang"] = self.shop.id_lang
            update_from_values(self.conn, getattr(self.t, table_name), (column,), (key,), rows, fixed=fixed)
            return

        def build() -> sa.Update:
            table = getattr(self.t, table_name)
            where = [table.c[key] == sa.bindparam("k")]
            if per_shop:
                where.append(table.c.id_shop == self.shop.id_shop)
            if table_name == "product_lang":
                where.append(table.c.id_lang == self.shop.id_lang)
            value = sa.bindparam("v", type_=table.c[column].type)
            return table.update().where(*where).values({column: value})

        self.writer._statement(("set", table_name, column, key), build).many(self.conn, ("v", "k"), rows)

    def _stamp(self, pids: list[int], stamp: str) -> None:
        """date_upd = `stamp` on ps_product and the shop's ps_product_shop rows of `pids`: one
        statement per table and IDS_PER_QUERY products. Bound as text, so SQLite stores
        PrestaShop's "Y-m-d H:i:s" like the rest of the shop's dates."""
        p, ps = self.t.product, self.t.product_shop
        value, ids = sa.bindparam("stamp", type_=sa.String()), sa.bindparam("ids", expanding=True)
        statements = (
            self.writer._statement(("stamp", "product"), lambda: p.update().where(
                p.c.id_product.in_(ids)).values(date_upd=value)),
            self.writer._statement(("stamp", "product_shop"), lambda: ps.update().where(
                ps.c.id_product.in_(ids), ps.c.id_shop == self.shop.id_shop).values(date_upd=value)),
        )
        for start in range(0, len(pids), IDS_PER_QUERY):
            for statement in statements:
                statement.execute(self.conn, stamp=stamp, ids=pids[start:start + IDS_PER_QUERY])

    def _quantities(self, rows: list[tuple[int, int, int]]) -> None:
        """Set quantities (creating missing stock rows), then each product whose combinations
        changed gets their sum, as PrestaShop's StockAvailable does."""
        self._set_quantity(rows)
        parents = sorted({pid for _, pid, pa in rows if pa})
        if parents:
            sums = self._combination_sums(parents)
            self._set_quantity([(sums.get(pid, 0), pid, 0) for pid in parents])

    def _set_quantity(self, rows: list[tuple[int, int, int]]) -> None:
        """(quantity, pid, pa) rows; a stock row that does not exist yet is created first (the
        UPDATE's match count tells: the rare case costs a lookup, the common one nothing)."""
        if self.set_based:
            def write() -> int:
                return update_from_values(
                    self.conn, self.t.stock_available, ("quantity",), ("id_product", "id_product_attribute"),
                    rows, fixed=self.shop.stock.columns(), plus={"physical_quantity": ("quantity",
                                                                                        "reserved_quantity")})
        else:
            statement = self.writer._statement(("set quantity",), self._quantity_statement)

            def write() -> int:
                return statement.many(self.conn, ("v", "pid", "pa"), rows)

        if write() < len(rows):
            self._ensure_stock_rows({(pid, pa) for _, pid, pa in rows})
            write()

    def _quantity_statement(self) -> sa.Update:
        st, v = self.t.stock_available, sa.bindparam("v")
        return (st.update()
                .where(st.c.id_product == sa.bindparam("pid"),
                       st.c.id_product_attribute == sa.bindparam("pa"), self.shop.stock.where(st))
                .values(quantity=v, physical_quantity=v + st.c.reserved_quantity))

    def _ensure_stock_rows(self, wanted: set[tuple[int, int]]) -> None:
        """Insert the stock rows (quantity 0, in the shop's stock scope) of `wanted` that do not exist."""
        st, existing, scope = self.t.stock_available, set(), self.shop.stock
        pids = sorted({pid for pid, _ in wanted})
        for start in range(0, len(pids), IDS_PER_QUERY):
            query = sa.select(st.c.id_product, st.c.id_product_attribute).where(
                scope.where(st), st.c.id_product.in_(pids[start:start + IDS_PER_QUERY]))
            existing.update((int(p), int(a)) for p, a in self.conn.execute(query))
        missing = sorted(wanted - existing)
        if missing:
            self.conn.execute(st.insert(), [
                {"id_product": p, "id_product_attribute": a, "id_shop": scope.id_shop,
                 "id_shop_group": scope.id_shop_group, "quantity": 0, "physical_quantity": 0,
                 "reserved_quantity": 0}
                for p, a in missing])

    def _combination_sums(self, pids: list[int]) -> dict[int, int]:
        st, sums = self.t.stock_available, {}
        for start in range(0, len(pids), IDS_PER_QUERY):
            query = (sa.select(st.c.id_product, sa.func.sum(st.c.quantity))
                     .where(self.shop.stock.where(st), st.c.id_product_attribute != 0,
                            st.c.id_product.in_(pids[start:start + IDS_PER_QUERY]))
                     .group_by(st.c.id_product))
            sums.update((int(p), int(q or 0)) for p, q in self.conn.execute(query))
        return sums


def _read_column(read: Callable[[Sequence[Any]], list[Any]], values: Sequence[Any]) -> list[Any]:
    """`read(values)`; if some value cannot be read, the others still are, and that one becomes
    Unreadable (the whole-column path is the fast one, for clean shops)."""
    try:
        return read(values)
    except (ArithmeticError, ValueError, TypeError):
        return [_read_one(read, v) for v in values]


def _read_one(read: Callable[[Sequence[Any]], list[Any]], value: Any) -> Any:
    try:
        return read((value,))[0]
    except (ArithmeticError, ValueError, TypeError):
        return Unreadable(value)


def _wanted(keys: Iterable[str], by: str) -> dict[Any, list[str]]:
    """Database value -> the keys asking for it (for "id", "7" and "007" both ask for 7)."""
    wanted: dict[Any, list[str]] = {}
    for key in dict.fromkeys(keys):
        if not key:
            continue
        if by == "id":
            if not ID_TEXT.fullmatch(key.strip()):
                continue
            wanted.setdefault(int(key), []).append(key)
        else:
            wanted.setdefault(key, [key])
    return wanted


def _decimals(values: Sequence[Any]) -> list[Decimal | None]:
    """A decimal column as the driver gives it (float on SQLite, exact on MySQL); the shortest
    repr of a float is exact for PrestaShop's 6-decimal values."""
    return [v if v is None or v.__class__ is Decimal else Decimal(repr(v)) if v.__class__ is float
            else Decimal(v) for v in values]


# field -> how a column of the driver's values becomes Target.current's
_READERS: dict[str, Callable[[Sequence[Any]], list[Any]]] = {
    "price": _decimals,
    "wholesale_price": _decimals,
    "quantity": lambda values: [int(v or 0) for v in values],
    "active": lambda values: [bool(v) for v in values],
    "name": lambda values: [v or "" for v in values],
    "ean13": lambda values: [v or "" for v in values],
    "weight": _decimals,
}


def to_quantity(value: Any) -> int:
    """A quantity as its INT column takes it; ValueError naming the value otherwise."""
    if value.__class__ is int:
        return value
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"quantity {value!r} is not a whole number")
    return int(text)


def _active(value: Any) -> int:
    if value not in (True, False, 0, 1, "0", "1"):
        raise ValueError(f"active {value!r} is not a boolean")
    return 1 if value in (True, 1, "1") else 0


def _text(value: Any) -> str:
    return "" if value is None else str(value)




def to_decimal(value: Any) -> Decimal:
    """A price or weight as PrestaShop stores it: 6 decimals, rounded half-up."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not d.is_finite():
            raise ValueError
        return d.quantize(_MICRO, rounding=ROUND_HALF_UP)
    except (ArithmeticError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


# field -> a value as its column takes it
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "price": to_decimal, "wholesale_price": to_decimal, "weight": to_decimal,
    "quantity": to_quantity, "active": _active, "name": _text, "ean13": _text,
}
