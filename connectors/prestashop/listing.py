"""What a marketplace listing needs of a batch of products besides the catalogue's own row: every
active language's texts, images (with their legends and URLs), linked categories, features,
combination attributes per language and images, the current specific price, and the tax rate of
the product's tax rules group in the shop's country.

One query per table per batch (never one per product), compiled once per shop (`ListingReads`), each
ordered so a product's record is the same bytes every time on every backend (change tracking hashes
it); the shop-wide facts (languages, tax rates, the category tree) are read once per reader. Values come as
the driver gives them (decimals as float on SQLite, text dates on SQLite), so `dec` and
`shop_datetime` read them the same on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.prestashop.schema import ShopTables
from core.driver import Prepared

COUNTRY_KEY, TAX_KEY = "PS_COUNTRY_DEFAULT", "PS_TAX"  # ps_configuration names read for taxes


def dec(value: Any) -> Decimal:
    """A driver's decimal (float on SQLite, Decimal on MySQL, None) as a Decimal (None: 0)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def image_url(base_url: str | None, id_image: int) -> str | None:
    """The image's URL as PrestaShop builds it (Image::getImgFolderStatic): one folder per digit of
    its id, `<base>/img/p/1/2/3/123.jpg`; None without a base URL."""
    if not base_url:
        return None
    digits = str(int(id_image))
    return f"{base_url.rstrip('/')}/img/p/{'/'.join(digits)}/{digits}.jpg"


def tax_rate(rules: Sequence[tuple[int, Any]]) -> Decimal:
    """The rate of a tax rules group's rules for one country, most specific first, as PrestaShop's
    TaxRulesTaxManager and TaxCalculator compute it: the first rule's behavior decides (0: this tax
    only, 1: rates added, 2: one tax after another), and a rule of behavior 0 ends the list."""
    if not rules:
        return Decimal(0)
    behavior = rules[0][0]
    rates = []
    for rule_behavior, rate in rules:
        rates.append(dec(rate))
        if rule_behavior == 0:
            break
    if behavior == 2:
        total = Decimal(1)
        for rate in rates:
            total *= 1 + rate / 100
        return ((total - 1) * 100).quantize(Decimal("0.001"))
    return sum(rates, Decimal(0)) if behavior == 1 else rates[0]


@dataclass
class Extras:
    """A batch's listing data, keyed by product (or combination) id."""

    texts: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)  # pid -> iso -> fields
    images: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    combination_images: dict[int, list[int]] = field(default_factory=dict)  # id_product_attribute -> ids
    categories: dict[int, list[int]] = field(default_factory=dict)
    features: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)  # pid -> iso -> name: value
    # id_product_attribute -> iso -> group: value
    attributes: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)
    sales: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (pid, pa) -> specific price


class ListingReads:
    """The listing's statements for one shop."""

    def __init__(self, t: ShopTables, id_shop: int, dialect: sa.Dialect):
        self.t, self.id_shop = t, id_shop
        ids = sa.bindparam("ids", expanding=True)
        s = id_shop
        pl, img, ish, il = t.product_lang, t.image, t.image_shop, t.image_lang
        self.texts = Prepared(
            sa.select(pl.c.id_product, pl.c.id_lang, pl.c.name, pl.c.description_short, pl.c.description,
                      pl.c.link_rewrite)
            .where(pl.c.id_product.in_(ids), pl.c.id_shop == s)
            .order_by(pl.c.id_product, pl.c.id_lang), dialect)
        self.images = Prepared(
            sa.select(img.c.id_product, img.c.id_image, img.c.position, ish.c.cover, il.c.id_lang,
                      il.c.legend)
            .join(ish, sa.and_(ish.c.id_image == img.c.id_image, ish.c.id_shop == s))
            .outerjoin(il, il.c.id_image == img.c.id_image)
            .where(img.c.id_product.in_(ids))
            .order_by(img.c.id_product, img.c.position, img.c.id_image, il.c.id_lang), dialect)
        pa, pai = t.product_attribute, t.product_attribute_image
        self.combination_images = Prepared(
            sa.select(pai.c.id_product_attribute, pai.c.id_image)
            .join(pa, pa.c.id_product_attribute == pai.c.id_product_attribute)
            .where(pa.c.id_product.in_(ids)).order_by(pai.c.id_product_attribute, pai.c.id_image), dialect)
        cp = t.category_product
        self.categories = Prepared(
            sa.select(cp.c.id_product, cp.c.id_category).where(cp.c.id_product.in_(ids))
            .order_by(cp.c.id_product, cp.c.id_category), dialect)
        fp, f, fl, fvl = t.feature_product, t.feature, t.feature_lang, t.feature_value_lang
        self.features = Prepared(
            sa.select(fp.c.id_product, fl.c.id_lang, fl.c.name, fvl.c.value)
            .join(f, f.c.id_feature == fp.c.id_feature)
            .join(fl, fl.c.id_feature == fp.c.id_feature)
            .join(fvl, sa.and_(fvl.c.id_feature_value == fp.c.id_feature_value,
                               fvl.c.id_lang == fl.c.id_lang))
            .where(fp.c.id_product.in_(ids))
            .order_by(fp.c.id_product, fl.c.id_lang, f.c.position, fp.c.id_feature, fp.c.id_feature_value),
            dialect)
        pac, a, al = t.product_attribute_combination, t.attribute, t.attribute_lang
        agl = t.attribute_group_lang
        group = t.attribute_group
        self.attributes = Prepared(
            sa.select(pa.c.id_product_attribute, al.c.id_lang, agl.c.name, al.c.name)
            .join(pac, pac.c.id_product_attribute == pa.c.id_product_attribute)
            .join(a, a.c.id_attribute == pac.c.id_attribute)
            .join(group, group.c.id_attribute_group == a.c.id_attribute_group)
            .join(al, al.c.id_attribute == a.c.id_attribute)
            .join(agl, sa.and_(agl.c.id_attribute_group == a.c.id_attribute_group,
                               agl.c.id_lang == al.c.id_lang))
            .where(pa.c.id_product.in_(ids))
            .order_by(pa.c.id_product_attribute, al.c.id_lang, group.c.position, a.c.id_attribute_group,
                      a.c.position), dialect)
        sp = t.specific_price
        # the public price: not for one cart, customer, group, country or currency, from one unit
        self.sales = Prepared(
            sa.select(sp.c.id_product, sp.c.id_product_attribute, sp.c.id_shop, sp.c.price, sp.c.reduction,
                      sp.c.reduction_tax, sp.c.reduction_type, sp.c["from"], sp.c.to, sp.c.id_specific_price)
            .where(sp.c.id_product.in_(ids), sa.or_(sp.c.id_shop == 0, sp.c.id_shop == s), sp.c.id_cart == 0,
                   sp.c.id_customer == 0, sp.c.id_group == 0, sp.c.id_country == 0, sp.c.id_currency == 0,
                   sp.c.from_quantity <= 1), dialect)

    def read(self, conn: sa.Connection, ids: list[int], languages: dict[int, str], at: datetime | None,
             rows: Callable[..., list[tuple]]) -> Extras:
        """The batch's listing data; `languages` maps the shop's active id_lang to its iso code;
        `at` (the shop's local time) decides which specific prices are current; `rows(conn,
        statement, ids=...)` runs a statement (shop.shop_rows: broken UTF-8 read as U+FFFD)."""
        found = {name: rows(conn, getattr(self, name), ids=ids) for name in STATEMENTS}
        return assemble(found, languages, at)


STATEMENTS = ("texts", "images", "combination_images", "categories", "features", "attributes", "sales")


def assemble(rows: dict[str, list[tuple]], languages: dict[int, str], at: datetime | None) -> Extras:
    """A batch's Extras from the rows of each of STATEMENTS (columns and order as ListingReads
    selects them), whoever read them (the bench's raw limit reads the same rows)."""
    out = Extras()
    for pid, lang, name, short, long, rewrite in rows["texts"]:
        if lang in languages:
            out.texts.setdefault(pid, {})[languages[lang]] = {
                "name": name, "description_short": short, "description": long, "link_rewrite": rewrite}
    current: dict[int, dict[str, Any]] = {}
    for pid, image, position, cover, lang, legend in rows["images"]:
        if current.get(pid, {}).get("id") != image:
            current[pid] = {"id": int(image), "position": int(position or 0), "cover": bool(cover),
                            "legend": {}, "url": None}
            out.images.setdefault(pid, []).append(current[pid])
        if lang in languages:
            current[pid]["legend"][languages[lang]] = legend or ""
    for pa, image in rows["combination_images"]:
        out.combination_images.setdefault(pa, []).append(int(image))
    for pid, category in rows["categories"]:
        out.categories.setdefault(pid, []).append(int(category))
    for pid, lang, name, value in rows["features"]:
        if lang in languages and name:
            names = out.features.setdefault(pid, {}).setdefault(languages[lang], {})
            names[name] = f"{names[name]}, {value}" if name in names else (value or "")
    for pa, lang, group, value in rows["attributes"]:
        if lang in languages and group:
            out.attributes.setdefault(pa, {}).setdefault(languages[lang], {})[group] = value or ""
    best: dict[tuple[int, int], tuple] = {}
    for row in rows["sales"]:
        pid, pa, shop, *_ = row
        start, end = moment(row[7]), moment(row[8])
        if at is not None and ((start and start > at) or (end and end < at)):
            continue
        # PrestaShop's order (SpecificPrice::getSpecificPrice): this shop's first, then the latest
        # end (an unlimited one, 0000-00-00, last), the latest start, the first created
        rank = (shop != 0, end or datetime.min, start or datetime.min, -row[9])
        key = (pid, pa)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, row)
    for key, (_, row) in best.items():
        out.sales[key] = {"price": dec(row[3]) if row[3] is not None else None, "reduction": dec(row[4]),
                          "reduction_tax": bool(row[5]), "reduction_type": row[6],
                          "from": moment(row[7]), "to": moment(row[8])}
    return out


def moment(value: Any) -> datetime | None:
    """A specific price's from/to as the driver gives it; None for PrestaShop's "unlimited"
    (0000-00-00 00:00:00, NULL) and for text that is not a date."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value and not value.startswith("0000"):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def read_languages(conn: sa.Connection, t: ShopTables, id_shop: int) -> dict[int, str]:
    """The shop's active languages: id_lang -> iso code, by id_lang."""
    lang, shop = t.lang, t.lang_shop
    rows = conn.execute(sa.select(lang.c.id_lang, lang.c.iso_code)
                        .join(shop, sa.and_(shop.c.id_lang == lang.c.id_lang, shop.c.id_shop == id_shop))
                        .where(lang.c.active == 1).order_by(lang.c.id_lang))
    return {int(i): (iso or str(i)).strip() for i, iso in rows}


def read_tax_rates(conn: sa.Connection, t: ShopTables, id_shop: int) -> dict[int, Decimal]:
    """Each active tax rules group's rate for the shop's default country (PS_COUNTRY_DEFAULT; no
    state, no zip code range), or {} when the shop has taxes off (PS_TAX = 0)."""
    config = _configuration(conn, t, id_shop, (COUNTRY_KEY, TAX_KEY))
    if config.get(TAX_KEY, "1") == "0" or not (config.get(COUNTRY_KEY) or "").isdigit():
        return {}
    tr, trg, tax = t.tax_rule, t.tax_rules_group, t.tax
    rows = conn.execute(
        sa.select(tr.c.id_tax_rules_group, tr.c.behavior, tax.c.rate)
        .join(trg, sa.and_(trg.c.id_tax_rules_group == tr.c.id_tax_rules_group, trg.c.active == 1,
                           trg.c.deleted == 0))
        .join(tax, tax.c.id_tax == tr.c.id_tax)
        .where(tr.c.id_country == int(config[COUNTRY_KEY]), tr.c.id_state == 0,
               tr.c.zipcode_from.in_(["0", ""]), tr.c.zipcode_to.in_(["0", ""]))
        .order_by(tr.c.id_tax_rules_group, tr.c.id_tax_rule))
    rules: dict[int, list[tuple[int, Any]]] = {}
    for group, behavior, rate in rows:
        rules.setdefault(int(group), []).append((int(behavior or 0), rate))
    return {group: tax_rate(group_rules) for group, group_rules in rules.items()}


def _configuration(conn: sa.Connection, t: ShopTables, id_shop: int, names: Sequence[str]) -> dict[str, str]:
    """Configuration values as PrestaShop's Configuration::get reads them for a shop: the shop's
    own row, else its group's, else the global one (NULL shop and group)."""
    c, shop = t.configuration, t.shop
    group = conn.execute(sa.select(shop.c.id_shop_group).where(shop.c.id_shop == id_shop)).scalar()
    out: dict[str, tuple[int, str]] = {}
    for name, row_shop, row_group, value in conn.execute(
            sa.select(c.c.name, c.c.id_shop, c.c.id_shop_group, c.c.value).where(c.c.name.in_(names))):
        rank = 2 if row_shop == id_shop else 1 if row_group == group and not row_shop else \
            0 if not row_shop and not row_group else -1
        if rank >= 0 and (name not in out or rank > out[name][0]):
            out[name] = (rank, value or "")
    return {name: value for name, (_, value) in out.items()}
