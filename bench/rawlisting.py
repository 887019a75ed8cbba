"""The limit's listing reads (export format /2): the same rows as connectors/prestashop/listing.py
reads, with plain DB-API SQL, one query per table per batch; assembled and encoded by the product's
own pure functions (listing.assemble, shop.build_product, the export format), so the limit's records
are byte-identical to the product's and a difference in speed is a difference in everything around.

Shop-wide facts (languages, tax rates, the category tree) are read once per process, as the
product reads them once per task. `shop` is bench.limit's Db (a DB-API cursor and the driver's
placeholder style).
"""

from __future__ import annotations

from datetime import datetime

from connectors.prestashop.categories import CategoryTree
from connectors.prestashop.listing import (
    PRICE_KEYS,
    SALE_COLUMNS,
    STATEMENTS,
    Extras,
    assemble,
    pick_configuration,
    price_facts,
    tax_rules,
)
from connectors.prestashop.shop import ShopFacts

ID_SHOP, ID_LANG, ROOT = 1, 1, 2  # the demo shop's id, its language and root category (Home)

LANGUAGES_SQL = ("SELECT l.id_lang, l.iso_code FROM ps_lang l JOIN ps_lang_shop s ON s.id_lang = l.id_lang "
                 "AND s.id_shop = ? WHERE l.active = 1 ORDER BY l.id_lang")
CONFIG_SQL = ("SELECT name, id_shop, id_shop_group, value FROM ps_configuration WHERE name IN ("
              + ", ".join("?" * len(PRICE_KEYS)) + ")")
SHOP_GROUP_SQL = "SELECT id_shop_group FROM ps_shop WHERE id_shop = ?"
RULES_SQL = (
    "SELECT tr.id_tax_rules_group, tr.behavior, t.rate, tr.id_state, tr.zipcode_from, tr.zipcode_to, "
    "tr.id_tax_rule FROM ps_tax_rule tr "
    "JOIN ps_tax_rules_group g ON g.id_tax_rules_group = tr.id_tax_rules_group AND g.active = 1 "
    "JOIN ps_tax t ON t.id_tax = tr.id_tax WHERE tr.id_country = ? AND tr.id_state = 0")
GROUP_SQL = "SELECT reduction FROM {q}ps_group{q} WHERE id_group = ?"
TREE_SQL = ("SELECT c.id_category, c.id_parent, cl.name FROM ps_category c LEFT JOIN ps_category_lang cl "
            "ON cl.id_category = c.id_category AND cl.id_shop = ? AND cl.id_lang = 1 "
            "WHERE c.id_category IN (SELECT id_category FROM ps_category_shop WHERE id_shop = ?)")
TEXTS_SQL = ("SELECT id_product, id_lang, name, description_short, description, link_rewrite "
             "FROM ps_product_lang WHERE id_product BETWEEN ? AND ? AND id_shop = ? "
             "ORDER BY id_product, id_lang")
IMAGES_SQL = ("SELECT i.id_product, i.id_image, i.position, s.cover, l.id_lang, l.legend FROM ps_image i "
              "JOIN ps_image_shop s ON s.id_image = i.id_image AND s.id_shop + 0 = ? "
              "LEFT JOIN ps_image_lang l ON l.id_image = i.id_image WHERE i.id_product BETWEEN ? AND ? "
              "ORDER BY i.id_product, i.position, i.id_image, l.id_lang")
COMBINATION_IMAGES_SQL = (
    "SELECT pai.id_product_attribute, pai.id_image FROM ps_product_attribute_image pai "
    "JOIN ps_product_attribute pa ON pa.id_product_attribute = pai.id_product_attribute "
    "JOIN ps_image i ON i.id_image = pai.id_image "
    "JOIN ps_image_lang il ON il.id_image = pai.id_image AND il.id_lang = ? "
    "WHERE pa.id_product BETWEEN ? AND ? ORDER BY pai.id_product_attribute, i.position, pai.id_image")
CATEGORIES_SQL = ("SELECT id_product, id_category FROM ps_category_product WHERE id_product BETWEEN ? AND ? "
                  "ORDER BY id_product, id_category")
FEATURES_SQL = (
    "SELECT fp.id_product, fl.id_lang, fl.name, fvl.value FROM ps_feature_product fp "
    "JOIN ps_feature f ON f.id_feature = fp.id_feature "
    "JOIN ps_feature_shop fs ON fs.id_feature = fp.id_feature AND fs.id_shop = ? "
    "JOIN ps_feature_lang fl ON fl.id_feature = fp.id_feature "
    "JOIN ps_feature_value_lang fvl ON fvl.id_feature_value = fp.id_feature_value "
    "AND fvl.id_lang = fl.id_lang "
    "WHERE fp.id_product BETWEEN ? AND ? "
    "ORDER BY fp.id_product, fl.id_lang, f.position, fp.id_feature, fp.id_feature_value")
ATTRIBUTES_SQL = (
    "SELECT pa.id_product_attribute, al.id_lang, agl.name, al.name FROM ps_product_attribute pa "
    "JOIN ps_product_attribute_combination pac ON pac.id_product_attribute = pa.id_product_attribute "
    "JOIN ps_attribute a ON a.id_attribute = pac.id_attribute "
    "JOIN ps_attribute_group g ON g.id_attribute_group = a.id_attribute_group "
    "JOIN ps_attribute_lang al ON al.id_attribute = a.id_attribute "
    "JOIN ps_attribute_group_lang agl ON agl.id_attribute_group = a.id_attribute_group "
    "AND agl.id_lang = al.id_lang WHERE pa.id_product BETWEEN ? AND ? "
    "ORDER BY pa.id_product_attribute, al.id_lang, g.position, a.id_attribute_group, a.position")
SALES_SQL = (
    "SELECT " + ", ".join("{q}" + c + "{q}" for c in SALE_COLUMNS) + " FROM ps_specific_price "
    "WHERE (id_product BETWEEN ? AND ? OR id_product = 0) AND (id_shop + 0 = 0 OR id_shop + 0 = ?) "
    "AND id_cart + 0 = 0 AND id_customer + 0 = 0 AND from_quantity + 0 <= 1 "
    "ORDER BY id_product, id_specific_price")
PRIORITIES_SQL = ("SELECT id_product, priority FROM ps_specific_price_priority "
                  "WHERE id_product BETWEEN ? AND ? ORDER BY id_product, id_specific_price_priority DESC")
GROUP_REDUCTIONS_SQL = ("SELECT id_product, id_group, reduction FROM ps_product_group_reduction_cache "
                        "WHERE id_product BETWEEN ? AND ? ORDER BY id_product, id_group")
COMBINATION_PRICES_SQL = ("SELECT id_product_attribute, ecotax, default_on FROM ps_product_attribute_shop "
                          "WHERE id_product BETWEEN ? AND ? AND id_shop = ? ORDER BY id_product_attribute")


SQL = {"texts": TEXTS_SQL, "images": IMAGES_SQL, "combination_images": COMBINATION_IMAGES_SQL,
       "categories": CATEGORIES_SQL, "features": FEATURES_SQL, "attributes": ATTRIBUTES_SQL,
       "sales": SALES_SQL, "priorities": PRIORITIES_SQL, "group_reductions": GROUP_REDUCTIONS_SQL,
       "combination_prices": COMBINATION_PRICES_SQL}
# `column + 0` where a low-selectivity key (id_shop, id_cart) would be chosen over the batch's range:
# the connector's listing.unkeyed, for the same plans
ARGS = {"texts": ((), (ID_SHOP,)), "images": ((ID_SHOP,), ()), "combination_images": ((ID_LANG,), ()),
        "features": ((ID_SHOP,), ()), "sales": ((), (ID_SHOP,)), "combination_prices": ((), (ID_SHOP,))}


def facts(shop) -> ShopFacts:
    """The shop's active languages, price facts and category tree, from the same rows the
    connector reads (listing.read_price_facts), decided by the same pure functions."""
    cur, sql = shop.cur, shop.sql
    cur.execute(sql(LANGUAGES_SQL), (ID_SHOP,))
    languages = {int(i): (iso or str(i)).strip() for i, iso in cur.fetchall()}  # as read_languages
    cur.execute(sql(SHOP_GROUP_SQL), (ID_SHOP,))
    group_row = cur.fetchone()
    cur.execute(sql(CONFIG_SQL), PRICE_KEYS)
    config = pick_configuration(cur.fetchall(), ID_SHOP, group_row[0] if group_row else None)
    country = (config.get("PS_COUNTRY_DEFAULT") or "").strip()
    cur.execute(sql(RULES_SQL), (int(country) if country.isdigit() else -1,))
    rules = tax_rules(cur.fetchall())
    visitor = (config.get("PS_UNIDENTIFIED_GROUP") or "1").strip()
    quote = "`" if shop.mysql else '"'
    cur.execute(sql(GROUP_SQL.format(q=quote)), (int(visitor) if visitor.isdigit() else 1,))
    reduction = cur.fetchone()
    prices = price_facts(config, ID_SHOP, rules, reduction[0] if reduction else None)
    cur.execute(sql(TREE_SQL), (ID_SHOP, ID_SHOP))
    names, parents = {}, {}
    for category, parent, name in cur.fetchall():
        names[int(category)], parents[int(category)] = name or "", int(parent or 0)
    return ShopFacts(languages, prices, CategoryTree(names, parents, ROOT))


def extras(shop, languages: dict[int, str], first: int, last: int, at: datetime) -> Extras:
    """One query per listing table for the products first..last (the batch's id range, as the
    product reads a dense batch), assembled as the product assembles them."""
    quote = "`" if shop.mysql else '"'
    found = {}
    for name in STATEMENTS:
        before, after = ARGS.get(name, ((), ()))
        statement = SQL[name].replace("{q}", quote)
        shop.cur.execute(shop.sql(statement), (*before, first, last, *after))
        found[name] = shop.cur.fetchall()
    return assemble(found, languages, at)
