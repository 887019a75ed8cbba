"""Reading a PrestaShop shop's sales orders, for an export profile with `entity = "orders"`.

The tables are PrestaShop's own (install-dev/data/db_structure.sql, 1.7.7 to 8.x), with
columns.py's types: only the columns Heartbeat reads, plus the NOT NULL columns without a default
that an INSERT needs (the demo shop's), and the secondary indexes our queries rely on.

`OrderReader` works like `PrestaShop`'s product reading: `iter_queue(since)` lists the orders an
export task will handle, `read_orders(ids)` gives the export-format dicts of one batch. Errors leave
it as `ConnectorError`s, exactly as the shop's own (same connection, same translation).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from connectors.platform import export_format as fmt
from connectors.prestashop.columns import DECIMAL, FLAG, UINT, PsDecimal
from connectors.prestashop.columns import col as _col
from connectors.prestashop.columns import table as _table
from connectors.prestashop.shop import IDS_PER_QUERY, PrestaShop
from core.driver import keyset_pages


class RateDecimal(PsDecimal):
    """decimal(13,6) (currency conversion rates), read as `Decimal` like PsDecimal."""

    cache_ok = True

    def __init__(self):
        sa.TypeDecorator.__init__(self, 13, 6)  # not PsDecimal's, which fixes (20, 6)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.Numeric(13, 6, asdecimal=dialect.name != "sqlite"))


RATE = RateDecimal()


@dataclass(frozen=True)
class OrderTables:
    """The order tables of one shop database; `prefix` is PrestaShop's _DB_PREFIX_."""

    prefix: str
    metadata: sa.MetaData
    orders: sa.Table
    order_detail: sa.Table
    order_state_lang: sa.Table
    customer: sa.Table
    currency: sa.Table
    order_state: sa.Table
    order_history: sa.Table
    order_carrier: sa.Table
    address: sa.Table


def _orders(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}orders", md,
        _col("id_order", UINT, primary_key=True, autoincrement=True),
        _col("reference", sa.String(9), nullable=True),
        _col("id_shop", UINT, server_default="1"),
        _col("id_carrier", UINT),
        _col("id_lang", UINT),
        _col("id_customer", UINT),
        _col("id_cart", UINT),
        _col("id_currency", UINT),
        _col("id_address_delivery", UINT),
        _col("id_address_invoice", UINT),
        _col("current_state", UINT),
        _col("payment", sa.String(255)),
        _col("conversion_rate", RATE, server_default="1.000000"),
        *(_col(name, DECIMAL, server_default="0.000000") for name in fmt.ORDER_TOTALS),
        _col("invoice_date", sa.DateTime),
        _col("delivery_date", sa.DateTime),
        _col("valid", UINT, server_default="0"),  # int(1) unsigned in PrestaShop
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )
    sa.Index(f"ix_{p}orders_id_shop", t.c.id_shop)
    return t


def _order_detail(md: sa.MetaData, p: str) -> sa.Table:
    """One row per product (or combination) in an order, with copies of what it was when sold."""
    t = _table(
        f"{p}order_detail", md,
        _col("id_order_detail", UINT, primary_key=True, autoincrement=True),
        _col("id_order", UINT),
        _col("id_shop", UINT),
        _col("product_id", UINT),
        _col("product_attribute_id", UINT, nullable=True),
        _col("product_name", sa.String(255)),
        _col("product_quantity", UINT, server_default="0"),
        _col("product_ean13", sa.String(13), nullable=True),
        _col("product_reference", sa.String(64), nullable=True),  # varchar(32) before 8.0
        _col("product_weight", DECIMAL),
        _col("tax_name", sa.String(16)),
        _col("total_price_tax_incl", DECIMAL, server_default="0.000000"),
        _col("total_price_tax_excl", DECIMAL, server_default="0.000000"),
        _col("unit_price_tax_incl", DECIMAL, server_default="0.000000"),
        _col("unit_price_tax_excl", DECIMAL, server_default="0.000000"),
    )
    sa.Index(f"ix_{p}order_detail_id_order_id_order_detail", t.c.id_order, t.c.id_order_detail)
    return t


def _others(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Order state names, customers and currencies: what an exported order names."""
    state_lang = _table(
        f"{p}order_state_lang", md,
        _col("id_order_state", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(64)),
        _col("template", sa.String(64)),
    )
    customer = _table(
        f"{p}customer", md,
        _col("id_customer", UINT, primary_key=True, autoincrement=True),
        _col("id_gender", UINT),
        _col("firstname", sa.String(255)),  # varchar(32) before 1.7.7 (and email 128)
        _col("lastname", sa.String(255)),
        _col("email", sa.String(255)),
        _col("passwd", sa.String(255)),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )
    currency = _table(
        f"{p}currency", md,
        _col("id_currency", UINT, primary_key=True, autoincrement=True),
        _col("name", sa.String(64)),
        _col("iso_code", sa.String(3), server_default="0"),
        _col("conversion_rate", RATE),
    )
    return state_lang, customer, currency


def _order_state(md: sa.MetaData, p: str) -> sa.Table:
    """The order states an order's current_state and history name (their flags, not their names)."""
    return _table(
        f"{p}order_state", md,
        _col("id_order_state", UINT, primary_key=True, autoincrement=True),
        _col("invoice", FLAG, nullable=True, server_default="0"),
        _col("send_email", FLAG, server_default="0"),
        _col("module_name", sa.String(255), nullable=True),
        _col("color", sa.String(32), nullable=True),
        _col("unremovable", FLAG),
        _col("logable", FLAG, server_default="0"),
        _col("delivery", FLAG, server_default="0"),
        _col("shipped", FLAG, server_default="0"),
        _col("paid", FLAG, server_default="0"),
        _col("deleted", FLAG, server_default="0"),
    )


def _history_and_carrier(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """An order's state changes (the latest is its current_state; id_employee 0 when a module made
    it) and its carrier row (one per shipment: one per order without split shipments)."""
    history = _table(
        f"{p}order_history", md,
        _col("id_order_history", UINT, primary_key=True, autoincrement=True),
        _col("id_employee", UINT),
        _col("id_order", UINT),
        _col("id_order_state", UINT),
        _col("date_add", sa.DateTime),
    )
    sa.Index(f"ix_{p}order_history_order_history_order", history.c.id_order)
    carrier = _table(
        f"{p}order_carrier", md,
        _col("id_order_carrier", sa.Integer, primary_key=True, autoincrement=True),  # int(11), signed
        _col("id_order", UINT),
        _col("id_carrier", UINT),
        _col("id_order_invoice", UINT, nullable=True),
        _col("weight", DECIMAL, nullable=True),
        _col("shipping_cost_tax_excl", DECIMAL, nullable=True),
        _col("shipping_cost_tax_incl", DECIMAL, nullable=True),
        _col("tracking_number", sa.String(64), nullable=True),
        _col("date_add", sa.DateTime),
    )
    sa.Index(f"ix_{p}order_carrier_id_order", carrier.c.id_order)
    return history, carrier


def _address(md: sa.MetaData, p: str) -> sa.Table:
    """Customers' addresses (an order's id_address_delivery and id_address_invoice). PrestaShop
    never deletes one an order uses: it sets `deleted`."""
    t = _table(
        f"{p}address", md,
        _col("id_address", UINT, primary_key=True, autoincrement=True),
        _col("id_country", UINT),
        _col("id_customer", UINT, server_default="0"),
        _col("alias", sa.String(32)),
        _col("company", sa.String(255), nullable=True),
        _col("lastname", sa.String(255)),
        _col("firstname", sa.String(255)),
        _col("address1", sa.String(128)),
        _col("postcode", sa.String(12), nullable=True),
        _col("city", sa.String(64)),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("active", FLAG, server_default="1"),
        _col("deleted", FLAG, server_default="0"),
    )
    sa.Index(f"ix_{p}address_address_customer", t.c.id_customer)
    return t


@functools.cache
def order_tables(prefix: str = "ps_") -> OrderTables:
    """The order tables named with `prefix` (cached: the same object for the same prefix)."""
    md = sa.MetaData()
    state_lang, customer, currency = _others(md, prefix)
    history, carrier = _history_and_carrier(md, prefix)
    return OrderTables(prefix=prefix, metadata=md, orders=_orders(md, prefix),
                       order_detail=_order_detail(md, prefix), order_state_lang=state_lang,
                       customer=customer, currency=currency, order_state=_order_state(md, prefix),
                       order_history=history, order_carrier=carrier, address=_address(md, prefix))


class OrderReader:
    """The sales orders of `shop` (its id_shop; names in its id_lang), read on its connection.

    `timezone` is the shop's own (PrestaShop's PS_TIMEZONE): the zone its naive dates are in. It is
    only needed to pass an aware `since` to `iter_queue`.
    """

    queue_page = 5000  # rows per query in iter_queue

    def __init__(self, shop: PrestaShop, *, timezone: tzinfo | None = None):
        self.shop, self.timezone = shop, timezone
        self.tables = order_tables(shop.prefix)

    def __repr__(self) -> str:
        return f"OrderReader({self.shop!r})"

    def check(self) -> None:
        """Connect and check the orders table exists; raises ConnectorError saying why not."""
        table = self.tables.orders.name
        with self.shop._connect() as conn:  # the shop's error translation: one line, no password
            if not sa.inspect(conn).has_table(table):
                raise self.shop._fail(f"table {table} not found (prefix {self.shop.prefix!r})")

    def iter_queue(self, since: datetime | None = None) -> Iterator[tuple[int, int, str, str]]:
        """(id_order, 0, reference, customer name) of the shop's orders with date_upd after `since`
        (every order when None), ascending id_order.

        `since` is compared with PrestaShop's date_upd, a naive datetime in the shop's local time:
        pass a naive `since` in that time, or an aware one with the reader's `timezone` set (an
        aware `since` without it raises ValueError). Paged by keyset like `PrestaShop.iter_queue`:
        constant memory, no connection held between pages. A NULL reference is ""; the name is
        "firstname lastname", "" when the customer's row is gone.
        """
        since = self._shop_time(since)

        def page(after: int, size: int) -> list:
            with self.shop._connect() as conn:
                return conn.execute(self._queue_query(after, since)).all()

        for id_order, reference, firstname, lastname in keyset_pages(page, self.queue_page):
            yield id_order, 0, reference or "", f"{firstname or ''} {lastname or ''}".strip()

    def latest_update(self) -> datetime | None:
        """The latest date_upd of the shop's orders (naive, the shop's clock); None without orders.

        Read before building a queue, it is a `since` for the next export that needs no time zone:
        the orders changed after it are exactly those this export did not see (but for one
        changed again within that same second: pass it one second earlier to be sure, at the cost
        of exporting that second's orders twice).
        """
        o = self.tables.orders
        with self.shop._connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(o.c.date_upd))
                                  .where(o.c.id_shop == self.shop.id_shop)).scalar()
        return latest if isinstance(latest, datetime) else None

    def _shop_time(self, since: datetime | None) -> datetime | None:
        if since is None or since.tzinfo is None:
            return since
        if self.timezone is None:
            raise ValueError("an aware `since` needs the shop's timezone (OrderReader(shop, timezone=...)); "
                             "PrestaShop's dates are naive local times")
        return since.astimezone(self.timezone).replace(tzinfo=None)

    def _queue_query(self, after: int, since: datetime | None) -> sa.Select:
        o, c = self.tables.orders, self.tables.customer
        query = (
            sa.select(o.c.id_order, o.c.reference, c.c.firstname, c.c.lastname)
            .outerjoin(c, c.c.id_customer == o.c.id_customer)
            .where(o.c.id_shop == self.shop.id_shop, o.c.id_order > after)
            .order_by(o.c.id_order)
            .limit(self.queue_page)
        )
        return query if since is None else query.where(o.c.date_upd > since)

    def read_orders(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Export-format dicts of the orders `ids` of this shop, keyed by id_order, ascending.

        Ids not in the shop (or of another shop) are absent from the result. Two queries per
        `IDS_PER_QUERY` ids, so one for a batch: the orders with their state, currency and
        customer, then their lines.
        """
        wanted = sorted({int(i) for i in ids})
        out: dict[int, dict[str, Any]] = {}
        with self.shop._connect() as conn:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start:start + IDS_PER_QUERY]
                lines = self._read_lines(conn, chunk)
                for row in conn.execute(self._orders_query(chunk)):
                    out[row.id_order] = _order(row, lines.get(row.id_order, []))
        return out

    def _orders_query(self, ids: list[int]) -> sa.Select:
        t = self.tables
        o, osl, cu, c = t.orders, t.order_state_lang, t.currency, t.customer
        return (
            sa.select(
                o.c.id_order, o.c.reference, o.c.current_state, osl.c.name.label("state_name"),
                o.c.valid, o.c.payment, cu.c.iso_code, o.c.conversion_rate,
                *(o.c[name] for name in fmt.ORDER_TOTALS),
                o.c.id_customer, c.c.firstname, c.c.lastname, c.c.email, o.c.date_add, o.c.date_upd,
            )
            .outerjoin(osl, sa.and_(osl.c.id_order_state == o.c.current_state,
                                    osl.c.id_lang == self.shop.id_lang))
            .outerjoin(cu, cu.c.id_currency == o.c.id_currency)
            .outerjoin(c, c.c.id_customer == o.c.id_customer)
            .where(o.c.id_order.in_(ids), o.c.id_shop == self.shop.id_shop)
            .order_by(o.c.id_order)
        )

    def _read_lines(self, conn: sa.Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """id_order -> its lines (export dicts), ascending id_order_detail."""
        d = self.tables.order_detail
        query = (
            sa.select(d.c.id_order, d.c.id_order_detail, d.c.product_id, d.c.product_attribute_id,
                      d.c.product_reference, d.c.product_ean13, d.c.product_name, d.c.product_quantity,
                      d.c.unit_price_tax_excl, d.c.unit_price_tax_incl, d.c.total_price_tax_excl,
                      d.c.total_price_tax_incl)
            .where(d.c.id_order.in_(ids))
            .order_by(d.c.id_order, d.c.id_order_detail)
        )
        by_order: dict[int, list[dict[str, Any]]] = {}
        for row in conn.execute(query):
            by_order.setdefault(row.id_order, []).append(fmt.order_line(
                id_order_detail=row.id_order_detail, product_id=row.product_id,
                product_attribute_id=row.product_attribute_id, reference=row.product_reference,
                ean13=row.product_ean13, name=row.product_name, quantity=row.product_quantity,
                unit_price_tax_excl=row.unit_price_tax_excl, unit_price_tax_incl=row.unit_price_tax_incl,
                total_price_tax_excl=row.total_price_tax_excl,
                total_price_tax_incl=row.total_price_tax_incl,
            ))
        return by_order


def _order(row: sa.Row, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return fmt.order(
        id_order=row.id_order, reference=row.reference, state_id=row.current_state,
        state_name=row.state_name, valid=row.valid, payment=row.payment, currency=row.iso_code,
        conversion_rate=row.conversion_rate, totals={name: row._mapping[name] for name in fmt.ORDER_TOTALS},
        customer_id=row.id_customer, firstname=row.firstname, lastname=row.lastname, email=row.email,
        date_add=row.date_add, date_upd=row.date_upd, lines=lines,
    )
