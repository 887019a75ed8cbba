"""Reading a PrestaShop shop's catalogue (MySQL/MariaDB, or the SQLite demo shop).

The connector speaks the export format (connectors/platform/export_format.py): `iter_queue()` lists
what an export task will handle, `read_products(ids)` gives the product dicts for one batch.
Every database error leaves this module as a `ConnectorError` naming the connection, with the URL
rendered without its password and only the first line of the driver's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from connectors.platform import export_format as fmt
from connectors.prestashop import categories, listing, pricing
from connectors.prestashop.categories import CategoryTree
from connectors.prestashop.schema import ShopTables, shop_tables
from core.driver import Prepared, create_engine, decode_replacing, keyset_pages, text_factory
from core.errors import ConnectorError, ConnectorUnavailable

CONNECT_TIMEOUT = 5  # seconds: an unreachable MySQL server fails a task fast, not after minutes
IO_TIMEOUT = 120  # seconds per socket read/write: a server that accepts but never answers
IDS_PER_QUERY = 5000  # read_products splits longer id lists (SQLite allows 32766 parameters)


def safe_url(url: str | URL) -> str:
    """The URL as text with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)


# MySQL/MariaDB errors that mean "away for now": can't connect, gone away, lost connection, too
# many connections, lock wait timeout, deadlock, connection killed, server shutting down
TRANSIENT_MYSQL = {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055}
TRANSIENT_SQLITE = ("database is locked", "unable to open database file", "disk i/o error")


def is_transient(exc: BaseException) -> bool:
    """True for database errors that retrying later can cure (not a missing column, say)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    code = orig.args[0] if getattr(orig, "args", None) else None
    if isinstance(code, int):
        return code in TRANSIENT_MYSQL
    return any(text in str(orig).lower() for text in TRANSIENT_SQLITE)


def first_line(exc: BaseException) -> str:
    """The driver's own message (without SQLAlchemy's wrapping), first line only."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


class PrestaShop:
    """One shop database. Opening is lazy: `check()` (or the first read) connects."""

    queue_page = 5000  # rows per query in iter_queue

    def __init__(self, url: str, *, prefix: str = "ps_", id_shop: int = 1, id_lang: int = 1,
                 name: str = "shop", base_url: str | None = None,
                 image_type: str = listing.DEFAULT_IMAGE_TYPE):
        self.url, self.prefix, self.name, self.base_url = url, prefix, name, base_url
        self.image_type = image_type or listing.DEFAULT_IMAGE_TYPE
        self.id_shop, self.id_lang = int(id_shop), int(id_lang)
        self.tables: ShopTables = shop_tables(prefix)
        try:
            self._sqlite_path = _sqlite_file(url)
            self._engine = _create_engine(url, self._sqlite_path)
        except sa.exc.NoSuchModuleError as exc:
            raise self._fail(f"unsupported database URL {safe_url(url)}: {exc}") from None
        except sa.exc.ArgumentError:  # its text would quote the URL, password included
            raise self._fail("invalid database URL (expected e.g. "
                             "mysql+pymysql://user:password@host/database)") from None

    @classmethod
    def from_connection(cls, conn: Any) -> PrestaShop:
        """From a heartbeat `Connection` of type "prestashop" (options: url, prefix, id_shop, id_lang,
        base_url, image_type)."""
        o = conn.options
        return cls(o["url"], prefix=o.get("prefix", "ps_"), id_shop=o.get("id_shop", 1),
                   id_lang=o.get("id_lang", 1), name=conn.name, base_url=o.get("base_url"),
                   image_type=o.get("image_type") or listing.DEFAULT_IMAGE_TYPE)

    def __enter__(self) -> PrestaShop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections. The object can still be used; it reconnects on demand."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"PrestaShop({self.name!r}, {safe_url(self.url)!r}, id_shop={self.id_shop})"

    # -- connecting ---------------------------------------------------------------------------

    def _fail(self, reason: str, exc: BaseException | None = None) -> ConnectorError:
        """The error to raise; ConnectorUnavailable when `exc` says the database is only away."""
        cls = ConnectorUnavailable if exc is not None and is_transient(exc) else ConnectorError
        return cls(f"connection {self.name}: {reason}")

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        """A connection; any database error becomes a ConnectorError."""
        if self._sqlite_path is not None and not self._sqlite_path.is_file():
            raise self._fail(f"shop database {self._sqlite_path} does not exist "
                             "(create it with `heartbeat demo init`)")
        try:
            conn = self._engine.connect()
        except sa.exc.DBAPIError as exc:
            raise self._fail(f"cannot connect to {safe_url(self.url)}: {first_line(exc)}", exc) from None
        try:
            with conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise self._fail(f"reading {safe_url(self.url)} failed: {first_line(exc)}", exc) from None

    def check(self) -> None:
        """Connect and check the product table exists; raises ConnectorError saying why not."""
        table = self.tables.product.name
        with self._connect() as conn:
            if not sa.inspect(conn).has_table(table):
                raise self._fail(f"table {table} not found (prefix {self.prefix!r})")

    def wrong_ids(self) -> str | None:
        """Why this connection's id_shop or id_lang names nothing in the shop (None when the shop
        has both): `id_shop = 3` by mistake would make the shop look empty. Raises ConnectorError
        when the shop cannot be read."""
        with self._connect() as conn:
            shops = sorted(conn.execute(sa.select(self.tables.shop.c.id_shop)).scalars())
            if self.id_shop not in shops:
                return f"id_shop = {self.id_shop}: the shop has no such shop (its shops: {_listed(shops)})"
            languages = listing.read_languages(conn, self.tables, self.id_shop)
        if self.id_lang not in languages:
            have = _listed([f"{i} ({iso})" for i, iso in languages.items()])
            return (f"id_lang = {self.id_lang}: shop {self.id_shop} has no such active language "
                    f"(its languages: {have})")
        return None

    # -- reading ------------------------------------------------------------------------------

    def iter_queue(self) -> Iterator[tuple[int, int, str, str]]:
        """(id_product, 0, reference, name) of every product of the shop, ascending id_product.

        Read in pages of `queue_page` rows by keyset (id_product > last seen), so memory does not
        grow with the catalogue, and no connection or server-side cursor is held between pages:
        the caller may interleave other reads, or abandon the iterator, at no cost. (A streamed
        pymysql cursor would have to be drained to the last row when abandoned.) The second field
        is the combination id: always 0, since combinations are exported inside their product.
        A NULL reference or missing name is "".
        """
        def page(after: int, size: int) -> list[tuple]:
            with self._connect() as conn:
                return shop_rows(conn, self._statements.queue, after=after, page=size)

        for id_product, reference, name in keyset_pages(page, self.queue_page):
            yield id_product, 0, reference or "", name or ""

    def category_tree(self) -> CategoryTree:
        """This shop's category tree, names in its language (connectors.prestashop.categories)."""
        with self._connect() as conn:
            return categories.read_tree(conn, self.tables, self.id_shop, self.id_lang)

    def iter_category_facts(self) -> Iterator[categories.ProductFacts]:
        """Each product's default category, reference, name and manufacturer (what the category
        rules look at), ascending id, read in pages like iter_queue."""
        def page(after: int, size: int) -> list[categories.ProductFacts]:
            with self._connect() as conn:
                return categories.facts_page(conn, self.tables, self.id_shop, self.id_lang, after, size)
        return keyset_pages(page, self.queue_page)

    def read_products(self, ids: Sequence[int], problems: dict[int, Problem] | None = None,
                      at: datetime | None = None) -> dict[int, dict[str, Any]]:
        """Export-format dicts of the products `ids` in this shop, keyed by id_product, ascending.

        Ids not in the shop are absent from the result. A product whose values the export format
        cannot carry (export_format.InvalidValue, its combinations' included) is absent too and,
        when `problems` is given, put there with the reason; a product exported with values left
        out or repaired gets its notes there. Per `IDS_PER_QUERY` ids: the products with their
        language, shop, stock, category and manufacturer, the combinations with their stock and
        attribute names, then one query per table of what a listing needs (listing.py: texts in
        every language, images, categories, features, attributes per language, and the specific
        prices current at `at`, the shop's local time; None: any).
        """
        members = {int(i) for i in ids}
        wanted = sorted(members)
        out: dict[int, dict[str, Any]] = {}
        found: dict[int, Problem] = {}
        facts = self.facts
        with self._connect() as conn:
            for sparse, values in listing.batch_parts(wanted, IDS_PER_QUERY):
                reads = self._statements.sparse if sparse else self._statements.dense
                combinations = self._read_combinations(conn, reads.combinations, values, found)
                rows = shop_rows(conn, reads.products, **values)
                extras = reads.listing.read(conn, values, facts.languages, at, shop_rows)
                for row in rows:
                    pid = row[0]
                    if pid not in members or (pid in found and found[pid].error):
                        continue
                    notes: list[str] = []
                    try:
                        out[pid] = self._product(row, combinations.get(pid, []), extras, facts, notes)
                    except fmt.InvalidValue as exc:
                        found[pid] = Problem(str(exc), ())
                        continue
                    _noted(found, pid, notes)
        found = {pid: problem for pid, problem in found.items() if pid in members}  # not a gap's
        if problems is not None:
            problems.update(found)
        return out

    def _product(self, row: Sequence[Any], combinations: list[dict[str, Any]], extras: listing.Extras,
                 facts: ShopFacts, notes: list[str]) -> dict[str, Any]:
        return build_product(row, combinations, extras, facts, self.base_url, self.id_lang, notes,
                             self.image_type)

    @functools.cached_property
    def facts(self) -> ShopFacts:
        """What every batch shares: the shop's languages, price facts, category tree; read once, until
        `forget_facts` (an export calls it when a task starts: a daemon lives for months, the shop's
        VAT and categories change)."""
        with self._connect() as conn:
            return ShopFacts(listing.read_languages(conn, self.tables, self.id_shop),
                              listing.read_price_facts(conn, self.tables, self.id_shop),
                              categories.read_tree(conn, self.tables, self.id_shop, self.id_lang))

    def forget_facts(self) -> None:
        """Read the shop-wide facts again at the next read."""
        self.__dict__.pop("facts", None)

    def _read_combinations(self, conn: sa.Connection, statement: Prepared, values: dict[str, Any],
                           problems: dict[int, Problem]) -> dict[int, list[dict]]:
        """id_product -> its combinations (export dicts), ascending id_product_attribute; a
        product with a combination the format cannot carry goes to `problems` instead."""
        by_product: dict[int, list[dict]] = {}
        current: dict[str, Any] | None = None
        rows = shop_rows(conn, statement, **values)
        for id_product, id_pa, reference, ean13, price, quantity, group, value in rows:
            if current is None or current["id_product_attribute"] != id_pa:
                notes: list[str] = []
                try:
                    current = fmt.combination(id_product_attribute=id_pa, reference=reference, ean13=ean13,
                                              price_impact=price, quantity=quantity, attributes={},
                                              notes=notes)
                except fmt.InvalidValue as exc:
                    problems[id_product] = Problem(str(exc), ())
                    current = {"id_product_attribute": id_pa, "attributes": {}}  # its value rows follow
                    continue
                by_product.setdefault(id_product, []).append(current)
                _noted(problems, id_product, notes)
            if group is not None and value is not None:
                current["attributes"][group] = value
        return by_product

    def plans(self, ids: Sequence[int]) -> dict[str, list[tuple]]:
        """The database's plan (`Prepared.explain`) of each per-batch read for a batch of these
        ascending ids (its first read), by statement name: what tests/test_batch_plans.py holds
        to using keys."""
        sparse, values = next(listing.batch_parts(list(ids), IDS_PER_QUERY))
        reads = self._statements.sparse if sparse else self._statements.dense
        statements = {"products": reads.products, "combinations": reads.combinations,
                      **{name: getattr(reads.listing, name) for name in listing.STATEMENTS}}
        with self._connect() as conn:
            return {name: statement.explain(conn, **values) for name, statement in statements.items()}

    def existing(self, ids: Sequence[int]) -> set[int]:
        """Which of these products this shop has, as iter_queue lists them (a ps_product row and
        a ps_product_shop row for id_shop)."""
        p, ps, found = self.tables.product, self.tables.product_shop, set()
        with self._connect() as conn:
            for start in range(0, len(ids), IDS_PER_QUERY):
                chunk = [int(i) for i in ids[start:start + IDS_PER_QUERY]]
                found.update(conn.execute(
                    sa.select(ps.c.id_product).join(p, p.c.id_product == ps.c.id_product)
                    .where(ps.c.id_shop == self.id_shop, ps.c.id_product.in_(chunk))).scalars())
        return found

    @property
    def dialect(self) -> sa.Dialect:
        return self._engine.dialect

    @functools.cached_property
    def stock(self) -> StockScope:
        """Where this shop's quantities are: its own stock rows, or its shop group's when the
        group shares stock (ps_shop_group.share_stock). Read once; a database without ps_shop
        (an old demo shop) has no groups."""
        shop, group = self.tables.shop, self.tables.shop_group
        query = (sa.select(shop.c.id_shop_group, group.c.share_stock)
                 .join(group, group.c.id_shop_group == shop.c.id_shop_group)
                 .where(shop.c.id_shop == self.id_shop))
        with self._connect() as conn:
            if not sa.inspect(conn).has_table(shop.name):
                return StockScope(self.id_shop, 0)
            row = conn.execute(query).first()
        if row is not None and row[1]:
            return StockScope(0, int(row[0]))
        return StockScope(self.id_shop, 0)

    @functools.cached_property
    def _statements(self) -> _Statements:
        return _Statements(self.tables, self.id_shop, self.id_lang, self.dialect, self.stock)


Within = Callable[[sa.ColumnElement], sa.ColumnElement[bool]]  # a batch's rows of a product key


class StockScope(NamedTuple):
    """The stock rows of a shop, as PrestaShop's StockAvailable::addSqlShopRestriction selects them:
    (id_shop, 0) for a shop of its own stock, (0, id_shop_group) when its group shares stock."""

    id_shop: int
    id_shop_group: int

    def where(self, stock: sa.Table) -> sa.ColumnElement[bool]:
        """The condition on ps_stock_available (`stock`, or an alias of it) for these rows."""
        return sa.and_(*(stock.c[column] == value for column, value in self.columns().items()))

    def columns(self) -> dict[str, int]:
        """The same condition as column = value pairs."""
        if self.id_shop_group:
            return {"id_shop": 0, "id_shop_group": self.id_shop_group}
        return {"id_shop": self.id_shop}


class _Statements:
    """The connector's reads, compiled once per shop (they run for every batch of an export)."""

    def __init__(self, tables: ShopTables, id_shop: int, id_lang: int, dialect: sa.Dialect,
                 stock: StockScope):
        self.tables, self.id_shop, self.id_lang, self.stock = tables, id_shop, id_lang, stock
        self.queue = Prepared(self._queue(), dialect)
        self.dense = BatchReads(self, dialect, listing.in_range)
        self.sparse = BatchReads(self, dialect, listing.in_range_and_list)

    def _queue(self) -> sa.Select:
        t = self.tables
        p, ps, pl = t.product, t.product_shop, t.product_lang
        return (
            sa.select(ps.c.id_product, p.c.reference, pl.c.name)
            .join(p, p.c.id_product == ps.c.id_product)
            .outerjoin(pl, sa.and_(pl.c.id_product == ps.c.id_product, pl.c.id_shop == ps.c.id_shop,
                                   pl.c.id_lang == self.id_lang))
            .where(ps.c.id_shop == self.id_shop, ps.c.id_product > sa.bindparam("after"))
            .order_by(ps.c.id_product)
            .limit(sa.bindparam("page"))
        )

    def _products(self, within: Within) -> sa.Select:
        """One row per product, columns in `_product`'s order."""
        t = self.tables
        p, ps, pl, sa_, cl, m = (t.product, t.product_shop, t.product_lang, t.stock_available,
                                 t.category_lang, t.manufacturer)
        return (
            sa.select(
                p.c.id_product, p.c.reference, p.c.ean13, p.c.upc, p.c.mpn, pl.c.name,
                pl.c.description_short, ps.c.active, ps.c.price, ps.c.wholesale_price,
                sa_.c.quantity, p.c.weight, ps.c.id_category_default, cl.c.name, m.c.name, ps.c.date_upd,
                p.c.supplier_reference, p.c.width, p.c.height, p.c.depth, ps.c.condition, ps.c.visibility,
                ps.c.available_for_order, ps.c.minimal_quantity, ps.c.id_tax_rules_group, ps.c.ecotax,
            )
            .join(ps, sa.and_(ps.c.id_product == p.c.id_product, ps.c.id_shop == self.id_shop))
            .outerjoin(pl, sa.and_(pl.c.id_product == p.c.id_product, pl.c.id_shop == self.id_shop,
                                   pl.c.id_lang == self.id_lang))
            .outerjoin(sa_, sa.and_(sa_.c.id_product == p.c.id_product,
                                    sa_.c.id_product_attribute == 0, self.stock.where(sa_)))
            .outerjoin(cl, sa.and_(cl.c.id_category == ps.c.id_category_default,
                                   cl.c.id_shop == self.id_shop, cl.c.id_lang == self.id_lang))
            .outerjoin(m, m.c.id_manufacturer == p.c.id_manufacturer)
            .where(within(p.c.id_product))
            .order_by(p.c.id_product)
        )

    def _combinations(self, within: Within) -> sa.Select:
        """One row per (combination, attribute value); a combination without values gives one row
        with NULL names."""
        t = self.tables
        pa, pas, sa_, pac = (t.product_attribute, t.product_attribute_shop, t.stock_available,
                             t.product_attribute_combination)
        a, al, agl = t.attribute, t.attribute_lang, t.attribute_group_lang
        return (
            sa.select(
                pa.c.id_product, pa.c.id_product_attribute, pa.c.reference, pa.c.ean13, pas.c.price,
                sa_.c.quantity, agl.c.name, al.c.name,
            )
            .join(pas, sa.and_(pas.c.id_product_attribute == pa.c.id_product_attribute,
                               pas.c.id_shop == self.id_shop))
            .outerjoin(sa_, sa.and_(sa_.c.id_product == pa.c.id_product,
                                    sa_.c.id_product_attribute == pa.c.id_product_attribute,
                                    self.stock.where(sa_)))
            .outerjoin(pac, pac.c.id_product_attribute == pa.c.id_product_attribute)
            .outerjoin(a, a.c.id_attribute == pac.c.id_attribute)
            .outerjoin(agl, sa.and_(agl.c.id_attribute_group == a.c.id_attribute_group,
                                    agl.c.id_lang == self.id_lang))
            .outerjoin(al, sa.and_(al.c.id_attribute == a.c.id_attribute, al.c.id_lang == self.id_lang))
            .where(within(pa.c.id_product))
            .order_by(pa.c.id_product_attribute, a.c.id_attribute_group, a.c.position)
        )


class BatchReads:
    """Every per-batch read of one kind (`listing.in_range` or `listing.in_range_and_list`): the
    products, their combinations and the listing's tables, each by a range of a product key."""

    def __init__(self, statements: _Statements, dialect: sa.Dialect, within: Within):
        self.products = Prepared(statements._products(within), dialect)
        self.combinations = Prepared(statements._combinations(within), dialect)
        self.listing = listing.ListingReads(statements.tables, statements.id_shop, dialect,
                                            statements.id_lang, within)


class Problem(NamedTuple):
    """Why a product was not exported (`error`), or what was left out or repaired (`notes`)."""

    error: str | None
    notes: tuple[str, ...]


def _noted(problems: dict[int, Problem], pid: int, notes: list[str]) -> None:
    """Add `notes` to product `pid`'s problem, unless it already has an error."""
    if notes and not (pid in problems and problems[pid].error):
        earlier = problems[pid].notes if pid in problems else ()
        problems[pid] = Problem(None, (*earlier, *notes))


class ShopFacts(NamedTuple):
    """What every batch of a reader shares."""

    languages: dict[int, str]  # active id_lang -> iso code
    prices: listing.PriceFacts  # the visitor, tax rates in the shop's country, rounding, URLs
    tree: CategoryTree


def build_product(row: Sequence[Any], combinations: list[dict[str, Any]], extras: listing.Extras,
                  facts: ShopFacts, base_url: str | None, id_lang: int,
                  notes: list[str] | None = None,
                  image_type: str = listing.DEFAULT_IMAGE_TYPE) -> dict[str, Any]:
    """A row of `_Statements.products` as the driver gives it (decimals as float on SQLite), with
    its combinations and listing data, as the export format's product (raises InvalidValue).
    Prices are the public ones (`pricing`: what an anonymous visitor of the shop is shown); the
    product's own are those of its default combination, as PrestaShop shows a product.
    The bench's raw limit builds its records with it too, from rows it reads itself."""
    pid, tree = row[0], facts.tree
    price = Decimal(fmt.amount("price", row[8]))  # checked first: "price: 'abc' is not a number"
    if pid in extras.invalid:
        raise fmt.InvalidValue(*extras.invalid[pid])
    prices = Pricer(pid, price, fmt.whole("id_tax_rules_group", row[24]),
                    Decimal(fmt.amount("ecotax", row[25])), extras, facts.prices)
    default = prices.default_combination(combinations)
    for combination in combinations:
        pa = combination["id_product_attribute"]
        public = prices.of(combination)
        fmt.priced(combination, price_tax_excl=public.regular_tax_excl,
                   price_tax_incl=public.regular_tax_incl,
                   specific_price=sale_of(public, f"combination {pa} "),
                   languages=extras.attributes.get(pa, {}), images=extras.combination_images.get(pa, []))
    public = prices.of(default)
    texts = extras.texts.get(pid, {})
    rewrite = texts.get(facts.languages.get(id_lang, ""), {}).get("link_rewrite")
    images = extras.images.get(pid, [])
    for image in images:
        image["url"] = listing.image_url(base_url, image["id"], image_type, rewrite,
                                         facts.prices.friendly_urls)
    category = int(row[12] or 0)
    extra = fmt.listing(
        price_tax_incl=public.regular_tax_incl, tax_rate=prices.tax_rate, specific_price=sale_of(public, ""),
        supplier_reference=row[16],
        condition=row[20], visibility=row[21], available_for_order=row[22], minimal_quantity=row[23],
        width=row[17], height=row[18], depth=row[19],
        categories=[{"id": c, "path": tree.path(c)} for c in extras.categories.get(pid, []) if c in tree],
        languages=texts, images=images,
        features=extras.features.get(pid, {}) if facts.prices.features else {},
        notes=notes, main_language=facts.languages.get(id_lang))
    return fmt.product(
        id_product=pid, reference=row[1], ean13=row[2], upc=row[3], mpn=row[4], name=row[5],
        description_short=row[6], active=row[7], price=row[8], wholesale_price=row[9],
        quantity=row[10], weight=row[11], category_id=row[12], category_name=row[13],
        manufacturer=row[14], date_upd=shop_datetime(row[15]), combinations=combinations,
        notes=notes, category_path=tree.path(category) if category in tree else None, extra=extra,
    )


class Pricer:
    """The public prices of one product and its combinations (pricing.py's rules, on the batch's
    rows): which specific price each gets, and what it costs with and without taxes."""

    def __init__(self, pid: int, price: Decimal, id_tax_rules_group: int, ecotax: Decimal,
                 extras: listing.Extras, facts: listing.PriceFacts):
        self.pid, self.price, self.ecotax, self.extras, self.facts = pid, price, ecotax, extras, facts
        self.tax_rate = facts.tax_rates.get(id_tax_rules_group, Decimal(0))
        self.rows = extras.sales.get(pid, []) + extras.sales.get(0, [])
        visitor = facts.visitor
        # GroupReduction::getValueForProduct, else the group's own reduction (Group::getReductionByIdGroup)
        self.group_reduction = extras.group_reductions.get((pid, visitor.id_group), facts.group_reduction) \
            if facts.group_reductions_active else Decimal(0)

    def default_combination(self, combinations: list[dict[str, Any]]) -> dict[str, Any] | None:
        """`Product::getDefaultAttribute`: the combination this shop marks as default, else the
        first one; None for a product without combinations."""
        marked = [c for c in combinations
                  if self.extras.combination_prices.get(c["id_product_attribute"], (0, None))[1] == 1]
        return (marked or combinations or [None])[0]

    def of(self, combination: dict[str, Any] | None) -> pricing.PublicPrice:
        """The public price of `combination` (None: the product without combination)."""
        pa, impact, attribute_ecotax = 0, Decimal(0), Decimal(0)
        if combination is not None:
            pa = combination["id_product_attribute"]
            impact = Decimal(combination["price_impact"])
            ecotax = self.extras.combination_prices.get(pa, (0, None))[0]
            attribute_ecotax = Decimal(fmt.amount(f"combination {pa} ecotax", ecotax))
        item = pricing.PriceInputs(
            price=self.price, impact=impact, id_product_attribute=pa, tax_rate=self.tax_rate,
            ecotax=self.ecotax, attribute_ecotax=attribute_ecotax, ecotax_rate=self.facts.ecotax_rate,
            group_reduction=self.group_reduction)
        specific = pricing.choose_specific_price(self.rows, self.facts.visitor, self.pid, pa, self.extras.at,
                                                 self.extras.priorities.get(self.pid))
        return pricing.public_price(item, specific, self.facts.visitor.round_mode)


def sale_of(public: pricing.PublicPrice, where: str) -> dict[str, Any] | None:
    """The format's `specific_price` of a public price: None when no specific price applies."""
    s = public.specific
    if s is None:
        return None
    return fmt.sale(price_tax_excl=public.sale_tax_excl, price_tax_incl=public.sale_tax_incl,
                    reduction=s.reduction, reduction_type=s.reduction_type, reduction_tax=s.reduction_tax,
                    start=s.start, end=s.end, where=where)


def shop_datetime(value: Any) -> datetime | str | None:
    """A DATETIME as a driver returns it without SQLAlchemy's conversion: a datetime (pymysql),
    or text (SQLite; on pymysql, what it could not convert, such as MySQL's zero date). Text that
    is not a date is returned as is, so the exporter can say which value it left out."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _sqlite_file(url: str) -> Path | None:
    """The absolute database file of a SQLite URL; None for other backends and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    database = u.database.removeprefix("file:") if u.query.get("uri") == "true" else u.database
    return Path(database.split("?", 1)[0]).expanduser().resolve()


def _create_engine(url: str, sqlite_path: Path | None) -> sa.Engine:
    """An engine that never creates a SQLite file and gives up on an unreachable server quickly
    (timeouts given in the URL's query, e.g. ?connect_timeout=10, are kept)."""
    u = make_url(url)
    connect_args: dict[str, Any] = {}
    if sqlite_path is not None:
        # mode=rw: SQLite would otherwise create an empty database where the shop should be.
        u = URL.create("sqlite", database=f"file:{quote(str(sqlite_path))}",
                       query={"mode": "rw", "uri": "true"})
    elif u.get_backend_name() in ("mysql", "mariadb"):
        defaults = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": IO_TIMEOUT,
                    "write_timeout": IO_TIMEOUT}
        connect_args = {k: v for k, v in defaults.items() if k not in u.query}  # the URL's win
    return create_engine(u, connect_args=connect_args)


def shop_rows(conn: sa.Connection, statement: Prepared, **values: Any) -> list[tuple]:
    """`statement.rows(conn, **values)`, read again with invalid UTF-8 decoded as U+FFFD when
    SQLite cannot decode some text: it keeps whatever bytes were written as TEXT, and one broken
    name would otherwise fail every read of its batch ("Could not decode to UTF-8 column"). The
    export format notes such text. Clean text keeps SQLite's own (C) decoding."""
    try:
        return statement.rows(conn, **values)
    except sa.exc.OperationalError as exc:
        if "decode" not in str(exc.orig).lower() or not hasattr(conn.connection.driver_connection,
                                                                  "text_factory"):
            raise
        with text_factory(conn, decode_replacing):
            return statement.rows(conn, **values)


def _listed(values) -> str:
    return ", ".join(str(v) for v in values) or "none"
