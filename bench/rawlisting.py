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
from connectors.prestashop.listing import STATEMENTS, Extras, assemble, tax_rate
from connectors.prestashop.shop import ShopFacts

ID_SHOP, ROOT = 1, 2  # the demo shop's id and root category (Home)

LANGUAGES_SQL = ("SELECT l.id_lang, l.iso_code FROM ps_lang l JOIN ps_lang_shop s ON s.id_lang = l.id_lang "
                 "AND s.id_shop = ? WHERE l.active = 1 ORDER BY l.id_lang")
CONFIG_SQL = "SELECT name, id_shop, id_shop_group, value FROM ps_configuration WHERE name IN (?, ?)"
RULES_SQL = (
    "SELECT tr.id_tax_rules_group, tr.behavior, t.rate FROM ps_tax_rule tr "
    "JOIN ps_tax_rules_group g ON g.id_tax_rules_group = tr.id_tax_rules_group AND g.active = 1 "
    "AND g.deleted = 0 JOIN ps_tax t ON t.id_tax = tr.id_tax WHERE tr.id_country = ? AND tr.id_state = 0 "
    "AND tr.zipcode_from IN ('0', '') AND tr.zipcode_to IN ('0', '') "
    "ORDER BY tr.id_tax_rules_group, tr.id_tax_rule")
TREE_SQL = ("SELECT c.id_category, c.id_parent, cl.name FROM ps_category c LEFT JOIN ps_category_lang cl "
            "ON cl.id_category = c.id_category AND cl.id_shop = ? AND cl.id_lang = 1 "
            "WHERE c.id_category IN (SELECT id_category FROM ps_category_shop WHERE id_shop = ?)")
TEXTS_SQL = ("SELECT id_product, id_lang, name, description_short, description, link_rewrite "
             "FROM ps_product_lang WHERE id_product IN ({ids}) AND id_shop = ? ORDER BY id_product, id_lang")
IMAGES_SQL = ("SELECT i.id_product, i.id_image, i.position, s.cover, l.id_lang, l.legend FROM ps_image i "
              "JOIN ps_image_shop s ON s.id_image = i.id_image AND s.id_shop = ? "
              "LEFT JOIN ps_image_lang l ON l.id_image = i.id_image WHERE i.id_product IN ({ids}) "
              "ORDER BY i.id_product, i.position, i.id_image, l.id_lang")
COMBINATION_IMAGES_SQL = (
    "SELECT pai.id_product_attribute, pai.id_image FROM ps_product_attribute_image pai "
    "JOIN ps_product_attribute pa ON pa.id_product_attribute = pai.id_product_attribute "
    "WHERE pa.id_product IN ({ids}) ORDER BY pai.id_product_attribute, pai.id_image")
CATEGORIES_SQL = ("SELECT id_product, id_category FROM ps_category_product WHERE id_product IN ({ids}) "
                  "ORDER BY id_product, id_category")
FEATURES_SQL = (
    "SELECT fp.id_product, fl.id_lang, fl.name, fvl.value FROM ps_feature_product fp "
    "JOIN ps_feature f ON f.id_feature = fp.id_feature "
    "JOIN ps_feature_lang fl ON fl.id_feature = fp.id_feature "
    "JOIN ps_feature_value_lang fvl ON fvl.id_feature_value = fp.id_feature_value "
    "AND fvl.id_lang = fl.id_lang "
    "WHERE fp.id_product IN ({ids}) "
    "ORDER BY fp.id_product, fl.id_lang, f.position, fp.id_feature, fp.id_feature_value")
ATTRIBUTES_SQL = (
    "SELECT pa.id_product_attribute, al.id_lang, agl.name, al.name FROM ps_product_attribute pa "
    "JOIN ps_product_attribute_combination pac ON pac.id_product_attribute = pa.id_product_attribute "
    "JOIN ps_attribute a ON a.id_attribute = pac.id_attribute "
    "JOIN ps_attribute_group g ON g.id_attribute_group = a.id_attribute_group "
    "JOIN ps_attribute_lang al ON al.id_attribute = a.id_attribute "
    "JOIN ps_attribute_group_lang agl ON agl.id_attribute_group = a.id_attribute_group "
    "AND agl.id_lang = al.id_lang WHERE pa.id_product IN ({ids}) "
    "ORDER BY pa.id_product_attribute, al.id_lang, g.position, a.id_attribute_group, a.position")
SALES_SQL = (
    "SELECT id_product, id_product_attribute, id_shop, price, reduction, reduction_tax, reduction_type, "
    "{q}from{q}, {q}to{q}, id_specific_price FROM ps_specific_price WHERE id_product IN ({ids}) "
    "AND (id_shop = 0 OR id_shop = ?) AND id_cart = 0 AND id_customer = 0 AND id_group = 0 "
    "AND id_country = 0 AND id_currency = 0 AND from_quantity <= 1")


SQL = {"texts": TEXTS_SQL, "images": IMAGES_SQL, "combination_images": COMBINATION_IMAGES_SQL,
       "categories": CATEGORIES_SQL, "features": FEATURES_SQL, "attributes": ATTRIBUTES_SQL,
       "sales": SALES_SQL}
ARGS = {"texts": ((), (ID_SHOP,)), "images": ((ID_SHOP,), ()), "sales": ((), (ID_SHOP,))}


def facts(shop) -> ShopFacts:
    """The shop's active languages, tax rates in its country and category tree (the global
    configuration rows: the bench's shop has no per-shop ones)."""
    cur, sql = shop.cur, shop.sql
    cur.execute(sql(LANGUAGES_SQL), (ID_SHOP,))
    languages = {int(i): (iso or str(i)).strip() for i, iso in cur.fetchall()}  # as read_languages
    cur.execute(sql(CONFIG_SQL), ("PS_COUNTRY_DEFAULT", "PS_TAX"))
    config = {name: value for name, shop_id, group, value in cur.fetchall() if not shop_id and not group}
    rates = {}
    if config.get("PS_TAX", "1") != "0" and (config.get("PS_COUNTRY_DEFAULT") or "").isdigit():
        cur.execute(sql(RULES_SQL), (int(config["PS_COUNTRY_DEFAULT"]),))
        rules: dict[int, list] = {}
        for group, behavior, rate in cur.fetchall():
            rules.setdefault(int(group), []).append((int(behavior or 0), rate))
        rates = {group: tax_rate(group_rules) for group, group_rules in rules.items()}
    cur.execute(sql(TREE_SQL), (ID_SHOP, ID_SHOP))
    names, parents = {}, {}
    for category, parent, name in cur.fetchall():
        names[int(category)], parents[int(category)] = name or "", int(parent or 0)
    return ShopFacts(languages, rates, CategoryTree(names, parents, ROOT))


def extras(shop, languages: dict[int, str], ids: list[int], at: datetime) -> Extras:
    """One query per listing table for these products, assembled as the product assembles them."""
    if not ids:
        return Extras()
    marks, quote = shop.marks(len(ids)), "`" if shop.mysql else '"'
    found = {}
    for name in STATEMENTS:
        before, after = ARGS.get(name, ((), ()))
        shop.cur.execute(shop.sql(SQL[name].format(ids=marks, q=quote)), (*before, *ids, *after))
        found[name] = shop.cur.fetchall()
    return assemble(found, languages, at)
