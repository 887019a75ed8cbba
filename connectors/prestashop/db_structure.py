"""PrestaShop 8.1's catalogue tables as install-dev/data/db_structure.sql declares them: every column
with its name, type and nullability, the primary key and every secondary key
(tests/test_prestashop_schema.py compares them with a manifest of that file). Secondary keys are named
`ix_<table>_<PrestaShop key name>`, because SQLite index names are global to a database. Defaults are
PrestaShop's where it has one; a few NOT NULL columns without one in PrestaShop have one here, so that
a test can insert a row naming only what it is about (specific_price's ids: 0; date_novelty: now).

Each builder takes the MetaData and the table prefix and returns its table; `schema.shop_tables`
assembles them.
"""

from __future__ import annotations

import sqlalchemy as sa

from connectors.prestashop.columns import (
    DECIMAL,
    FLAG,
    INT,
    REDIRECT_TYPES,
    STINY,
    UINT,
    UMEDIUM,
    USMALL,
    PsDecimal,
    col,
    enum,
    table,
)


def _product(md: sa.MetaData, p: str) -> sa.Table:
    """A product's default values (those of its default shop)."""
    t = table(
        f"{p}product", md,
        col("id_product", UINT, primary_key=True, autoincrement=True),
        col("id_supplier", UINT, nullable=True),
        col("id_manufacturer", UINT, nullable=True),
        col("id_category_default", UINT, nullable=True),
        col("id_shop_default", UINT, server_default="1"),
        col("id_tax_rules_group", UINT),
        col("on_sale", FLAG, server_default="0"),
        col("online_only", FLAG, server_default="0"),
        col("ean13", sa.String(13), nullable=True),
        col("isbn", sa.String(32), nullable=True),
        col("upc", sa.String(12), nullable=True),
        col("mpn", sa.String(40), nullable=True),
        col("ecotax", PsDecimal(17, 6), server_default="0"),
        col("quantity", INT, server_default="0"),
        col("minimal_quantity", UINT, server_default="1"),
        col("low_stock_threshold", INT, nullable=True),
        col("low_stock_alert", STINY, server_default="0"),
        col("price", DECIMAL, server_default="0"),
        col("wholesale_price", DECIMAL, server_default="0"),
        col("unity", sa.String(255), nullable=True),
        col("unit_price", DECIMAL, server_default="0"),
        col("unit_price_ratio", DECIMAL, server_default="0"),
        col("additional_shipping_cost", DECIMAL, server_default="0"),
        col("reference", sa.String(64), nullable=True),
        col("supplier_reference", sa.String(64), nullable=True),
        col("location", sa.String(255), server_default=""),
        col("width", DECIMAL, server_default="0"),
        col("height", DECIMAL, server_default="0"),
        col("depth", DECIMAL, server_default="0"),
        col("weight", DECIMAL, server_default="0"),
        col("out_of_stock", UINT, server_default="2"),
        col("additional_delivery_times", FLAG, server_default="1"),
        col("quantity_discount", STINY, nullable=True),
        col("customizable", STINY, server_default="0"),
        col("uploadable_files", STINY, server_default="0"),
        col("text_fields", STINY, server_default="0"),
        col("active", FLAG, server_default="0"),
        col("redirect_type", REDIRECT_TYPES, server_default="default"),
        col("id_type_redirected", UINT, server_default="0"),
        col("available_for_order", STINY, server_default="1"),
        col("available_date", sa.Date, nullable=True),
        col("show_condition", STINY, server_default="0"),
        col("condition", enum("new", "used", "refurbished"), server_default="new"),
        col("show_price", STINY, server_default="1"),
        col("indexed", STINY, server_default="0"),
        col("visibility", enum("both", "catalog", "search", "none"), server_default="both"),
        col("cache_is_pack", STINY, server_default="0"),
        col("cache_has_attachments", STINY, server_default="0"),
        col("is_virtual", STINY, server_default="0"),
        col("cache_default_attribute", UINT, nullable=True),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
        col("date_novelty", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),  # none in PrestaShop
        col("advanced_stock_management", STINY, server_default="0"),
        col("pack_stock_type", UINT, server_default="3"),
        col("state", UINT, server_default="1"),
        col("product_type", enum("standard", "pack", "virtual", "combinations", ""), server_default=""),
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
    t = table(
        f"{p}product_shop", md,
        col("id_product", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
        col("id_category_default", UINT, nullable=True),
        col("id_tax_rules_group", UINT),
        col("on_sale", FLAG, server_default="0"),
        col("online_only", FLAG, server_default="0"),
        col("ecotax", PsDecimal(17, 6), server_default="0"),
        col("minimal_quantity", UINT, server_default="1"),
        col("low_stock_threshold", INT, nullable=True),
        col("low_stock_alert", STINY, server_default="0"),
        col("price", DECIMAL, server_default="0"),
        col("wholesale_price", DECIMAL, server_default="0"),
        col("unity", sa.String(255), nullable=True),
        col("unit_price", DECIMAL, server_default="0"),
        col("unit_price_ratio", DECIMAL, server_default="0"),
        col("additional_shipping_cost", DECIMAL, server_default="0"),
        col("customizable", STINY, server_default="0"),
        col("uploadable_files", STINY, server_default="0"),
        col("text_fields", STINY, server_default="0"),
        col("active", FLAG, server_default="0"),
        col("redirect_type", REDIRECT_TYPES, server_default="default"),
        col("id_type_redirected", UINT, server_default="0"),
        col("available_for_order", STINY, server_default="1"),
        col("available_date", sa.Date, nullable=True),
        col("show_condition", STINY, server_default="1"),
        col("condition", enum("new", "used", "refurbished"), server_default="new"),
        col("show_price", STINY, server_default="1"),
        col("indexed", STINY, server_default="0"),
        col("visibility", enum("both", "catalog", "search", "none"), server_default="both"),
        col("cache_default_attribute", UINT, nullable=True),
        col("advanced_stock_management", STINY, server_default="0"),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
        col("date_novelty", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),  # none in PrestaShop
        col("pack_stock_type", UINT, server_default="3"),
    )
    sa.Index(f"ix_{p}product_shop_id_category_default", t.c.id_category_default)
    sa.Index(f"ix_{p}product_shop_date_add", t.c.date_add, t.c.active, t.c.visibility)
    sa.Index(f"ix_{p}product_shop_indexed", t.c.indexed, t.c.active, t.c.id_product)
    return t


def _product_lang(md: sa.MetaData, p: str) -> sa.Table:
    """A product's texts per shop and language."""
    t = table(
        f"{p}product_lang", md,
        col("id_product", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("description", sa.Text, nullable=True),
        col("description_short", sa.Text, nullable=True),
        col("link_rewrite", sa.String(128)),
        col("meta_description", sa.String(512), nullable=True),
        col("meta_keywords", sa.String(255), nullable=True),
        col("meta_title", sa.String(128), nullable=True),
        col("name", sa.String(128)),
        col("available_now", sa.String(255), nullable=True),
        col("available_later", sa.String(255), nullable=True),
        col("delivery_in_stock", sa.String(255), nullable=True),
        col("delivery_out_stock", sa.String(255), nullable=True),
    )
    sa.Index(f"ix_{p}product_lang_id_lang", t.c.id_lang)
    sa.Index(f"ix_{p}product_lang_name", t.c.name)
    return t


def _stock_available(md: sa.MetaData, p: str) -> sa.Table:
    """Quantities: one row per product (id_product_attribute = 0) and per combination, in a shop (or a
    shop group sharing its stock: id_shop 0)."""
    t = table(
        f"{p}stock_available", md,
        col("id_stock_available", UINT, primary_key=True, autoincrement=True),
        col("id_product", UINT),
        col("id_product_attribute", UINT),
        col("id_shop", UINT),
        col("id_shop_group", UINT),
        col("quantity", INT, server_default="0"),
        col("physical_quantity", INT, server_default="0"),
        col("reserved_quantity", INT, server_default="0"),
        col("depends_on_stock", FLAG, server_default="0"),
        col("out_of_stock", FLAG, server_default="0"),
        col("location", sa.String(255), server_default=""),
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
    t = table(
        f"{p}category", md,
        col("id_category", UINT, primary_key=True, autoincrement=True),
        col("id_parent", UINT),
        col("id_shop_default", UINT, server_default="1"),
        col("level_depth", FLAG, server_default="0"),
        col("nleft", UINT, server_default="0"),
        col("nright", UINT, server_default="0"),
        col("active", FLAG, server_default="0"),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
        col("position", UINT, server_default="0"),
        col("is_root_category", STINY, server_default="0"),
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
    t = table(
        f"{p}category_lang", md,
        col("id_category", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("name", sa.String(128)),
        col("description", sa.Text, nullable=True),
        col("additional_description", sa.Text, nullable=True),
        col("link_rewrite", sa.String(128)),
        col("meta_title", sa.String(255), nullable=True),
        col("meta_keywords", sa.String(255), nullable=True),
        col("meta_description", sa.String(512), nullable=True),
    )
    sa.Index(f"ix_{p}category_lang_category_name", t.c.name)
    return t


def _category_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The categories each shop uses, with their position there."""
    return table(
        f"{p}category_shop", md,
        col("id_category", INT, primary_key=True, autoincrement=False),
        col("id_shop", INT, primary_key=True, autoincrement=False),
        col("position", UINT, server_default="0"),
    )


def _category_product(md: sa.MetaData, p: str) -> sa.Table:
    """The categories a product is in (its default category among them), with its position there."""
    t = table(
        f"{p}category_product", md,
        col("id_category", UINT, primary_key=True, autoincrement=False),
        col("id_product", UINT, primary_key=True, autoincrement=False),
        col("position", UINT, server_default="0"),
    )
    sa.Index(f"ix_{p}category_product_id_product", t.c.id_product)
    sa.Index(f"ix_{p}category_product_id_category", t.c.id_category, t.c.position)
    return t


def _manufacturer(md: sa.MetaData, p: str) -> sa.Table:
    return table(
        f"{p}manufacturer", md,
        col("id_manufacturer", UINT, primary_key=True, autoincrement=True),
        col("name", sa.String(64)),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
        col("active", STINY, server_default="0"),
    )


def _product_attribute(md: sa.MetaData, p: str) -> sa.Table:
    """A combination; `price` is its impact on the product's price, `weight` on its weight."""
    t = table(
        f"{p}product_attribute", md,
        col("id_product_attribute", UINT, primary_key=True, autoincrement=True),
        col("id_product", UINT),
        col("reference", sa.String(64), nullable=True),
        col("supplier_reference", sa.String(64), nullable=True),
        col("ean13", sa.String(13), nullable=True),
        col("isbn", sa.String(32), nullable=True),
        col("upc", sa.String(12), nullable=True),
        col("mpn", sa.String(40), nullable=True),
        col("wholesale_price", DECIMAL, server_default="0"),
        col("price", DECIMAL, server_default="0"),
        col("ecotax", PsDecimal(17, 6), server_default="0"),
        col("weight", DECIMAL, server_default="0"),
        col("unit_price_impact", DECIMAL, server_default="0"),
        col("default_on", FLAG, nullable=True),
        col("minimal_quantity", UINT, server_default="1"),
        col("low_stock_threshold", INT, nullable=True),
        col("low_stock_alert", STINY, server_default="0"),
        col("available_date", sa.Date, nullable=True),
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
    t = table(
        f"{p}product_attribute_shop", md,
        col("id_product", UINT),
        col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
        col("wholesale_price", DECIMAL, server_default="0"),
        col("price", DECIMAL, server_default="0"),
        col("ecotax", PsDecimal(17, 6), server_default="0"),
        col("weight", DECIMAL, server_default="0"),
        col("unit_price_impact", DECIMAL, server_default="0"),
        col("default_on", FLAG, nullable=True),
        col("minimal_quantity", UINT, server_default="1"),
        col("low_stock_threshold", INT, nullable=True),
        col("low_stock_alert", STINY, server_default="0"),
        col("available_date", sa.Date, nullable=True),
    )
    sa.Index(f"ix_{p}product_attribute_shop_id_product",
             t.c.id_product, t.c.id_shop, t.c.default_on, unique=True)
    return t


def _product_attribute_combination(md: sa.MetaData, p: str) -> sa.Table:
    """The attribute values of a combination."""
    t = table(
        f"{p}product_attribute_combination", md,
        col("id_attribute", UINT, primary_key=True, autoincrement=False),
        col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}product_attribute_combination_id_product_attribute", t.c.id_product_attribute)
    return t


def _product_attribute_image(md: sa.MetaData, p: str) -> sa.Table:
    """The images shown for a combination."""
    t = table(
        f"{p}product_attribute_image", md,
        col("id_product_attribute", UINT, primary_key=True, autoincrement=False),
        col("id_image", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}product_attribute_image_id_image", t.c.id_image)
    return t


def _image(md: sa.MetaData, p: str) -> sa.Table:
    """A product's images: `position` orders them, `cover` is 1 for its cover and NULL for the others."""
    t = table(
        f"{p}image", md,
        col("id_image", UINT, primary_key=True, autoincrement=True),
        col("id_product", UINT),
        col("position", USMALL, server_default="0"),
        col("cover", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}image_image_product", t.c.id_product)
    sa.Index(f"ix_{p}image_id_product_cover", t.c.id_product, t.c.cover, unique=True)
    sa.Index(f"ix_{p}image_idx_product_image", t.c.id_image, t.c.id_product, t.c.cover, unique=True)
    return t


def _image_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The images each shop shows, and its cover there."""
    t = table(
        f"{p}image_shop", md,
        col("id_product", UINT),
        col("id_image", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
        col("cover", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}image_shop_id_product", t.c.id_product, t.c.id_shop, t.c.cover, unique=True)
    sa.Index(f"ix_{p}image_shop_id_shop", t.c.id_shop)
    return t


def _image_lang(md: sa.MetaData, p: str) -> sa.Table:
    """Image legends per language."""
    t = table(
        f"{p}image_lang", md,
        col("id_image", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("legend", sa.String(128), nullable=True),
    )
    sa.Index(f"ix_{p}image_lang_id_image", t.c.id_image)
    return t


def _feature(md: sa.MetaData, p: str) -> sa.Table:
    return table(
        f"{p}feature", md,
        col("id_feature", UINT, primary_key=True, autoincrement=True),
        col("position", UINT, server_default="0"),
    )


def _feature_lang(md: sa.MetaData, p: str) -> sa.Table:
    t = table(
        f"{p}feature_lang", md,
        col("id_feature", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("name", sa.String(128), nullable=True),
    )
    sa.Index(f"ix_{p}feature_lang_id_lang", t.c.id_lang, t.c.name)
    return t


def _feature_product(md: sa.MetaData, p: str) -> sa.Table:
    t = table(
        f"{p}feature_product", md,
        col("id_feature", UINT, primary_key=True, autoincrement=False),
        col("id_product", UINT, primary_key=True, autoincrement=False),
        col("id_feature_value", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}feature_product_id_feature_value", t.c.id_feature_value)
    sa.Index(f"ix_{p}feature_product_id_product", t.c.id_product)
    return t


def _feature_value(md: sa.MetaData, p: str) -> sa.Table:
    t = table(
        f"{p}feature_value", md,
        col("id_feature_value", UINT, primary_key=True, autoincrement=True),
        col("id_feature", UINT),
        col("custom", FLAG, nullable=True),
    )
    sa.Index(f"ix_{p}feature_value_feature", t.c.id_feature)
    return t


def _feature_value_lang(md: sa.MetaData, p: str) -> sa.Table:
    return table(
        f"{p}feature_value_lang", md,
        col("id_feature_value", UINT, primary_key=True, autoincrement=False),
        col("id_lang", UINT, primary_key=True, autoincrement=False),
        col("value", sa.String(255), nullable=True),
    )


def _feature_shop(md: sa.MetaData, p: str) -> sa.Table:
    """The features each shop shows (Product::getFrontFeaturesStatic joins it)."""
    t = table(
        f"{p}feature_shop", md,
        col("id_feature", UINT, primary_key=True, autoincrement=False),
        col("id_shop", UINT, primary_key=True, autoincrement=False),
    )
    sa.Index(f"ix_{p}feature_shop_id_shop", t.c.id_shop)
    return t


def _tax(md: sa.MetaData, p: str) -> sa.Table:
    return table(
        f"{p}tax", md,
        col("id_tax", UINT, primary_key=True, autoincrement=True),
        col("rate", PsDecimal(10, 3)),
        col("active", FLAG, server_default="1"),
        col("deleted", FLAG, server_default="0"),
    )


def _tax_rule(md: sa.MetaData, p: str) -> sa.Table:
    """A tax rules group's rules: per country, state and zip code range, a tax and how it combines
    (behavior 0: this tax only, 1: added, 2: one after another)."""
    t = table(
        f"{p}tax_rule", md,
        col("id_tax_rule", INT, primary_key=True, autoincrement=True),
        col("id_tax_rules_group", INT),
        col("id_country", INT),
        col("id_state", INT),
        col("zipcode_from", sa.String(12)),
        col("zipcode_to", sa.String(12)),
        col("id_tax", INT),
        col("behavior", INT),
        col("description", sa.String(100)),
    )
    sa.Index(f"ix_{p}tax_rule_id_tax_rules_group", t.c.id_tax_rules_group)
    sa.Index(f"ix_{p}tax_rule_id_tax", t.c.id_tax)
    sa.Index(f"ix_{p}tax_rule_category_getproducts",
             t.c.id_tax_rules_group, t.c.id_country, t.c.id_state, t.c.zipcode_from)
    return t


def _tax_rules_group(md: sa.MetaData, p: str) -> sa.Table:
    return table(
        f"{p}tax_rules_group", md,
        col("id_tax_rules_group", INT, primary_key=True, autoincrement=True),
        col("name", sa.String(50)),
        col("active", INT),
        col("deleted", FLAG, server_default="0"),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
    )


def _specific_price(md: sa.MetaData, p: str) -> sa.Table:
    """Specific prices (sales, catalog price rules' rows, quantity discounts, customer prices)."""
    t = table(
        f"{p}specific_price", md,
        col("id_specific_price", UINT, primary_key=True, autoincrement=True),
        col("id_specific_price_rule", UINT, server_default="0"),
        col("id_cart", UINT, server_default="0"),
        col("id_product", UINT, server_default="0"),
        col("id_shop", UINT, server_default="1"),
        col("id_shop_group", UINT, server_default="0"),
        col("id_currency", UINT, server_default="0"),
        col("id_country", UINT, server_default="0"),
        col("id_group", UINT, server_default="0"),
        col("id_customer", UINT, server_default="0"),
        col("id_product_attribute", UINT, server_default="0"),
        col("price", DECIMAL),
        col("from_quantity", UMEDIUM, server_default="1"),
        col("reduction", DECIMAL),
        col("reduction_tax", STINY, server_default="1"),
        col("reduction_type", enum("amount", "percentage")),
        col("from", sa.DateTime),
        col("to", sa.DateTime),
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
    t = table(
        f"{p}specific_price_priority", md,
        col("id_specific_price_priority", INT, primary_key=True, autoincrement=False),
        col("id_product", INT, primary_key=True, autoincrement=False),
        col("priority", sa.String(80)),
    )
    sa.Index(f"ix_{p}specific_price_priority_id_product", t.c.id_product, unique=True)
    return t


def _configuration(md: sa.MetaData, p: str) -> sa.Table:
    """Configuration values: global (NULL shop and group), per shop group, per shop."""
    t = table(
        f"{p}configuration", md,
        col("id_configuration", UINT, primary_key=True, autoincrement=True),
        col("id_shop_group", UINT, nullable=True),
        col("id_shop", UINT, nullable=True),
        col("name", sa.String(254)),
        col("value", sa.Text, nullable=True),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
    )
    sa.Index(f"ix_{p}configuration_name", t.c.name)
    sa.Index(f"ix_{p}configuration_id_shop", t.c.id_shop)
    sa.Index(f"ix_{p}configuration_id_shop_group", t.c.id_shop_group)
    return t


def _group(md: sa.MetaData, p: str) -> sa.Table:
    """Customer groups; the Visitor group (PS_UNIDENTIFIED_GROUP) prices the anonymous visitor."""
    return table(
        f"{p}group", md,
        col("id_group", UINT, primary_key=True, autoincrement=True),
        col("reduction", PsDecimal(5, 2), server_default="0"),
        col("price_display_method", STINY, server_default="0"),
        col("show_prices", FLAG, server_default="1"),
        col("date_add", sa.DateTime),
        col("date_upd", sa.DateTime),
    )


def _product_group_reduction_cache(md: sa.MetaData, p: str) -> sa.Table:
    """A group's reduction on a product from its categories (GroupReduction)."""
    return table(
        f"{p}product_group_reduction_cache", md,
        col("id_product", UINT, primary_key=True, autoincrement=False),
        col("id_group", UINT, primary_key=True, autoincrement=False),
        col("reduction", PsDecimal(5, 4)),
    )


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
