"""PrestaShop's catalogue tables as SQLAlchemy Core `Table`s, for a configurable table prefix.

The tables PrestaShop 8.1 creates from install-dev/data/db_structure.sql are declared whole, as that
file declares them, in db_structure.py. The tables PrestaShop 8 creates through Doctrine (ps_shop,
ps_shop_group, ps_lang, ps_lang_shop, ps_attribute*, ps_attribute_group*) are not in that file: they
are declared here, with the columns Heartbeat reads and those an INSERT needs.

Queries read columns that PrestaShop 1.7.7 already had (shops from 1.7.7 on are supported; a column
that 8.x added may be read only where its presence is checked).

Secondary indexes are kept in `Table.indexes`, so a bulk load can create tables first
(`CreateTable`) and indexes after the data is in (see demo.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa

from connectors.prestashop.columns import FLAG, TINY, UINT, col, table
from connectors.prestashop.db_structure import DB_STRUCTURE


@dataclass(frozen=True)
class ShopTables:
    """The catalogue tables of one shop database; `prefix` is PrestaShop's _DB_PREFIX_."""

    prefix: str
    metadata: sa.MetaData
    product: sa.Table
    product_lang: sa.Table
    product_shop: sa.Table
    stock_available: sa.Table
    category: sa.Table
    category_lang: sa.Table
    category_shop: sa.Table
    manufacturer: sa.Table
    product_attribute: sa.Table
    product_attribute_shop: sa.Table
    product_attribute_combination: sa.Table
    attribute: sa.Table
    attribute_lang: sa.Table
    attribute_group: sa.Table
    attribute_group_lang: sa.Table
    shop: sa.Table
    shop_group: sa.Table
    lang: sa.Table
    lang_shop: sa.Table
    category_product: sa.Table
    image: sa.Table
    image_shop: sa.Table
    image_lang: sa.Table
    product_attribute_image: sa.Table
    feature: sa.Table
    feature_lang: sa.Table
    feature_product: sa.Table
    feature_value: sa.Table
    feature_value_lang: sa.Table
    feature_shop: sa.Table
    tax: sa.Table
    tax_rule: sa.Table
    tax_rules_group: sa.Table
    specific_price: sa.Table
    specific_price_priority: sa.Table
    configuration: sa.Table
    group: sa.Table
    product_group_reduction_cache: sa.Table


# -- the tables PrestaShop 8 creates through Doctrine --------------------------------------------


def _shops(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """Multistore: a shop belongs to a shop group, which may share its stock (share_stock = 1:
    the group's stock rows have id_shop 0 and the group's id, as StockAvailable reads them)."""
    group = table(
        f"{p}shop_group", md,
        col("id_shop_group", UINT, primary_key=True, autoincrement=True),
        col("name", sa.String(64)),
        col("share_customer", FLAG, server_default="0"),
        col("share_order", FLAG, server_default="0"),
        col("share_stock", FLAG, server_default="0"),
        col("active", FLAG, server_default="1"),
        col("deleted", FLAG, server_default="0"),
    )
    shop = table(
        f"{p}shop", md,
        col("id_shop", UINT, primary_key=True, autoincrement=True),
        col("id_shop_group", UINT),
        col("name", sa.String(64)),
        col("id_category", UINT),
        col("theme_name", sa.String(255)),
        col("active", FLAG, server_default="1"),
        col("deleted", FLAG, server_default="0"),
    )
    return shop, group


def _languages(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """Installed languages, and those of each shop (a language is active in a shop when it is
    active and has a lang_shop row for it)."""
    lang = table(
        f"{p}lang", md,
        col("id_lang", UINT, primary_key=True, autoincrement=True),
        col("name", sa.String(32)),
        col("active", TINY, server_default="0"),
        col("iso_code", sa.CHAR(2)),
        col("language_code", sa.CHAR(5)),
        col("locale", sa.String(5)),
        col("date_format_lite", sa.CHAR(32), server_default="Y-m-d"),
        col("date_format_full", sa.CHAR(32), server_default="Y-m-d H:i:s"),
        col("is_rtl", FLAG, server_default="0"),
    )
    lang_shop = table(
        f"{p}lang_shop", md,
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}lang_shop_IDX_2F43BFC7274A50A0", lang_shop.c.id_shop)
    return lang, lang_shop


def _attributes(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    """attribute values ("M", "Blue") and their groups ("Size", "Color"), with names per language."""
    attribute = table(
        f"{p}attribute", md,
        col("id_attribute", UINT, primary_key=True, autoincrement=True),
        col("id_attribute_group", UINT),
        col("color", sa.String(32), nullable=True),
        col("position", UINT, server_default="0"),
    )
    sa.Index(f"ix_{p}attribute_attribute_group", attribute.c.id_attribute_group)
    attribute_lang = table(
        f"{p}attribute_lang", md,
        col("id_attribute", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("name", sa.String(128)),
    )
    group = table(
        f"{p}attribute_group", md,
        col("id_attribute_group", UINT, primary_key=True, autoincrement=True),
        col("is_color_group", FLAG, server_default="0"),
        col("group_type", sa.String(6)),  # enum('select','radio','color') in PrestaShop
        col("position", UINT, server_default="0"),
    )
    group_lang = table(
        f"{p}attribute_group_lang", md,
        col("id_attribute_group", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("name", sa.String(128)),
        col("public_name", sa.String(64)),
    )
    return attribute, attribute_lang, group, group_lang


@functools.cache
def shop_tables(prefix: str = "ps_") -> ShopTables:
    """The catalogue tables named with `prefix` (cached: the same object for the same prefix)."""
    md = sa.MetaData()
    attribute, attribute_lang, group, group_lang = _attributes(md, prefix)
    shop, shop_group = _shops(md, prefix)
    lang, lang_shop = _languages(md, prefix)
    whole = {name: build(md, prefix) for name, build in DB_STRUCTURE.items()}
    return ShopTables(prefix=prefix, metadata=md, attribute=attribute, attribute_lang=attribute_lang,
                      attribute_group=group, attribute_group_lang=group_lang, shop=shop,
                      shop_group=shop_group, lang=lang, lang_shop=lang_shop, **whole)
