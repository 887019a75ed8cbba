"""PrestaShop's catalogue tables as SQLAlchemy Core `Table`s, for a configurable table prefix.

The tables PrestaShop 8.1 creates from install-dev/data/db_structure.sql are declared whole, as it
declares them: every column with its name, type and nullability, the primary key and every secondary
key (tests/test_prestashop_schema.py compares them with a manifest of that file). Secondary keys are
named `ix_<table>_<PrestaShop key name>`, because SQLite index names are global to a database. The
tables PrestaShop 8 creates through Doctrine (ps_shop, ps_shop_group, ps_lang, ps_lang_shop,
ps_attribute*, ps_attribute_group*) are not in that file: they declare the columns Heartbeat reads
and those an INSERT needs. Defaults are PrestaShop's where it has one; a few NOT NULL columns
without a default in PrestaShop have 0 here (specific_price's ids), so a test can insert a row by
naming what it is about.

Queries read columns that PrestaShop 1.7.7 already had, unless they say otherwise (shops from 1.7.7 on
are supported; a column that 8.x added is read only where its presence is checked).

Secondary indexes are kept in `Table.indexes`, so a bulk load can create tables first
(`CreateTable`) and indexes after the data is in (see demo.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

_MYSQL = ("mysql", "mariadb")

UINT = sa.Integer().with_variant(mysql.INTEGER(unsigned=True), *_MYSQL)
INT = sa.Integer()
FLAG = sa.SmallInteger().with_variant(mysql.TINYINT(1, unsigned=True), *_MYSQL)  # tinyint(1) unsigned
TINY = sa.SmallInteger().with_variant(mysql.TINYINT(3, unsigned=True), *_MYSQL)
STINY = sa.SmallInteger().with_variant(mysql.TINYINT(1), *_MYSQL)  # tinyint(1), signed
USMALL = sa.SmallInteger().with_variant(mysql.SMALLINT(2, unsigned=True), *_MYSQL)
UMEDIUM = sa.Integer().with_variant(mysql.MEDIUMINT(8, unsigned=True), *_MYSQL)


def _enum(*values: str) -> sa.types.TypeEngine:
    """MySQL's ENUM of `values`; text elsewhere."""
    return sa.String(max(len(v) for v in values)).with_variant(mysql.ENUM(*values), *_MYSQL)


REDIRECT_TYPES = _enum("", "404", "410", "301-product", "302-product", "301-category", "302-category",
                       "200-displayed", "404-displayed", "410-displayed", "default")


class PsDecimal(sa.TypeDecorator):
    """decimal(p,s) (prices, impacts, weights: 20,6), read as `Decimal` on every backend.

    MySQL returns exact Decimals. SQLite stores a REAL; its shortest repr is the value written
    (prices have at most 6 decimals and far fewer than 15 digits), so `Decimal(repr(x))` is exact
    and avoids SQLAlchemy's float-to-Decimal warning.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 6):
        super().__init__(precision, scale)
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale))

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


DECIMAL = PsDecimal()


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


def _table(name: str, md: sa.MetaData, *columns: sa.Column) -> sa.Table:
    """A table created as PrestaShop's are on MySQL: InnoDB, utf8mb4."""
    return sa.Table(name, md, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")


def _col(name: str, type_, *, nullable: bool = False, **kw) -> sa.Column:
    """A column; NOT NULL unless said otherwise (as most of PrestaShop's are)."""
    return sa.Column(name, type_, nullable=nullable, **kw)


# -- the tables of db_structure.sql ---------------------------------------------------------------

def _product(md: sa.MetaData, p: str) -> sa.Table:
    """A product's default values (those of its default shop)."""
    t = _table(
        f"{p}product", md,
        _col("id_product", UINT, primary_key=True, autoincrement=True),
        _col("id_supplier", UINT, nullable=True),
        _col("id_manufacturer", UINT, nullable=True),
        _col("id_category_default", UINT, nullable=True),
        _col("id_shop_default", UINT, server_default="1"),
        _col("id_tax_rules_group", UINT),
        _col("on_sale", FLAG, server_default="0"),
        _col("online_only", FLAG, server_default="0"),
        _col("ean13", sa.String(13), nullable=True),
        _col("isbn", sa.String(32), nullable=True),
        _col("upc", sa.String(12), nullable=True),
        _col("mpn", sa.String(40), nullable=True),
        _col("ecotax", PsDecimal(17, 6), server_default="0"),
        _col("quantity", INT, server_default="0"),
        _col("minimal_quantity", UINT, server_default="1"),
        _col("low_stock_threshold", INT, nullable=True),
        _col("low_stock_alert", STINY, server_default="0"),
        _col("price", DECIMAL, server_default="0"),
        _col("wholesale_price", DECIMAL, server_default="0"),
        _col("unity", sa.String(255), nullable=True),
        _col("unit_price", DECIMAL, server_default="0"),
        _col("unit_price_ratio", DECIMAL, server_default="0"),
        _col("additional_shipping_cost", DECIMAL, server_default="0"),
        _col("reference", sa.String(64), nullable=True),
        _col("supplier_reference", sa.String(64), nullable=True),
        _col("location", sa.String(255), server_default=""),
        _col("width", DECIMAL, server_default="0"),
        _col("height", DECIMAL, server_default="0"),
        _col("depth", DECIMAL, server_default="0"),
        _col("weight", DECIMAL, server_default="0"),
        _col("out_of_stock", UINT, server_default="2"),
        _col("additional_delivery_times", FLAG, server_default="1"),
        _col("quantity_discount", STINY, nullable=True),
        _col("customizable", STINY, server_default="0"),
        _col("uploadable_files", STINY, server_default="0"),
        _col("text_fields", STINY, server_default="0"),
        _col("active", FLAG, server_default="0"),
        _col("redirect_type", REDIRECT_TYPES, server_default="default"),
        _col("id_type_redirected", UINT, server_default="0"),
        _col("available_for_order", STINY, server_default="1"),
        _col("available_date", sa.Date, nullable=True),
        _col("show_condition", STINY, server_default="0"),
        _col("condition", _enum("new", "used", "refurbished"), server_default="new"),
        _col("show_price", STINY, server_default="1"),
        _col("indexed", STINY, server_default="0"),
        _col("visibility", _enum("both", "catalog", "search", "none"), server_default="both"),
        _col("cache_is_pack", STINY, server_default="0"),
        _col("cache_has_attachments", STINY, server_default="0"),
        _col("is_virtual", STINY, server_default="0"),
        _col("cache_default_attribute", UINT, nullable=True),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("date_novelty", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),  # none in PrestaShop
        _col("advanced_stock_management", STINY, server_default="0"),
        _col("pack_stock_type", UINT, server_default="3"),
        _col("state", UINT, server_default="1"),
        _col("product_type", _enum("standard", "pack", "virtual", "combinations", ""), server_default=""),
    )
    sa.Index(f"ix_{p}product_reference_idx", t.c.reference)
    sa.Index(f"ix_{p}product_supplier_reference_idx", t.c.supplier_reference)
    sa.Index(f"ix_{p}product_product_supplier", t.c.id_supplier)
    sa.Index(f"ix_{p}product_product_manufacturer", t.c.id_manufacturer, t.c.id_product)
    sa.Index(f"ix_{p}product_id_category_default", t.c.id_category_default)
    sa.Index(f"ix_{p}product_indexed", t.c.indexed)
    sa.Index(f"ix_{p}product_date_add", t.c.date_add)
    sa.Index(f"ix_{p}product_state", t.c.state, t.c.date_upd)
    return t


def _product_shop(md: sa.MetaData, p: str) -> sa.Table:
    """A product's values in each shop: its price, tax rules group, ecotax, activity, visibility."""
    t = _table(
        f"{p}product_shop", md,
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("id_category_default", UINT, nullable=True),
        _col("id_tax_rules_group", UINT),
        _col("on_sale", FLAG, server_default="0"),
        _col("online_only", FLAG, server_default="0"),
        _col("ecotax", PsDecimal(17, 6), server_default="0"),
        _col("minimal_quantity", UINT, server_default="1"),
        _col("low_stock_threshold", INT, nullable=True),
        _col("low_stock_alert", STINY, server_default="0"),
        _col("price", DECIMAL, server_default="0"),
        _col("wholesale_price", DECIMAL, server_default="0"),
        _col("unity", sa.String(255), nullable=True),
        _col("unit_price", DECIMAL, server_default="0"),
        _col("unit_price_ratio", DECIMAL, server_default="0"),
        _col("additional_shipping_cost", DECIMAL, server_default="0"),
        _col("customizable", STINY, server_default="0"),
        _col("uploadable_files", STINY, server_default="0"),
        _col("text_fields", STINY, server_default="0"),
        _col("active", FLAG, server_default="0"),
        _col("redirect_type", REDIRECT_TYPES, server_default="default"),
        _col("id_type_redirected", UINT, server_default="0"),
        _col("available_for_order", STINY, server_default="1"),
        _col("available_date", sa.Date, nullable=True),
        _col("show_condition", STINY, server_default="1"),
        _col("condition", _enum("new", "used", "refurbished"), server_default="new"),
        _col("show_price", STINY, server_default="1"),
        _col("indexed", STINY, server_default="0"),
        _col("visibility", _enum("both", "catalog", "search", "none"), server_default="both"),
        _col("cache_default_attribute", UINT, nullable=True),
        _col("advanced_stock_management", STINY, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("date_novelty", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),  # none in PrestaShop
        _col("pack_stock_type", UINT, server_default="3"),
    )
    sa.Index(f"ix_{p}product_shop_id_category_default", t.c.id_category_default)
    sa.Index(f"ix_{p}product_shop_date_add", t.c.date_add, t.c.active, t.c.visibility)
    sa.Index(f"ix_{p}product_shop_indexed", t.c.indexed, t.c.active, t.c.id_product)
    return t


def _product_lang(md: sa.MetaData, p: str) -> sa.Table:
    """A product's texts per shop and language."""
    t = _table(
        f"{p}product_lang", md,
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("description", sa.Text, nullable=True),
        _col("description_short", sa.Text, nullable=True),
        _col("link_rewrite", sa.String(128)),
        _col("meta_description", sa.String(512), nullable=True),
        _col("meta_keywords", sa.String(255), nullable=True),
        _col("meta_title", sa.String(128), nullable=True),
        _col("name", sa.String(128)),
        _col("available_now", sa.String(255), nullable=True),
        _col("available_later", sa.String(255), nullable=True),
        _col("delivery_in_stock", sa.String(255), nullable=True),
        _col("delivery_out_stock", sa.String(255), nullable=True),
    )
    sa.Index(f"ix_{p}product_lang_id_lang", t.c.id_lang)
    sa.Index(f"ix_{p}product_lang_name", t.c.name)
    return t


def _stock_available(md: sa.MetaData, p: str) -> sa.Table:
    """Quantities: one row per product (id_product_attribute = 0) and per combination, in a shop (or a
    shop group sharing its stock: id_shop 0)."""
    t = _table(
        f"{p}stock_available", md,
        _col("id_stock_available", UINT, primary_key=True, autoincrement=True),
        _col("id_product", UINT),
        _col("id_product_attribute", UINT),
        _col("id_shop", UINT),
        _col("id_shop_group", UINT),
        _col("quantity", INT, server_default="0"),
        _col("physical_quantity", INT, server_default="0"),
        _col("reserved_quantity", INT, server_default="0"),
        _col("depends_on_stock", FLAG, server_default="0"),
        _col("out_of_stock", FLAG, server_default="0"),
        _col("location", sa.String(255), server_default=""),
    )
    sa.Index(f"ix_{p}stock_available_id_shop", t.c.id_shop)
    sa.Index(f"ix_{p}stock_available_id_shop_group", t.c.id_shop_group)
    sa.Index(f"ix_{p}stock_available_id_product", t.c.id_product)
    sa.Index(f"ix_{p}stock_available_id_product_attribute", t.c.id_product_attribute)
    sa.Index(f"ix_{p}stock_available_product_sqlstock",
             t.c.id_product, t.c.id_product_attribute, t.c.id_shop, t.c.id_shop_group, unique=True)
    return t


def _category(md: sa.MetaData, p: str) -> sa.Table:
    """The category tree (one for every shop: a shop's tree starts at ps_shop.id_category)."""
    t = _table(
        f"{p}category", md,
        _col("id_category", UINT, primary_key=True, autoincrement=True),
        _col("id_parent", UINT),
        _col("id_shop_default", UINT, server_default="1"),
        _col("level_depth", FLAG, server_default="0"),
        _col("nleft", UINT, server_default="0"),
        _col("nright", UINT, server_default="0"),
        _col("active", FLAG, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("position", UINT, server_default="0"),
        _col("is_root_category", STINY, server_default="0"),
    )
    sa.Index(f"ix_{p}category_category_parent", t.c.id_parent)
    sa.Index(f"ix_{p}category_nleftrightactive", t.c.nleft, t.c.nright, t.c.active)
    sa.Index(f"ix_{p}category_level_depth", t.c.level_depth)
    sa.Index(f"ix_{p}category_nright", t.c.nright)
    sa.Index(f"ix_{p}category_activenleft", t.c.active, t.c.nleft)
    sa.Index(f"ix_{p}category_activenright", t.c.active, t.c.nright)
    return t


def _category_lang(md: sa.MetaData, p: str) -> sa.Table:
    """Category names per shop and language."""
    t = _table(
        f"{p}category_lang", md,
        _col("id_category", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(128)),
        _col("description", sa.Text, nullable=True),
        _col("additional_description", sa.Text, nullable=True),
        _col("link_rewrite", sa.String(128)),
        _col("meta_title", sa.String(255), nullable=True),
        _col("meta_keywords", sa.String(255), nullable=True),
        _col("meta_description", sa.String(512), nullable=True),
    )
    sa.Index(f"ix_{p}category_lang_category_name", t.c.name)
    return t


def _category_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The categories each shop uses, with their position there."""
    return _table(
        f"{p}category_shop", md,
        _col("id_category", INT, primary_key=True, autoincrement=False),
        _col("id_shop", INT, primary_key=True, autoincrement=False),
        _col("position", UINT, server_default="0"),
    )


def _category_product(md: sa.MetaData, p: str) -> sa.Table:
    """The categories a product is in (its default category among them), with its position there."""
    t = _table(
        f"{p}category_product", md,
        _col("id_category", UINT, primary_key=True, autoincrement=False),
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("position", UINT, server_default="0"),
    )
    sa.Index(f"ix_{p}category_product_id_product", t.c.id_product)
    sa.Index(f"ix_{p}category_product_id_category", t.c.id_category, t.c.position)
    return t


def _manufacturer(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}manufacturer", md,
        _col("id_manufacturer", UINT, primary_key=True, autoincrement=True),
        _col("name", sa.String(64)),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("active", STINY, server_default="0"),
    )


def _product_attribute(md: sa.MetaData, p: str) -> sa.Table:
    """A combination; `price` is its impact on the product's price, `weight` on its weight."""
    t = _table(
        f"{p}product_attribute", md,
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=True),
        _col("id_product", UINT),
        _col("reference", sa.String(64), nullable=True),
        _col("supplier_reference", sa.String(64), nullable=True),
        _col("ean13", sa.String(13), nullable=True),
        _col("isbn", sa.String(32), nullable=True),
        _col("upc", sa.String(12), nullable=True),
        _col("mpn", sa.String(40), nullable=True),
        _col("wholesale_price", DECIMAL, server_default="0"),
        _col("price", DECIMAL, server_default="0"),
        _col("ecotax", PsDecimal(17, 6), server_default="0"),
        _col("weight", DECIMAL, server_default="0"),
        _col("unit_price_impact", DECIMAL, server_default="0"),
        _col("default_on", FLAG, nullable=True),
        _col("minimal_quantity", UINT, server_default="1"),
        _col("low_stock_threshold", INT, nullable=True),
        _col("low_stock_alert", STINY, server_default="0"),
        _col("available_date", sa.Date, nullable=True),
    )
    sa.Index(f"ix_{p}product_attribute_product_attribute_product", t.c.id_product)
    sa.Index(f"ix_{p}product_attribute_reference", t.c.reference)
    sa.Index(f"ix_{p}product_attribute_supplier_reference", t.c.supplier_reference)
    sa.Index(f"ix_{p}product_attribute_product_default", t.c.id_product, t.c.default_on, unique=True)
    sa.Index(f"ix_{p}product_attribute_id_product_id_product_attribute",
             t.c.id_product_attribute, t.c.id_product)
    return t


def _product_attribute_shop(md: sa.MetaData, p: str) -> sa.Table:
    """A combination's values in each shop (its price impact, ecotax, default flag)."""
    t = _table(
        f"{p}product_attribute_shop", md,
        _col("id_product", UINT),
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("wholesale_price", DECIMAL, server_default="0"),
        _col("price", DECIMAL, server_default="0"),
        _col("ecotax", PsDecimal(17, 6), server_default="0"),
        _col("weight", DECIMAL, server_default="0"),
        _col("unit_price_impact", DECIMAL, server_default="0"),
        _col("default_on", FLAG, nullable=True),
        _col("minimal_quantity", UINT, server_default="1"),
        _col("low_stock_threshold", INT, nullable=True),
        _col("low_stock_alert", STINY, server_default="0"),
        _col("available_date", sa.Date, nullable=True),
    )
    sa.Index(f"ix_{p}product_attribute_shop_id_product",
             t.c.id_product, t.c.id_shop, t.c.default_on, unique=True)
    return t


def _product_attribute_combination(md: sa.MetaData, p: str) -> sa.Table:
    """The attribute values of a combination."""
    t = _table(
        f"{p}product_attribute_combination", md,
        _col("id_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}product_attribute_combination_id_product_attribute", t.c.id_product_attribute)
    return t


def _product_attribute_image(md: sa.MetaData, p: str) -> sa.Table:
    """The images shown for a combination."""
    t = _table(
        f"{p}product_attribute_image", md,
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_image", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}product_attribute_image_id_image", t.c.id_image)
    return t


def _image(md: sa.MetaData, p: str) -> sa.Table:
    """A product's images: `position` orders them, `cover` is 1 for its cover and NULL for the others."""
    t = _table(
        f"{p}image", md,
        _col("id_image", UINT, primary_key=True, autoincrement=True),
        _col("id_product", UINT),
        _col("position", USMALL, server_default="0"),
        _col("cover", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}image_image_product", t.c.id_product)
    sa.Index(f"ix_{p}image_id_product_cover", t.c.id_product, t.c.cover, unique=True)
    sa.Index(f"ix_{p}image_idx_product_image", t.c.id_image, t.c.id_product, t.c.cover, unique=True)
    return t


def _image_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The images each shop shows, and its cover there."""
    t = _table(
        f"{p}image_shop", md,
        _col("id_product", UINT),
        _col("id_image", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("cover", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}image_shop_id_product", t.c.id_product, t.c.id_shop, t.c.cover, unique=True)
    sa.Index(f"ix_{p}image_shop_id_shop", t.c.id_shop)
    return t


def _image_lang(md: sa.MetaData, p: str) -> sa.Table:
    """Image legends per language."""
    t = _table(
        f"{p}image_lang", md,
        _col("id_image", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("legend", sa.String(128), nullable=True),
    )
    sa.Index(f"ix_{p}image_lang_id_image", t.c.id_image)
    return t


def _feature(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}feature", md,
        _col("id_feature", UINT, primary_key=True, autoincrement=True),
        _col("position", UINT, server_default="0"),
    )


def _feature_lang(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}feature_lang", md,
        _col("id_feature", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(128), nullable=True),
    )
    sa.Index(f"ix_{p}feature_lang_id_lang", t.c.id_lang, t.c.name)
    return t


def _feature_product(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}feature_product", md,
        _col("id_feature", UINT, primary_key=True, autoincrement=False),
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_feature_value", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}feature_product_id_feature_value", t.c.id_feature_value)
    sa.Index(f"ix_{p}feature_product_id_product", t.c.id_product)
    return t


def _feature_value(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}feature_value", md,
        _col("id_feature_value", UINT, primary_key=True, autoincrement=True),
        _col("id_feature", UINT),
        _col("custom", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}feature_value_feature", t.c.id_feature)
    return t


def _feature_value_lang(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}feature_value_lang", md,
        _col("id_feature_value", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("value", sa.String(255), nullable=True),
    )


def _feature_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The features each shop shows (Product::getFrontFeaturesStatic joins it)."""
    t = _table(
        f"{p}feature_shop", md,
        _col("id_feature", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}feature_shop_id_shop", t.c.id_shop)
    return t


def _tax(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}tax", md,
        _col("id_tax", UINT, primary_key=True, autoincrement=True),
        _col("rate", PsDecimal(10, 3)),
        _col("active", FLAG, server_default="1"),
        _col("deleted", FLAG, server_default="0"),
    )


def _tax_rule(md: sa.MetaData, p: str) -> sa.Table:
    """A tax rules group's rules: per country, state and zip code range, a tax and how it combines
    (behavior 0: this tax only, 1: added, 2: one after another)."""
    t = _table(
        f"{p}tax_rule", md,
        _col("id_tax_rule", INT, primary_key=True, autoincrement=True),
        _col("id_tax_rules_group", INT),
        _col("id_country", INT),
        _col("id_state", INT),
        _col("zipcode_from", sa.String(12)),
        _col("zipcode_to", sa.String(12)),
        _col("id_tax", INT),
        _col("behavior", INT),
        _col("description", sa.String(100)),
    )
    sa.Index(f"ix_{p}tax_rule_id_tax_rules_group", t.c.id_tax_rules_group)
    sa.Index(f"ix_{p}tax_rule_id_tax", t.c.id_tax)
    sa.Index(f"ix_{p}tax_rule_category_getproducts",
             t.c.id_tax_rules_group, t.c.id_country, t.c.id_state, t.c.zipcode_from)
    return t


def _tax_rules_group(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}tax_rules_group", md,
        _col("id_tax_rules_group", INT, primary_key=True, autoincrement=True),
        _col("name", sa.String(50)),
        _col("active", INT),
        _col("deleted", FLAG, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )


def _specific_price(md: sa.MetaData, p: str) -> sa.Table:
    """Specific prices (sales, catalog price rules' rows, quantity discounts, customer prices)."""
    t = _table(
        f"{p}specific_price", md,
        _col("id_specific_price", UINT, primary_key=True, autoincrement=True),
        _col("id_specific_price_rule", UINT, server_default="0"),
        _col("id_cart", UINT, server_default="0"),
        _col("id_product", UINT, server_default="0"),
        _col("id_shop", UINT, server_default="1"),
        _col("id_shop_group", UINT, server_default="0"),
        _col("id_currency", UINT, server_default="0"),
        _col("id_country", UINT, server_default="0"),
        _col("id_group", UINT, server_default="0"),
        _col("id_customer", UINT, server_default="0"),
        _col("id_product_attribute", UINT, server_default="0"),
        _col("price", DECIMAL),
        _col("from_quantity", UMEDIUM, server_default="1"),
        _col("reduction", DECIMAL),
        _col("reduction_tax", STINY, server_default="1"),
        _col("reduction_type", _enum("amount", "percentage")),
        _col("from", sa.DateTime),
        _col("to", sa.DateTime),
    )
    sa.Index(f"ix_{p}specific_price_id_product",
             t.c.id_product, t.c.id_shop, t.c.id_currency, t.c.id_country, t.c.id_group, t.c.id_customer,
             t.c.from_quantity, t.c["from"], t.c["to"])
    sa.Index(f"ix_{p}specific_price_from_quantity", t.c.from_quantity)
    sa.Index(f"ix_{p}specific_price_id_specific_price_rule", t.c.id_specific_price_rule)
    sa.Index(f"ix_{p}specific_price_id_cart", t.c.id_cart)
    sa.Index(f"ix_{p}specific_price_id_product_attribute", t.c.id_product_attribute)
    sa.Index(f"ix_{p}specific_price_id_shop", t.c.id_shop)
    sa.Index(f"ix_{p}specific_price_id_customer", t.c.id_customer)
    sa.Index(f"ix_{p}specific_price_from", t.c["from"])
    sa.Index(f"ix_{p}specific_price_to", t.c["to"])
    sa.Index(f"ix_{p}specific_price_id_product_2",
             t.c.id_product, t.c.id_product_attribute, t.c.id_customer, t.c.id_cart, t.c["from"], t.c["to"],
             t.c.id_shop, t.c.id_shop_group, t.c.id_currency, t.c.id_country, t.c.id_group, t.c.from_quantity,
             t.c.id_specific_price_rule, unique=True)
    return t


def _specific_price_priority(md: sa.MetaData, p: str) -> sa.Table:
    """A product's own order of the specific price criteria (PS_SPECIFIC_PRICE_PRIORITIES otherwise)."""
    t = _table(
        f"{p}specific_price_priority", md,
        _col("id_specific_price_priority", INT, primary_key=True, autoincrement=False),
        _col("id_product", INT, primary_key=True, autoincrement=False),
        _col("priority", sa.String(80)),
    )
    sa.Index(f"ix_{p}specific_price_priority_id_product", t.c.id_product, unique=True)
    return t


def _configuration(md: sa.MetaData, p: str) -> sa.Table:
    """Configuration values: global (NULL shop and group), per shop group, per shop."""
    t = _table(
        f"{p}configuration", md,
        _col("id_configuration", UINT, primary_key=True, autoincrement=True),
        _col("id_shop_group", UINT, nullable=True),
        _col("id_shop", UINT, nullable=True),
        _col("name", sa.String(254)),
        _col("value", sa.Text, nullable=True),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )
    sa.Index(f"ix_{p}configuration_name", t.c.name)
    sa.Index(f"ix_{p}configuration_id_shop", t.c.id_shop)
    sa.Index(f"ix_{p}configuration_id_shop_group", t.c.id_shop_group)
    return t


def _group(md: sa.MetaData, p: str) -> sa.Table:
    """Customer groups; the Visitor group (PS_UNIDENTIFIED_GROUP) prices the anonymous visitor."""
    return _table(
        f"{p}group", md,
        _col("id_group", UINT, primary_key=True, autoincrement=True),
        _col("reduction", PsDecimal(5, 2), server_default="0"),
        _col("price_display_method", STINY, server_default="0"),
        _col("show_prices", FLAG, server_default="1"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )


def _product_group_reduction_cache(md: sa.MetaData, p: str) -> sa.Table:
    """A group's reduction on a product from its categories (GroupReduction)."""
    return _table(
        f"{p}product_group_reduction_cache", md,
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_group", UINT, primary_key=True, autoincrement=False),
        _col("reduction", PsDecimal(5, 4)),
    )


# -- the tables PrestaShop 8 creates through Doctrine --------------------------------------------


def _shops(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """Multistore: a shop belongs to a shop group, which may share its stock (share_stock = 1:
    the group's stock rows have id_shop 0 and the group's id, as StockAvailable reads them)."""
    group = _table(
        f"{p}shop_group", md,
        _col("id_shop_group", UINT, primary_key=True, autoincrement=True),
        _col("name", sa.String(64)),
        _col("share_customer", FLAG, server_default="0"),
        _col("share_order", FLAG, server_default="0"),
        _col("share_stock", FLAG, server_default="0"),
        _col("active", FLAG, server_default="1"),
        _col("deleted", FLAG, server_default="0"),
    )
    shop = _table(
        f"{p}shop", md,
        _col("id_shop", UINT, primary_key=True, autoincrement=True),
        _col("id_shop_group", UINT),
        _col("name", sa.String(64)),
        _col("id_category", UINT),
        _col("theme_name", sa.String(255)),
        _col("active", FLAG, server_default="1"),
        _col("deleted", FLAG, server_default="0"),
    )
    return shop, group


def _languages(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """Installed languages, and those of each shop (a language is active in a shop when it is
    active and has a lang_shop row for it)."""
    lang = _table(
        f"{p}lang", md,
        _col("id_lang", UINT, primary_key=True, autoincrement=True),
        _col("name", sa.String(32)),
        _col("active", TINY, server_default="0"),
        _col("iso_code", sa.CHAR(2)),
        _col("language_code", sa.CHAR(5)),
        _col("locale", sa.String(5)),
        _col("date_format_lite", sa.CHAR(32), server_default="Y-m-d"),
        _col("date_format_full", sa.CHAR(32), server_default="Y-m-d H:i:s"),
        _col("is_rtl", FLAG, server_default="0"),
    )
    lang_shop = _table(
        f"{p}lang_shop", md,
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}lang_shop_IDX_2F43BFC7274A50A0", lang_shop.c.id_shop)
    return lang, lang_shop


def _attributes(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    """attribute values ("M", "Blue") and their groups ("Size", "Color"), with names per language."""
    attribute = _table(
        f"{p}attribute", md,
        _col("id_attribute", UINT, primary_key=True, autoincrement=True),
        _col("id_attribute_group", UINT),
        _col("color", sa.String(32), nullable=True),
        _col("position", UINT, server_default="0"),
    )
    sa.Index(f"ix_{p}attribute_attribute_group", attribute.c.id_attribute_group)
    attribute_lang = _table(
        f"{p}attribute_lang", md,
        _col("id_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(128)),
    )
    group = _table(
        f"{p}attribute_group", md,
        _col("id_attribute_group", UINT, primary_key=True, autoincrement=True),
        _col("is_color_group", FLAG, server_default="0"),
        _col("group_type", sa.String(6)),  # enum('select','radio','color') in PrestaShop
        _col("position", UINT, server_default="0"),
    )
    group_lang = _table(
        f"{p}attribute_group_lang", md,
        _col("id_attribute_group", UINT, primary_key=True, autoincrement=False),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(128)),
        _col("public_name", sa.String(64)),
    )
    return attribute, attribute_lang, group, group_lang


# the tables declared whole, as db_structure.sql declares them (the manifest test checks these)
DB_STRUCTURE = {
    "product": _product, "product_shop": _product_shop, "product_lang": _product_lang,
    "stock_available": _stock_available, "category": _category, "category_lang": _category_lang,
    "category_shop": _category_shop, "category_product": _category_product, "manufacturer": _manufacturer,
    "product_attribute": _product_attribute, "product_attribute_shop": _product_attribute_shop,
    "product_attribute_combination": _product_attribute_combination,
    "product_attribute_image": _product_attribute_image, "image": _image, "image_shop": _image_shop,
    "image_lang": _image_lang, "feature": _feature, "feature_lang": _feature_lang,
    "feature_product": _feature_product, "feature_value": _feature_value,
    "feature_value_lang": _feature_value_lang, "feature_shop": _feature_shop, "tax": _tax,
    "tax_rule": _tax_rule, "tax_rules_group": _tax_rules_group, "specific_price": _specific_price,
    "specific_price_priority": _specific_price_priority, "configuration": _configuration, "group": _group,
    "product_group_reduction_cache": _product_group_reduction_cache,
}


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
