"""PrestaShop's catalogue tables as SQLAlchemy Core `Table`s, for a configurable table prefix.

Names and types are PrestaShop's own (install-dev/data/db_structure.sql, 1.7.7 to 8.x), so the same
queries run against a real shop. Only the columns Heartbeat reads or writes, plus the NOT NULL
columns without a default that an INSERT needs, are declared. Keys are PrestaShop's: composite
primary keys as in PrestaShop, and the secondary indexes our queries rely on (named
`ix_<table>_<PrestaShop key name>` because SQLite index names are global to a database).

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


class PsDecimal(sa.TypeDecorator):
    """decimal(20,6) (prices, impacts, weights), read as `Decimal` on every backend.

    MySQL returns exact Decimals. SQLite stores a REAL; its shortest repr is the value written
    (prices have at most 6 decimals and far fewer than 15 digits), so `Decimal(repr(x))` is exact
    and avoids SQLAlchemy's float-to-Decimal warning.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self):
        super().__init__(20, 6)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(20, 6, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(20, 6))

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
    tax: sa.Table
    tax_rule: sa.Table
    tax_rules_group: sa.Table
    specific_price: sa.Table
    configuration: sa.Table


def _table(name: str, md: sa.MetaData, *columns: sa.Column) -> sa.Table:
    """A table created as PrestaShop's are on MySQL: InnoDB, utf8mb4."""
    return sa.Table(name, md, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")


def _col(name: str, type_, *, nullable: bool = False, **kw) -> sa.Column:
    """A column; NOT NULL unless said otherwise (as most of PrestaShop's are)."""
    return sa.Column(name, type_, nullable=nullable, **kw)


def _product(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}product", md,
        _col("id_product", UINT, primary_key=True, autoincrement=True),
        _col("id_manufacturer", UINT, nullable=True),
        _col("id_category_default", UINT, nullable=True),
        _col("id_shop_default", UINT, server_default="1"),
        _col("id_tax_rules_group", UINT),
        _col("ean13", sa.String(13), nullable=True),
        _col("upc", sa.String(12), nullable=True),
        _col("mpn", sa.String(40), nullable=True),  # since 1.7.7
        _col("reference", sa.String(64), nullable=True),  # varchar(32) before 8.0
        _col("supplier_reference", sa.String(64), nullable=True),
        _col("price", DECIMAL, server_default="0.000000"),
        _col("wholesale_price", DECIMAL, server_default="0.000000"),
        _col("width", DECIMAL, server_default="0"),
        _col("height", DECIMAL, server_default="0"),
        _col("depth", DECIMAL, server_default="0"),
        _col("weight", DECIMAL, server_default="0"),
        _col("active", FLAG, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )
    sa.Index(f"ix_{p}product_product_manufacturer", t.c.id_manufacturer, t.c.id_product)
    sa.Index(f"ix_{p}product_id_category_default", t.c.id_category_default)
    sa.Index(f"ix_{p}product_reference_idx", t.c.reference)  # 8.0+; used to match imports
    return t


def _product_lang(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}product_lang", md,
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False, server_default="1"),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("description", sa.Text, nullable=True),
        _col("description_short", sa.Text, nullable=True),
        _col("link_rewrite", sa.String(128)),
        _col("name", sa.String(128)),
    )
    sa.Index(f"ix_{p}product_lang_id_lang", t.c.id_lang)
    return t


def _product_shop(md: sa.MetaData, p: str) -> sa.Table:
    t = _table(
        f"{p}product_shop", md,
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("id_category_default", UINT, nullable=True),
        _col("id_tax_rules_group", UINT),
        _col("price", DECIMAL, server_default="0.000000"),
        _col("wholesale_price", DECIMAL, server_default="0.000000"),
        _col("minimal_quantity", UINT, server_default="1"),
        _col("available_for_order", FLAG, server_default="1"),
        _col("condition", sa.String(11), server_default="new"),  # enum('new','used','refurbished')
        _col("visibility", sa.String(7), server_default="both"),  # enum('both','catalog','search','none')
        _col("active", FLAG, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
    )
    sa.Index(f"ix_{p}product_shop_id_category_default", t.c.id_category_default)
    return t


def _stock_available(md: sa.MetaData, p: str) -> sa.Table:
    """Quantities: one row per product (id_product_attribute = 0) and per combination."""
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
    )
    sa.Index(
        f"ix_{p}stock_available_product_sqlstock",
        t.c.id_product, t.c.id_product_attribute, t.c.id_shop, t.c.id_shop_group,
        unique=True,
    )
    return t


def _category(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    """The category tree (one for every shop: a shop's tree starts at ps_shop.id_category), its
    names per shop and language, and the categories each shop uses with their position there."""
    cat = _table(
        f"{p}category", md,
        _col("id_category", UINT, primary_key=True, autoincrement=True),
        _col("id_parent", UINT),
        _col("id_shop_default", UINT, server_default="1"),
        _col("level_depth", TINY, server_default="0"),
        _col("nleft", UINT, server_default="0"),
        _col("nright", UINT, server_default="0"),
        _col("active", FLAG, server_default="0"),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("position", UINT, server_default="0"),
        _col("is_root_category", FLAG, server_default="0"),
    )
    sa.Index(f"ix_{p}category_category_parent", cat.c.id_parent)
    lang = _table(
        f"{p}category_lang", md,
        _col("id_category", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False, server_default="1"),
        _col("id_lang", UINT, primary_key=True, autoincrement=False),
        _col("name", sa.String(128)),
        _col("description", sa.Text, nullable=True),
        _col("link_rewrite", sa.String(128)),
    )
    shop = _table(
        f"{p}category_shop", md,
        _col("id_category", sa.Integer, primary_key=True, autoincrement=False),
        _col("id_shop", sa.Integer, primary_key=True, autoincrement=False),
        _col("position", UINT, server_default="0"),
    )
    return cat, lang, shop


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


def _category_product(md: sa.MetaData, p: str) -> sa.Table:
    """The categories a product is in (its default category among them), with its position there.
    Read by (id_category, id_product), its primary key: PrestaShop's indexes on id_product and
    (id_category, position) are not declared."""
    return _table(
        f"{p}category_product", md,
        _col("id_category", UINT, primary_key=True, autoincrement=False),
        _col("id_product", UINT, primary_key=True, autoincrement=False),
        _col("position", UINT, server_default="0"),
    )


def _images(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table]:
    """A product's images (cover 1 for its cover, NULL for the others) and those of each shop.
    No query of ours reads them by another key: PrestaShop's secondary indexes are not declared."""
    image = _table(
        f"{p}image", md,
        _col("id_image", UINT, primary_key=True, autoincrement=True),
        _col("id_product", UINT),
        _col("position", sa.SmallInteger().with_variant(mysql.SMALLINT(2, unsigned=True), *_MYSQL),
             server_default="0"),
        _col("cover", FLAG, nullable=True),
    )
    shop = _table(
        f"{p}image_shop", md,
        _col("id_product", UINT),
        _col("id_image", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("cover", FLAG, nullable=True),
    )
    return image, shop


def _manufacturer(md: sa.MetaData, p: str) -> sa.Table:
    return _table(
        f"{p}manufacturer", md,
        _col("id_manufacturer", UINT, primary_key=True, autoincrement=True),
        _col("name", sa.String(64)),
        _col("date_add", sa.DateTime),
        _col("date_upd", sa.DateTime),
        _col("active", FLAG, server_default="0"),
    )


def _combinations(md: sa.MetaData, p: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    """product_attribute (a combination), its per-shop values, and its attribute values."""
    pa = _table(
        f"{p}product_attribute", md,
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=True),
        _col("id_product", UINT),
        _col("reference", sa.String(64), nullable=True),
        _col("ean13", sa.String(13), nullable=True),
        _col("upc", sa.String(12), nullable=True),
        _col("mpn", sa.String(40), nullable=True),
        _col("wholesale_price", DECIMAL, server_default="0.000000"),
        _col("price", DECIMAL, server_default="0.000000"),  # impact on the product's price
        _col("weight", DECIMAL, server_default="0"),  # impact on the product's weight
        _col("default_on", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}product_attribute_product_attribute_product", pa.c.id_product)
    sa.Index(f"ix_{p}product_attribute_reference", pa.c.reference)
    sa.Index(f"ix_{p}product_attribute_product_default", pa.c.id_product, pa.c.default_on, unique=True)
    shop = _table(
        f"{p}product_attribute_shop", md,
        _col("id_product", UINT),
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_shop", UINT, primary_key=True, autoincrement=False),
        _col("wholesale_price", DECIMAL, server_default="0.000000"),
        _col("price", DECIMAL, server_default="0.000000"),
        _col("weight", DECIMAL, server_default="0"),
        _col("default_on", FLAG, nullable=True),
    )
    sa.Index(
        f"ix_{p}product_attribute_shop_id_product",
        shop.c.id_product, shop.c.id_shop, shop.c.default_on,
        unique=True,
    )
    combination = _table(
        f"{p}product_attribute_combination", md,
        _col("id_attribute", UINT, primary_key=True, autoincrement=False),
        _col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(
        f"ix_{p}product_attribute_combination_id_product_attribute",
        combination.c.id_product_attribute,
    )
    return pa, shop, combination


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


def _listing(md: sa.MetaData, p: str) -> dict[str, sa.Table]:
    """What a marketplace listing needs besides the catalogue: image legends and combination images,
    features, taxes, specific prices, and the configuration (PS_COUNTRY_DEFAULT, PS_TAX)."""

    def key(name: str, type_=UINT) -> sa.Column:
        return _col(name, type_, primary_key=True, autoincrement=False)

    def serial(name: str, type_=UINT) -> sa.Column:
        return _col(name, type_, primary_key=True, autoincrement=True)

    zero = {"server_default": "0"}
    t = {
        "image_lang": _table(f"{p}image_lang", md, key("id_image"), key("id_lang"),
                             _col("legend", sa.String(128), nullable=True)),
        "product_attribute_image": _table(f"{p}product_attribute_image", md,
                                          key("id_product_attribute"), key("id_image")),
        "feature": _table(f"{p}feature", md, serial("id_feature"), _col("position", UINT, **zero)),
        "feature_lang": _table(f"{p}feature_lang", md, key("id_feature"), key("id_lang"),
                               _col("name", sa.String(128), nullable=True)),
        "feature_product": _table(f"{p}feature_product", md, key("id_feature"), key("id_product"),
                                  key("id_feature_value")),
        "feature_value": _table(f"{p}feature_value", md, serial("id_feature_value"), _col("id_feature", UINT),
                                _col("custom", FLAG, nullable=True)),
        "feature_value_lang": _table(f"{p}feature_value_lang", md, key("id_feature_value"), key("id_lang"),
                                     _col("value", sa.String(255), nullable=True)),
        "tax": _table(f"{p}tax", md, serial("id_tax"), _col("rate", sa.Numeric(10, 3)),
                      _col("active", FLAG, server_default="1"), _col("deleted", FLAG, **zero)),
        "tax_rules_group": _table(f"{p}tax_rules_group", md, serial("id_tax_rules_group", INT),
                                  _col("name", sa.String(50)), _col("active", INT),
                                  _col("deleted", FLAG, **zero), _col("date_add", sa.DateTime),
                                  _col("date_upd", sa.DateTime)),
        "tax_rule": _table(f"{p}tax_rule", md, serial("id_tax_rule", INT), _col("id_tax_rules_group", INT),
                           _col("id_country", INT), _col("id_state", INT),
                           _col("zipcode_from", sa.String(12)), _col("zipcode_to", sa.String(12)),
                           _col("id_tax", INT), _col("behavior", INT),
                           _col("description", sa.String(100))),
        "specific_price": _table(
            f"{p}specific_price", md, serial("id_specific_price"),
            *(_col(c, UINT, **zero) for c in ("id_specific_price_rule", "id_cart")),
            _col("id_product", UINT), _col("id_shop", UINT, server_default="1"),
            *(_col(c, UINT, **zero) for c in ("id_shop_group", "id_currency", "id_country", "id_group",
                                              "id_customer", "id_product_attribute")),
            _col("price", DECIMAL), _col("from_quantity", sa.Integer, server_default="1"),
            _col("reduction", DECIMAL), _col("reduction_tax", FLAG, server_default="1"),
            _col("reduction_type", sa.String(10)),  # enum('amount','percentage')
            _col("from", sa.DateTime), _col("to", sa.DateTime)),
        "configuration": _table(f"{p}configuration", md, serial("id_configuration"),
                                _col("id_shop_group", UINT, nullable=True),
                                _col("id_shop", UINT, nullable=True),
                                _col("name", sa.String(254)), _col("value", sa.Text, nullable=True),
                                _col("date_add", sa.DateTime), _col("date_upd", sa.DateTime)),
    }
    sa.Index(f"ix_{p}specific_price_id_product", t["specific_price"].c.id_product)
    sa.Index(f"ix_{p}feature_product_id_product", t["feature_product"].c.id_product)
    rule = t["tax_rule"].c
    sa.Index(f"ix_{p}tax_rule_category_getproducts", rule.id_tax_rules_group, rule.id_country, rule.id_state,
             rule.zipcode_from)
    return t


@functools.cache
def shop_tables(prefix: str = "ps_") -> ShopTables:
    """The catalogue tables named with `prefix` (cached: the same object for the same prefix)."""
    md = sa.MetaData()
    category, category_lang, category_shop = _category(md, prefix)
    pa, pa_shop, pa_combination = _combinations(md, prefix)
    attribute, attribute_lang, group, group_lang = _attributes(md, prefix)
    shop, shop_group = _shops(md, prefix)
    lang, lang_shop = _languages(md, prefix)
    image, image_shop = _images(md, prefix)
    tables = ShopTables(
        prefix=prefix,
        metadata=md,
        product=_product(md, prefix),
        product_lang=_product_lang(md, prefix),
        product_shop=_product_shop(md, prefix),
        stock_available=_stock_available(md, prefix),
        category=category,
        category_lang=category_lang,
        category_shop=category_shop,
        manufacturer=_manufacturer(md, prefix),
        product_attribute=pa,
        product_attribute_shop=pa_shop,
        product_attribute_combination=pa_combination,
        attribute=attribute,
        attribute_lang=attribute_lang,
        attribute_group=group,
        attribute_group_lang=group_lang,
        shop=shop,
        shop_group=shop_group,
        lang=lang,
        lang_shop=lang_shop,
        category_product=_category_product(md, prefix),
        image=image,
        image_shop=image_shop,
        **_listing(md, prefix),
    )
    return tables
