"""The products scope of the maintenance jobs: what is wrong with a shop's products and with the rows
that link them (shop, language, stock, category and combination rows), and the rows that repair it.

Records: the products (all of ps_product, ascending id_product), then, for analyze-integrity and
fix-orphans, the orphan rows of each link table (orphan_rules.RULES, by key); for
analyze-repeated-ids the repeated references, then the repeated EAN-13 codes (by value: shared by
two products or more, a combination counting as its product). A pattern's count is a count of
records: a product missing two stock rows counts once for stock_row_missing, its detail names both.

Everything is checked for the connection's shop (id_shop), its stock rows (`shop.stock`: the shop's
own, or its group's when the group shares stock) and every language active in it (ps_lang.active
with a ps_lang_shop row; the connection's id_lang alone when those tables are missing). A missing
name row is copied from the connection's id_lang, the shop's default language as Heartbeat knows it.
The default category is the shop's (ps_product_shop.id_category_default), else the product's.

Multistore: ps_product holds the products of every shop. A product with no ps_product_shop row for
the connection's shop is product_without_shop_row only when its id_shop_default is that shop (it
was created here, its shop row is lost); a product created in another shop and not shared with
this one is not missing here, so fix-linkeds never adds it (nor its language and stock rows) to
this shop, which would publish the other shop's catalogue. Its values are still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.integrity import values as v
from connectors.prestashop.integrity.base import (
    ANALYZE_INTEGRITY,
    ANALYZE_REPEATED_IDS,
    FIX_INTEGRITY,
    FIX_LINKEDS,
    FIX_ORPHANS,
    PRODUCTS,
    Change,
    Checked,
    Checker,
    Record,
)
from connectors.prestashop.integrity.catalogue import Catalogue
from connectors.prestashop.integrity.orphan_rules import RULES, Rule, orphans
from connectors.prestashop.integrity.product_fixes import Batch, Copy, Create, Fixer, Set
from connectors.prestashop.integrity.reads import ABSENT, chunks, images, read, whole_rows
from connectors.prestashop.integrity.rows import decode, encode

LINKED = ("product_without_shop_row", "product_without_lang_row", "default_category_not_linked",
          "stock_row_missing")
ORPHANS = ("orphan_stock_row", "orphan_product_lang", "orphan_product_shop", "orphan_category_product",
           "orphan_combination", "orphan_combination_attribute")
VALUES = ("default_category_missing", "default_combination_count", "price_drift", "negative_price",
          "invalid_ean13", "untrimmed_reference", "invalid_text", "empty_name")
INTEGRITY = ("product_without_shop_row", "product_without_lang_row", "default_category_missing",
             "default_category_not_linked", "stock_row_missing", *ORPHANS, "default_combination_count",
             "price_drift", "negative_price", "invalid_ean13", "untrimmed_reference", "invalid_text",
             "empty_name")
REPEATED = ("repeated_reference", "repeated_ean13")
VALUES_PER_QUERY = 400  # repeated values matched per query (SQLite allows 500 SELECTs in a UNION)


class ProductChecker(Checker):
    """Analyses and fixes of a shop's products (see the module docstring)."""

    scope = PRODUCTS
    patterns = {
        ANALYZE_INTEGRITY: INTEGRITY,
        ANALYZE_REPEATED_IDS: REPEATED,
        FIX_INTEGRITY: VALUES,
        FIX_ORPHANS: ORPHANS,
        FIX_LINKEDS: LINKED,
    }
    writes = {
        ANALYZE_INTEGRITY: (),
        ANALYZE_REPEATED_IDS: (),
        FIX_INTEGRITY: ("product", "product_shop", "product_lang", "product_attribute",
                        "product_attribute_shop"),
        FIX_ORPHANS: ("stock_available", "product_lang", "product_shop", "category_product",
                      "product_attribute_combination", "product_attribute", "product_attribute_shop"),
        FIX_LINKEDS: ("product_shop", "product_lang", "stock_available", "category_product"),
    }

    def __init__(self, shop: Any):
        super().__init__(shop)
        self.t = shop.tables
        self._tables: set[str] | None = None
        self._langs: list[tuple[int, str]] | None = None
        self.fixer = Fixer(shop)

    # -- what the shop has ------------------------------------------------------------------------

    def _has(self, name: str) -> bool:
        """Whether the shop has ShopTables' table `name` (the tables are listed once)."""
        if self._tables is None:
            with self.shop._connect() as conn:
                self._tables = set(sa.inspect(conn).get_table_names())
        return getattr(self.t, name).name in self._tables

    def not_checked(self) -> list[str]:
        """One line per optional table the shop lacks, naming it and what is not checked without it
        (those checks never query it)."""
        one_language = (f"product_without_lang_row checked in language {self.shop.id_lang} only; "
                        "orphan_product_lang not checked for missing languages")
        optional = (
            ("lang", one_language),
            ("lang_shop", one_language),
            ("category_product", "default_category_not_linked and orphan_category_product not checked"),
            ("shop", "orphan rows of missing shops not checked"),
            ("product_attribute_combination", "orphan_combination_attribute not checked"),
            ("attribute", "orphan_combination_attribute not checked for missing attributes"),
        )
        return [f"{getattr(self.t, name).name}: table not found ({what})"
                for name, what in optional if not self._has(name)]

    def _languages(self, conn: sa.Connection) -> list[tuple[int, str]]:
        """(id_lang, " (iso_code)") of the languages active in the shop, ascending; read once."""
        if self._langs is None:
            self._langs = [(self.shop.id_lang, "")]
            if self._has("lang") and self._has("lang_shop"):
                lang, lang_shop = self.t.lang, self.t.lang_shop
                query = (sa.select(lang.c.id_lang, lang.c.iso_code)
                         .join(lang_shop, lang_shop.c.id_lang == lang.c.id_lang)
                         .where(lang_shop.c.id_shop == self.shop.id_shop, lang.c.active == 1)
                         .order_by(lang.c.id_lang))
                self._langs = [(int(i), f" ({iso})" if iso else "") for i, iso in read(conn, query)]
        return self._langs

    # -- records ----------------------------------------------------------------------------------

    def records(self, operation: str) -> Iterator[Record]:
        self._operation(operation)
        if operation == ANALYZE_REPEATED_IDS:
            for column in ("reference", "ean13"):
                yield from self._repeated_records(column)
            return
        if operation != FIX_ORPHANS:
            yield from self._product_records()
        if operation in (ANALYZE_INTEGRITY, FIX_ORPHANS):
            for rule in RULES:
                if self._has(rule.table):
                    yield from self._orphan_records(rule)

    def _operation(self, operation: str) -> None:
        if operation not in self.patterns:
            raise ValueError(f"the products scope has no operation {operation!r}")

    def _pages(self, query: Callable[[Any], sa.Select], position: Callable[[sa.Row], Any],
               replacing: bool = True) -> Iterator[sa.Row]:
        """The rows of query(after) page by page: `after` is None first, then the position of the
        last row read (keyset); no connection is held between pages. See reads.read: `replacing`."""
        after, size = None, self.shop.queue_page
        while True:
            with self.shop._connect() as conn:
                page = read(conn, query(after).limit(size), replacing=replacing)
            yield from page
            if len(page) < size:
                return
            after = position(page[-1])

    def _product_records(self) -> Iterator[Record]:
        p = self.t.product

        def query(after: int | None) -> sa.Select:
            return (sa.select(p.c.id_product, p.c.reference).where(p.c.id_product > (after or 0))
                    .order_by(p.c.id_product))

        for id_product, reference in self._pages(query, lambda row: row[0]):
            yield Record("product", int(id_product), reference or f"product {id_product}")

    def _orphan_records(self, rule: Rule) -> Iterator[Record]:
        table = getattr(self.t, rule.table)
        columns = [table.c[c] for c in rule.key]
        select, _ = orphans(self.t, rule, self._has)

        def query(after: tuple | None) -> sa.Select:
            if after is None:
                return select.order_by(*columns)
            later = sa.tuple_(*columns) > sa.tuple_(*after) if len(columns) > 1 else columns[0] > after[0]
            return select.where(later).order_by(*columns)

        for row in self._pages(query, lambda row: tuple(row[:len(columns)])):
            key = dict(zip(rule.key, row, strict=False))
            own = key[rule.key[0]] if len(rule.key) == 1 else 0
            yield Record(rule.table, own, _label(table.name, key), key, rule.pattern)

    def _repeated_records(self, column: str) -> Iterator[Record]:
        p, pa = self.t.product, self.t.product_attribute
        found = sa.union_all(sa.select(p.c[column].label("value"), p.c.id_product),
                             sa.select(pa.c[column].label("value"), pa.c.id_product)).subquery("found")

        # SQLite keeps text that is not UTF-8: page on its bytes (the BINARY order of its text), so a
        # value read with U+FFFD never becomes a position that skips others
        sqlite = self.shop._engine.dialect.name == "sqlite"
        position = sa.cast(found.c.value, sa.LargeBinary) if sqlite else found.c.value

        def query(after: Any) -> sa.Select:
            later = [position > after] if after is not None else []
            return (sa.select(found.c.value, position.label("position"))
                    .where(found.c.value.is_not(None), found.c.value != "", *later)
                    .group_by(found.c.value).having(sa.func.count(sa.distinct(found.c.id_product)) > 1)
                    .order_by(position))

        page: list[Any] = []
        for value, _ in self._pages(query, lambda row: row[1], replacing=False):
            page.append(value)
            if len(page) == VALUES_PER_QUERY:
                yield from self._repeated_page(column, page)
                page = []
        yield from self._repeated_page(column, page)

    def _repeated_page(self, column: str, values: list[str]) -> Iterator[Record]:
        if not values:
            return
        with self.shop._connect() as conn:
            sharing = self._sharing(conn, column, values)
        for value in values:  # text that is not UTF-8 as bytes, kept in the record as {"hex": ...}
            ids = sorted({pid for pid, _ in sharing.get(value, [])})
            key = {column: encode(value), "ids": ids}
            yield Record(column, 0, v.as_text(value), key, f"repeated_{column}")

    # -- checks -----------------------------------------------------------------------------------

    def check(self, operation: str, records: list[Record]) -> Checked:
        self._operation(operation)
        with self.shop._connect() as conn:
            batch = Batch(conn, operation, self.patterns[operation], len(records))
            products = [(i, r) for i, r in enumerate(records) if r.kind == "product"]
            if products:
                self._check_products(batch, products)
            for rule in RULES:
                mine = [(i, r) for i, r in enumerate(records) if r.pattern == rule.pattern]
                if mine and rule.pattern in batch.patterns and self._has(rule.table):
                    self._check_orphans(batch, rule, mine)
            for column in ("reference", "ean13"):
                mine = [(i, r) for i, r in enumerate(records) if r.pattern == f"repeated_{column}"]
                if mine:
                    self._check_repeated(batch, column, mine)
            if operation == FIX_INTEGRITY:
                self.fixer.values(batch)
            elif operation == FIX_LINKEDS:
                self.fixer.links(batch)
            return batch.checked()

    def _check_products(self, batch: Batch, records: list[tuple[int, Record]]) -> None:
        """One finding per pattern and product: the details of its rows joined, all their repairs."""
        ids = [r.id for _, r in records]
        languages = self._languages(batch.conn)
        c = Catalogue.read(self.shop, batch.conn, ids, languages, self._has("category_product"))
        for i, record in records:
            if record.id not in c.products:
                continue
            merged: dict[str, tuple[list[str], list[Any]]] = {}
            for pattern, detail, repairs in self._product_findings(c, record.id):
                if pattern in batch.patterns:
                    details, all_repairs = merged.setdefault(pattern, ([], []))
                    details.append(detail)
                    all_repairs.extend(repairs)
            for pattern, (details, repairs) in merged.items():
                batch.add(i, pattern, "; ".join(details), repairs)

    def _product_findings(self, c: Catalogue, pid: int) -> Iterator[tuple[str, str, list[Any]]]:
        """(pattern, detail, repairs: [None] when it needs a human) of product `pid`."""
        yield from self._linked_findings(c, pid)
        yield from self._default_combination(c, pid)
        t, p, own = self.t, c.products[pid], c.shops.get((pid, self.shop.id_shop))
        default_shop = c.shops.get((pid, p.id_shop_default))
        if default_shop is not None and p.price != default_shop.price:
            source = Copy("product_shop", (("id_product", pid), ("id_shop", p.id_shop_default)), "price")
            yield ("price_drift", f"{t.product.name}.price {p.price}, {t.product_shop.name}.price "
                                  f"{default_shop.price} in default shop {p.id_shop_default}",
                   [Set("product", (("id_product", pid),), "price", source)])
        prices = [(t.product.name, p.price)]
        if own is not None:
            prices.append((f"{t.product_shop.name} (shop {own.id_shop})", own.price))
        negative = [f"{name}.price {price}" for name, price in prices if price is not None and price < 0]
        if negative:
            yield "negative_price", ", ".join(negative), [None]
        yield from _code_findings("product", "the product", (("id_product", pid),), p.reference, p.ean13)
        for r in c.combinations.get(pid, []):
            key = (("id_product_attribute", r.id_product_attribute),)
            yield from _code_findings("product_attribute", f"combination {r.id_product_attribute}", key,
                                      r.reference, r.ean13)
        for id_lang, iso in c.languages:
            name = c.names.get((pid, id_lang), ABSENT)
            if name is ABSENT:
                continue
            where = f"{t.product_lang.name}.name in language {id_lang}{iso}"
            problem = v.text_problem(name)
            if problem:
                key = (("id_product", pid), ("id_shop", self.shop.id_shop), ("id_lang", id_lang))
                repair = Set("product_lang", key, "name", v.clean)
                yield "invalid_text", f"{where} {v.show(name)} {problem}", [repair]
            if v.empty(name):
                yield "empty_name", f"{where} is empty ({v.show(name)})", [None]

    def _linked_findings(self, c: Catalogue, pid: int) -> Iterator[tuple[str, str, list[Any]]]:
        t, shop, p = self.t, self.shop.id_shop, c.products[pid]
        own = c.shops.get((pid, shop))
        if own is None and p.id_shop_default != shop:
            yield from self._default_category(c, pid, own)
            return  # a product of another shop only: nothing of it is missing here
        if own is None:
            yield ("product_without_shop_row", f"no {t.product_shop.name} row for shop {shop}",
                   [Create("shop", (pid,))])
        missing = [(id_lang, iso) for id_lang, iso in c.languages if (pid, id_lang) not in c.names]
        if missing:
            detail = (f"no {t.product_lang.name} row for shop {shop} in language "
                      + ", ".join(f"{id_lang}{iso}" for id_lang, iso in missing))
            if (pid, self.shop.id_lang) in c.names:
                yield "product_without_lang_row", detail, [Create("lang", (pid, i)) for i, _ in missing]
            else:
                yield ("product_without_lang_row", f"{detail} (none in language {self.shop.id_lang} to copy)",
                       [None])
        yield from self._default_category(c, pid, own)
        combinations = [r.id_product_attribute for r in c.combinations.get(pid, [])]
        absent = [pa for pa in (0, *combinations) if (pid, pa) not in c.stock]
        if absent:
            scope = self.shop.stock
            where = (f"shop group {scope.id_shop_group} (shared stock)" if scope.id_shop_group
                     else f"shop {scope.id_shop}")
            what = ["the product"] if absent[0] == 0 else []
            if [pa for pa in absent if pa]:
                what.append("combination " + _ids(pa for pa in absent if pa))
            detail = f"no {t.stock_available.name} row in {where} for " + " and ".join(what)
            yield ("stock_row_missing", detail,
                   [Create("stock", (pid, pa)) for pa in absent])

    def _default_category(self, c: Catalogue, pid: int, own: Any) -> Iterator[tuple[str, str, list[Any]]]:
        """default_category_missing, and default_category_not_linked (the link is shop-wide)."""
        t, p = self.t, c.products[pid]
        category = (own.id_category_default if own is not None and own.id_category_default
                    else p.id_category_default)
        if not category or category not in c.categories:
            yield ("default_category_missing", f"id_category_default {category} is not in {t.category.name}",
                   [None])
        elif c.links is not None and (category, pid) not in c.links:
            yield ("default_category_not_linked", f"no {t.category_product.name} row for default category "
                   f"{category}", [Create("link", (category, pid))])

    def _default_combination(self, c: Catalogue, pid: int) -> Iterator[tuple[str, str, list[Any]]]:
        """Exactly one default combination in ps_product_attribute and in the shop's rows. A fix
        keeps the lowest default; with none, the other table's single default, else the lowest id."""
        combinations = c.combinations.get(pid, [])
        if not combinations:
            return
        ids = [r.id_product_attribute for r in combinations]
        defaults = [r.id_product_attribute for r in combinations if r.default_on]
        in_shop = c.shop_defaults.get(pid, {})
        shop_defaults = sorted(pa for pa, on in in_shop.items() if on)
        problems: list[str] = []
        repairs: list[Any] = []
        target = defaults[0] if len(defaults) == 1 else None
        if target is None:
            problems.append(f"{len(defaults)} default_on among combinations {_ids(ids)} in "
                            f"{self.t.product_attribute.name}")
            single = shop_defaults[0] if len(shop_defaults) == 1 else None
            target = min(defaults) if defaults else single or min(ids)
            current = {r.id_product_attribute: r.default_on for r in combinations}
            repairs += _one_default("product_attribute", current, target,
                                    lambda pa: (("id_product_attribute", pa),))
        shop_target = shop_defaults[0] if len(shop_defaults) == 1 else target
        if in_shop and len(shop_defaults) != 1:
            problems.append(f"{len(shop_defaults)} default_on among combinations {_ids(sorted(in_shop))} in "
                            f"{self.t.product_attribute_shop.name} (shop {self.shop.id_shop})")
            shop_target = (target if target in in_shop
                           else shop_defaults[0] if shop_defaults else min(in_shop))
            repairs += _one_default("product_attribute_shop", in_shop, shop_target,
                                    lambda pa: (("id_product_attribute", pa), ("id_shop", self.shop.id_shop)))
        if problems:
            repairs += self._cached_default(c, pid, target, shop_target)
            yield "default_combination_count", "; ".join(problems), repairs

    def _cached_default(self, c: Catalogue, pid: int, target: int, shop_target: int) -> list[Set]:
        """PrestaShop shows the default of ps_product(_shop).cache_default_attribute: the new
        defaults there too, in the same change (where the shop's tables have that column)."""
        column = "cache_default_attribute"
        repairs = [Set("product", (("id_product", pid),), column, lambda _: target, cache=True)]
        if (pid, self.shop.id_shop) in c.shops:
            key = (("id_product", pid), ("id_shop", self.shop.id_shop))
            repairs.append(Set("product_shop", key, column, lambda _: shop_target, cache=True))
        return repairs

    def _check_orphans(self, batch: Batch, rule: Rule, records: list[tuple[int, Record]]) -> None:
        """Findings for the records that are still orphans; fix-orphans deletes them (an orphan
        combination with its shop rows and attribute rows, which would be orphans next)."""
        table = getattr(self.t, rule.table)
        select, reasons = orphans(self.t, rule, self._has)
        keys = [tuple(r.key[c] for c in rule.key) for _, r in records]
        for n, column in enumerate(rule.key[:2]):
            select = select.where(table.c[column].in_(sorted({k[n] for k in keys})))
        still = {tuple(row[:len(rule.key)]): reasons(row) for row in read(batch.conn, select)}
        deleting = batch.operation == FIX_ORPHANS
        before = images(batch.conn, table, [r.key for (_, r), k in zip(records, keys, strict=True)
                                            if k in still]) if deleting else {}
        for (i, record), key in zip(records, keys, strict=True):
            if key in still:
                n = batch.add(i, rule.pattern, still[key], ["delete"])
                if key in before:
                    batch.change(i, n, Change(table.name, dict(record.key), before[key], None))
        if deleting and rule.pattern == "orphan_combination":
            self._delete_dependents(batch, [(i, r) for i, r in records if batch.changes[i]])

    def _delete_dependents(self, batch: Batch, deleted: list[tuple[int, Record]]) -> None:
        owner = {r.key["id_product_attribute"]: i for i, r in deleted}
        if not owner:
            return
        for name, key in (("product_attribute_shop", ("id_product_attribute", "id_shop")),
                          ("product_attribute_combination", ("id_attribute", "id_product_attribute"))):
            if not self._has(name):
                continue
            table = getattr(self.t, name)
            for image in whole_rows(batch.conn, table, table.c.id_product_attribute.in_(sorted(owner))):
                i = owner[image["id_product_attribute"]]
                batch.change(i, None, Change(table.name, {c: image[c] for c in key}, image, None))

    def _check_repeated(self, batch: Batch, column: str, records: list[tuple[int, Record]]) -> None:
        sharing = self._sharing(batch.conn, column, [decode(r.key[column]) for _, r in records])
        for i, record in records:
            rows = sharing.get(decode(record.key[column]), [])
            products = sorted({pid for pid, _ in rows})
            if len(products) < 2:
                continue
            combinations: dict[int, list[int]] = {}
            for pid, pa in rows:
                if pa:
                    combinations.setdefault(pid, []).append(pa)
            shown = ", ".join(f"{pid} (combination {_ids(sorted(combinations[pid]))})" if pid in combinations
                              else str(pid) for pid in products)
            value = v.show(record.key[column])
            batch.add(i, f"repeated_{column}", f"{column} {value} is shared by products {shown}")

    def _sharing(self, conn: sa.Connection, column: str,
                 wanted: Sequence[Any]) -> dict[Any, list[tuple[int, int]]]:
        """value -> (id_product, id_product_attribute or 0) of the products and combinations that
        have it, as the database matches them (its collation decides what is the same value); a
        value that is bytes (SQLite text that is not UTF-8) matches those very bytes."""
        p, pa = self.t.product, self.t.product_attribute
        out: dict[str, list[tuple[int, int]]] = {}
        for chunk in chunks(list(dict.fromkeys(wanted)), VALUES_PER_QUERY):
            selects = [sa.select(_literal(value).label("value")) for value in chunk]
            values = (sa.union_all(*selects) if len(selects) > 1 else selects[0]).subquery("wanted")
            for table, combination in ((p, sa.literal(0)), (pa, pa.c.id_product_attribute)):
                query = (sa.select(values.c.value, table.c.id_product, combination)
                         .join(table, table.c[column] == values.c.value))
                for value, pid, x in read(conn, query):
                    out.setdefault(value, []).append((int(pid), int(x)))
        return out


def _code_findings(table: str, what: str, key: tuple, reference: Any,
                   ean: Any) -> Iterator[tuple[str, str, list]]:
    """invalid_ean13, untrimmed_reference and invalid_text of a product's or combination's row."""
    problem = v.ean13_problem(v.as_text(ean))
    if problem:
        yield "invalid_ean13", f"ean13 {v.show(ean)} of {what}: {problem}", [None]
    if v.untrimmed(reference):
        yield ("untrimmed_reference", f"reference {v.show(reference)} of {what} has spaces around it",
               [Set(table, key, "reference", v.clean_reference)])
    problem = v.text_problem(reference)
    if problem:
        yield ("invalid_text", f"reference {v.show(reference)} of {what} {problem}",
               [Set(table, key, "reference", v.clean_reference)])


def _one_default(table: str, rows: dict[int, Any], target: int, key: Callable[[int], tuple]) -> list[Set]:
    """Repairs making `target` the only default_on of `rows` (id -> default_on): the others first,
    so a unique (id_product, default_on) index never sees two."""
    off = [Set(table, key(pa), "default_on", lambda _: None) for pa, on in sorted(rows.items())
           if on and pa != target]
    on = [Set(table, key(target), "default_on", lambda _: 1)] if not rows.get(target) else []
    return off + on


def _literal(value: Any) -> sa.ColumnElement:
    if isinstance(value, bytes):
        return sa.cast(sa.literal(value, sa.LargeBinary), sa.Text)
    return sa.literal(value, sa.String)


def _ids(ids: Any) -> str:
    return ", ".join(map(str, ids))


def _label(table: str, key: dict[str, Any]) -> str:
    if len(key) == 1:
        return f"{table} {next(iter(key.values()))}"
    return f"{table} " + ", ".join(f"{c} {value}" for c, value in key.items())
