"""What the product checks of one batch read: one query per table for the batch's products, for
the connection's shop, its stock scope and its active languages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.integrity.reads import read_in


@dataclass
class Catalogue:
    products: dict[int, sa.Row]  # id_product -> reference, ean13, price, id_category_default, id_shop_default
    shops: dict[tuple[int, int], sa.Row]  # (id_product, id_shop), of the shop and the default shop
    names: dict[tuple[int, int], Any]  # (id_product, id_lang) -> name, in the shop
    stock: set[tuple[int, int]]  # (id_product, id_product_attribute) in the shop's stock scope
    combinations: dict[int, list[sa.Row]]  # id_product -> its combinations, ascending id
    shop_defaults: dict[int, dict[int, Any]]  # id_product -> {combination: default_on} in the shop
    categories: set[int]  # the default categories that exist
    links: set[tuple[int, int]] | None  # (id_category, id_product); None: no category_product table
    languages: list[tuple[int, str]]  # (id_lang, " (iso_code)") active in the shop

    @classmethod
    def read(cls, shop: Any, conn: sa.Connection, ids: list[int], languages: list[tuple[int, str]],
             links: bool) -> Catalogue:
        """The rows of products `ids` in `shop` (a PrestaShop); `links`: whether category_product
        exists."""
        t, id_shop = shop.tables, shop.id_shop
        p, ps, pl, st = t.product, t.product_shop, t.product_lang, t.stock_available
        pa, pas, cat, cp = t.product_attribute, t.product_attribute_shop, t.category, t.category_product
        query = sa.select(p.c.id_product, p.c.reference, p.c.ean13, p.c.price, p.c.id_category_default,
                          p.c.id_shop_default)
        products = {r.id_product: r for r in read_in(conn, query, p.c.id_product, ids)}
        shops_read = sorted({id_shop} | {r.id_shop_default for r in products.values()})
        query = sa.select(ps.c.id_product, ps.c.id_shop, ps.c.price, ps.c.id_category_default)
        shops = {(r.id_product, r.id_shop): r
                 for r in read_in(conn, query.where(ps.c.id_shop.in_(shops_read)), ps.c.id_product, ids)}
        query = sa.select(pl.c.id_product, pl.c.id_lang, pl.c.name).where(pl.c.id_shop == id_shop)
        names = {(r.id_product, r.id_lang): r.name for r in read_in(conn, query, pl.c.id_product, ids)}
        query = sa.select(st.c.id_product, st.c.id_product_attribute).where(shop.stock.where(st))
        stock = {(r[0], r[1]) for r in read_in(conn, query, st.c.id_product, ids)}
        combinations: dict[int, list[sa.Row]] = {}
        query = (sa.select(pa.c.id_product, pa.c.id_product_attribute, pa.c.reference, pa.c.ean13,
                           pa.c.default_on).order_by(pa.c.id_product_attribute))
        for r in read_in(conn, query, pa.c.id_product, ids):
            combinations.setdefault(r.id_product, []).append(r)
        shop_defaults: dict[int, dict[int, Any]] = {}
        query = (sa.select(pas.c.id_product, pas.c.id_product_attribute, pas.c.default_on)
                 .where(pas.c.id_shop == id_shop))
        for r in read_in(conn, query, pas.c.id_product, ids):
            shop_defaults.setdefault(r.id_product, {})[r.id_product_attribute] = r.default_on
        defaults = sorted({r.id_category_default for r in (*products.values(), *shops.values())
                           if r.id_category_default})
        categories = {r[0] for r in read_in(conn, sa.select(cat.c.id_category), cat.c.id_category, defaults)}
        linked = None
        if links:
            query = sa.select(cp.c.id_category, cp.c.id_product).where(cp.c.id_category.in_(defaults))
            linked = {(r[0], r[1]) for r in read_in(conn, query, cp.c.id_product, ids)}
        return cls(products, shops, names, stock, combinations, shop_defaults, categories, linked, languages)
