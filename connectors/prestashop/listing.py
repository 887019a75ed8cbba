"""What a marketplace listing needs of a batch of products besides the catalogue's own row: every
active language's texts, images (with their legends and URLs), linked categories, the features the
shop shows, combination attributes per language and images, the specific prices an anonymous visitor
may get, and the shop's price facts (tax rates in its country, its Visitor group, currency, rounding).

One query per table per batch (never one per product), compiled once per shop (`ListingReads`), each
ordered so a product's record is the same bytes every time on every backend (change tracking hashes
it); the shop-wide facts (languages, price facts, the category tree) are read once per reader. Values
come as the driver gives them (decimals as float on SQLite, text dates on SQLite), so `dec` and
`moment` read them the same on every backend. Which price an item gets is decided by `pricing.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.prestashop import pricing
from connectors.prestashop.pricing import SpecificPrice, Visitor
from connectors.prestashop.schema import ShopTables
from core.driver import Prepared

COUNTRY_KEY, TAX_KEY = "PS_COUNTRY_DEFAULT", "PS_TAX"
# ps_configuration names the price facts read (see PriceFacts)
PRICE_KEYS = (COUNTRY_KEY, TAX_KEY, "PS_CURRENCY_DEFAULT", "PS_UNIDENTIFIED_GROUP",
              "PS_SPECIFIC_PRICE_PRIORITIES", "PS_SPECIFIC_PRICE_FEATURE_ACTIVE", "PS_PRICE_ROUND_MODE",
              "PS_ECOTAX_TAX_RULES_GROUP_ID", "PS_GROUP_FEATURE_ACTIVE", "PS_FEATURE_FEATURE_ACTIVE",
              "PS_REWRITING_SETTINGS")
DEFAULT_IMAGE_TYPE = "large_default"


def dec(value: Any) -> Decimal:
    """A driver's decimal (float on SQLite, Decimal on MySQL, None) as a Decimal (None: 0)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def image_url(base_url: str | None, id_image: int, image_type: str | None = None,
              link_rewrite: str | None = None, friendly: bool = False) -> str | None:
    """The image's URL as `Link::getImageLink` builds it; None without a base URL. With friendly
    URLs (`PS_REWRITING_SETTINGS` = 1) and a `link_rewrite`: `<base>/<id>-<type>/<link_rewrite>.jpg`;
    else one folder per digit of the id (`Image::getImgFolderStatic`):
    `<base>/img/p/1/2/3/123-<type>.jpg` (`<base>/img/p/1/2/3/123.jpg`, the original, without a type)."""
    if not base_url:
        return None
    base, digits = base_url.rstrip("/"), str(int(id_image))
    suffix = f"-{image_type}" if image_type else ""
    if friendly and link_rewrite:
        return f"{base}/{digits}{suffix}/{link_rewrite}.jpg"
    return f"{base}/img/p/{'/'.join(digits)}/{digits}{suffix}.jpg"


def tax_rate(rules: Sequence[tuple[int, Any]]) -> Decimal:
    """The total rate of a tax rules group's rules for one address, most specific first
    (`pricing.total_tax_rate`, as PrestaShop's TaxCalculator::getTotalRate)."""
    return pricing.total_tax_rate([(int(b or 0), dec(rate)) for b, rate in rules])


@dataclass(frozen=True)
class PriceFacts:
    """The shop-wide facts of the public price: the visitor (`pricing.Visitor`), each active tax
    rules group's rate in the default country ({} when PS_TAX = 0), the ecotax's rate, the Visitor
    group's own reduction (a fraction), whether features show (PS_FEATURE_FEATURE_ACTIVE) and
    whether image URLs are friendly (PS_REWRITING_SETTINGS)."""

    visitor: Visitor
    tax_rates: Mapping[int, Decimal]
    ecotax_rate: Decimal = Decimal(0)
    group_reduction: Decimal = Decimal(0)
    group_reductions_active: bool = True
    features: bool = True
    friendly_urls: bool = False


def price_facts(config: Mapping[str, str], id_shop: int, rules: Mapping[int, list[tuple[int, Any]]],
                group_reduction: Any = None) -> PriceFacts:
    """PriceFacts from the shop's configuration values (`Configuration::get` for the shop),
    its tax rules in the default country that apply without an address (grouped by tax rules
    group, most specific first) and the Visitor group's `ps_group.reduction` (percent).
    A missing key is PrestaShop's installed default (a feature flag: on; round mode: half up)."""
    def number(name: str, default: int) -> int:
        value = (config.get(name) or "").strip()
        return int(value) if value.lstrip("-").isdigit() else default

    taxes = config.get(TAX_KEY, "1") != "0"
    rates = {group: tax_rate(group_rules) for group, group_rules in rules.items()} if taxes else {}
    visitor = Visitor(
        id_shop=id_shop, id_currency=number("PS_CURRENCY_DEFAULT", 0), id_country=number(COUNTRY_KEY, 0),
        id_group=number("PS_UNIDENTIFIED_GROUP", 1),
        priorities=pricing.parse_priorities(config.get("PS_SPECIFIC_PRICE_PRIORITIES")),
        round_mode=number("PS_PRICE_ROUND_MODE", pricing.HALF_UP),
        specific_prices=number("PS_SPECIFIC_PRICE_FEATURE_ACTIVE", 1) != 0)
    groups = number("PS_GROUP_FEATURE_ACTIVE", 1) != 0
    return PriceFacts(
        visitor=visitor, tax_rates=rates,
        ecotax_rate=rates.get(number("PS_ECOTAX_TAX_RULES_GROUP_ID", 0), Decimal(0)),
        group_reduction=dec(group_reduction) / 100 if groups else Decimal(0), group_reductions_active=groups,
        features=number("PS_FEATURE_FEATURE_ACTIVE", 1) != 0,
        friendly_urls=number("PS_REWRITING_SETTINGS", 0) == 1)


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
    # pid -> its candidate specific prices; 0 -> those for every product
    sales: dict[int, list[SpecificPrice]] = field(default_factory=dict)
    priorities: dict[int, tuple[str, ...]] = field(default_factory=dict)  # pid -> its own priority order
    group_reductions: dict[tuple[int, int], Decimal] = field(default_factory=dict)  # (pid, group) -> fraction
    # id_product_attribute -> (ecotax, default_on) in this shop, as the driver gives them
    combination_prices: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    invalid: dict[int, tuple[str, Any, str]] = field(default_factory=dict)  # pid -> InvalidValue's arguments
    at: datetime | None = None  # the shop's local time the specific prices are chosen for (None: any)


DENSE = 2  # a batch whose ids span at most this many times their number is read by range alone


def in_range(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """The batch's products by their id range (`first`, `last`): one range of each table's
    product key, so the plan does not depend on the statistics or on an IN list's size
    (MariaDB rewrites an IN list of 1000 values into a join)."""
    return column.between(sa.bindparam("first"), sa.bindparam("last"))


def in_range_and_list(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """The range, and the ids themselves (`ids`), for a batch with wide gaps between its ids."""
    return sa.and_(in_range(column), column.in_(sa.bindparam("ids", expanding=True)))


def unkeyed(column: sa.ColumnElement) -> sa.ColumnElement:
    """`column + 0`: a condition no index is chosen for. Without statistics (a shop's SQLite file,
    a fresh MariaDB table) SQLite takes an equality on any indexed column as selective, and read
    the whole of ps_image_shop by its id_shop key (id_shop = 1 is every row) and ps_specific_price
    by id_cart = 0 at every batch rather than the batch's range of id_product."""
    return column + 0


LIST_MAX = 500  # ids per IN list: MariaDB makes a list of 1000 (in_predicate_conversion_threshold) a join


def batch_parts(ids: Sequence[int], most: int) -> Iterator[tuple[bool, dict[str, Any]]]:
    """(sparse, the statements' values) per read of a batch of ascending `ids`, at most `most` ids
    each. A dense part is read by its range alone (`in_range`; rows of products in its gaps are
    read and not used); a sparse one by its range and its list (`in_range_and_list`), at most
    LIST_MAX ids a read, so that no IN list is rewritten into a join of a whole table."""
    for start in range(0, len(ids), most):
        chunk = ids[start:start + most]
        if chunk[-1] - chunk[0] < DENSE * len(chunk):
            yield False, {"first": chunk[0], "last": chunk[-1]}
            continue
        for at in range(0, len(chunk), LIST_MAX):
            part = chunk[at:at + LIST_MAX]
            sparse = part[-1] - part[0] >= DENSE * len(part)
            yield sparse, {"first": part[0], "last": part[-1], **({"ids": list(part)} if sparse else {})}


class ListingReads:
    """The listing's statements for one shop; `id_lang` is the connection's language (a combination
    image needs a legend row in it, as `Product::getCombinationImages` reads them). `within` picks
    a batch's rows of a product key column: `in_range` or `in_range_and_list`."""

    def __init__(self, t: ShopTables, id_shop: int, dialect: sa.Dialect, id_lang: int = 1,
                 within: Callable[[sa.ColumnElement], sa.ColumnElement[bool]] = in_range):
        self.t, self.id_shop = t, id_shop
        s = id_shop
        pl, img, ish, il = t.product_lang, t.image, t.image_shop, t.image_lang
        self.texts = Prepared(
            sa.select(pl.c.id_product, pl.c.id_lang, pl.c.name, pl.c.description_short, pl.c.description,
                      pl.c.link_rewrite)
            .where(within(pl.c.id_product), pl.c.id_shop == s)
            .order_by(pl.c.id_product, pl.c.id_lang), dialect)
        self.images = Prepared(
            sa.select(img.c.id_product, img.c.id_image, img.c.position, ish.c.cover, il.c.id_lang,
                      il.c.legend)
            .join(ish, sa.and_(ish.c.id_image == img.c.id_image, unkeyed(ish.c.id_shop) == s))
            .outerjoin(il, il.c.id_image == img.c.id_image)
            .where(within(img.c.id_product))
            .order_by(img.c.id_product, img.c.position, img.c.id_image, il.c.id_lang), dialect)
        pa, pai = t.product_attribute, t.product_attribute_image
        # Product::getCombinationImages: the images of each combination by their position
        self.combination_images = Prepared(
            sa.select(pai.c.id_product_attribute, pai.c.id_image)
            .join(pa, pa.c.id_product_attribute == pai.c.id_product_attribute)
            .join(img, img.c.id_image == pai.c.id_image)
            .join(il, sa.and_(il.c.id_image == pai.c.id_image, il.c.id_lang == id_lang))
            .where(within(pa.c.id_product))
            .order_by(pai.c.id_product_attribute, img.c.position, pai.c.id_image), dialect)
        cp = t.category_product
        self.categories = Prepared(
            sa.select(cp.c.id_product, cp.c.id_category).where(within(cp.c.id_product))
            .order_by(cp.c.id_product, cp.c.id_category), dialect)
        fp, f, fs = t.feature_product, t.feature, t.feature_shop
        fl, fvl = t.feature_lang, t.feature_value_lang
        # Product::getFrontFeaturesStatic: the features of this shop (ps_feature_shop), by position
        self.features = Prepared(
            sa.select(fp.c.id_product, fl.c.id_lang, fl.c.name, fvl.c.value)
            .join(f, f.c.id_feature == fp.c.id_feature)
            .join(fs, sa.and_(fs.c.id_feature == fp.c.id_feature, fs.c.id_shop == s))
            .join(fl, fl.c.id_feature == fp.c.id_feature)
            .join(fvl, sa.and_(fvl.c.id_feature_value == fp.c.id_feature_value,
                               fvl.c.id_lang == fl.c.id_lang))
            .where(within(fp.c.id_product))
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
            .where(within(pa.c.id_product))
            .order_by(pa.c.id_product_attribute, al.c.id_lang, group.c.position, a.c.id_attribute_group,
                      a.c.position), dialect)
        sp = t.specific_price
        # the candidates of any anonymous visitor of this shop (no cart, no customer, one unit);
        # currency, country, group and dates are decided by pricing.choose_specific_price. The
        # batch's own and the catalogue-wide ones (id_product 0) are two selects: under one OR,
        # MariaDB reads the whole table once the batch's list is turned into a join
        def sales(which: sa.ColumnElement[bool]) -> sa.Select:
            shop = unkeyed(sp.c.id_shop)
            return sa.select(*(sp.c[name] for name in SALE_COLUMNS)).where(
                which, sa.or_(shop == 0, shop == s), unkeyed(sp.c.id_cart) == 0,
                unkeyed(sp.c.id_customer) == 0, unkeyed(sp.c.from_quantity) <= 1)
        self.sales = Prepared(
            sa.union_all(sales(within(sp.c.id_product)), sales(sp.c.id_product == 0))
            .order_by(sa.literal_column("id_product"), sa.literal_column("id_specific_price")), dialect)
        spp = t.specific_price_priority
        self.priorities = Prepared(
            sa.select(spp.c.id_product, spp.c.priority).where(within(spp.c.id_product))
            .order_by(spp.c.id_product, spp.c.id_specific_price_priority.desc()), dialect)
        gr = t.product_group_reduction_cache
        self.group_reductions = Prepared(
            sa.select(gr.c.id_product, gr.c.id_group, gr.c.reduction).where(within(gr.c.id_product))
            .order_by(gr.c.id_product, gr.c.id_group), dialect)
        pas = t.product_attribute_shop
        self.combination_prices = Prepared(
            sa.select(pas.c.id_product_attribute, pas.c.ecotax, pas.c.default_on)
            .where(within(pas.c.id_product), pas.c.id_shop == s)
            .order_by(pas.c.id_product_attribute), dialect)

    def read(self, conn: sa.Connection, values: dict[str, Any], languages: dict[int, str],
             at: datetime | None, rows: Callable[..., list[tuple]]) -> Extras:
        """The batch's listing data; `values` are those of one of `batch_parts`; `languages` maps the
        shop's active id_lang to its iso code; `at` (the shop's local time) decides which specific
        prices are current; `rows(conn, statement, **values)` runs a statement (shop.shop_rows:
        broken UTF-8 read as U+FFFD). Rows of products outside the batch (a dense batch's gaps)
        may be in the result: callers look products up by id."""
        found = {name: rows(conn, getattr(self, name), **values) for name in STATEMENTS}
        return assemble(found, languages, at)


STATEMENTS = ("texts", "images", "combination_images", "categories", "features", "attributes", "sales",
              "priorities", "group_reductions", "combination_prices")
SALE_COLUMNS = ("id_specific_price", "id_specific_price_rule", "id_product", "id_product_attribute",
                "id_shop", "id_currency", "id_country", "id_group", "id_customer", "id_cart", "from_quantity",
                "price", "reduction", "reduction_tax", "reduction_type", "from", "to")


def assemble(rows: dict[str, list[tuple]], languages: dict[int, str], at: datetime | None) -> Extras:
    """A batch's Extras from the rows of each of STATEMENTS (columns and order as ListingReads
    selects them), whoever read them (the bench's raw limit reads the same rows). `at` is when
    the prices are for: the specific prices are chosen per item by `pricing`."""
    out = Extras(at=at)
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
    for row in rows["sales"]:
        try:
            sale = specific_price(row)
        except (ArithmeticError, ValueError, TypeError):  # a value no price can be computed from
            out.invalid[int(row[2])] = (f"specific price {row[0]}", _first_bad(row), "is not a number")
            continue
        out.sales.setdefault(sale.id_product, []).append(sale)
    for pid, priority in rows["priorities"]:
        out.priorities.setdefault(int(pid), pricing.parse_priorities(priority))
    for pid, group, reduction in rows["group_reductions"]:
        out.group_reductions[(int(pid), int(group))] = dec(reduction)
    for pa, ecotax, default_on in rows["combination_prices"]:
        out.combination_prices[int(pa)] = (ecotax, default_on)
    return out


def specific_price(row: Sequence[Any]) -> SpecificPrice:
    """A row of SALE_COLUMNS as a pricing.SpecificPrice (price -1 or less: None, "keep the
    product's price"; an unknown reduction type counts as an amount, as PrestaShop's `else`)."""
    (id_sp, rule, pid, pa, shop, currency, country, group, customer, cart, quantity, price, reduction,
     reduction_tax, kind, start, end) = row
    price = None if price is None or dec(price) < 0 else dec(price)
    return SpecificPrice(
        id_specific_price=int(id_sp), id_specific_price_rule=int(rule or 0), id_product=int(pid),
        id_product_attribute=int(pa or 0), id_shop=int(shop or 0), id_currency=int(currency or 0),
        id_country=int(country or 0), id_group=int(group or 0), id_customer=int(customer or 0),
        id_cart=int(cart or 0), from_quantity=int(quantity or 0), price=price, reduction=dec(reduction),
        reduction_tax=bool(reduction_tax), reduction_type="percentage" if kind == "percentage" else "amount",
        start=moment(start), end=moment(end))


def _first_bad(row: Sequence[Any]) -> Any:
    """The value of a specific price row that is not a number (its price, else its reduction)."""
    for value in (row[11], row[12]):
        try:
            dec(value)
        except (ArithmeticError, ValueError, TypeError):
            return value
    return row[11]


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


def read_price_facts(conn: sa.Connection, t: ShopTables, id_shop: int) -> PriceFacts:
    """The shop's PriceFacts: its configuration, the tax rules of its default country that apply
    without an address (`TaxRulesTaxManager::getTaxCalculator`: active groups, state 0, a zip
    range that admits no postcode; most specific first), the Visitor group's reduction."""
    config = configuration(conn, t, id_shop, PRICE_KEYS)
    country = (config.get(COUNTRY_KEY) or "").strip()
    tr, trg, tax = t.tax_rule, t.tax_rules_group, t.tax
    found = conn.execute(
        sa.select(tr.c.id_tax_rules_group, tr.c.behavior, tax.c.rate, tr.c.id_state, tr.c.zipcode_from,
                  tr.c.zipcode_to, tr.c.id_tax_rule)
        .join(trg, sa.and_(trg.c.id_tax_rules_group == tr.c.id_tax_rules_group, trg.c.active == 1))
        .join(tax, tax.c.id_tax == tr.c.id_tax)
        .where(tr.c.id_country == (int(country) if country.isdigit() else -1), tr.c.id_state == 0)).all()
    group = t.group
    visitor_group = (config.get("PS_UNIDENTIFIED_GROUP") or "1").strip()
    reduction = conn.execute(sa.select(group.c.reduction).where(
        group.c.id_group == (int(visitor_group) if visitor_group.isdigit() else 1))).scalar()
    return price_facts(config, id_shop, tax_rules(found), reduction)


def tax_rules(rows: Sequence[Sequence[Any]]) -> dict[int, list[tuple[int, Any]]]:
    """(id_tax_rules_group, behavior, rate, id_state, zipcode_from, zipcode_to, id_tax_rule) rows of
    one country as (behavior, rate) lists per group: those that apply without an address, most
    specific first (zip codes descending, as text), in creation order on a tie."""
    kept = [r for r in rows if pricing.rule_matches_no_address(int(r[3] or 0), r[4], r[5])]
    kept.sort(key=lambda r: int(r[6]))
    kept.sort(key=lambda r: ((r[4] or "").strip(), (r[5] or "").strip()), reverse=True)
    rules: dict[int, list[tuple[int, Any]]] = {}
    for r in kept:
        rules.setdefault(int(r[0]), []).append((int(r[1] or 0), r[2]))
    return rules


def configuration(conn: sa.Connection, t: ShopTables, id_shop: int, names: Sequence[str]) -> dict[str, str]:
    """Configuration values as PrestaShop's Configuration::get reads them for a shop: the shop's
    own row, else its group's, else the global one (NULL shop and group)."""
    c, shop = t.configuration, t.shop
    group = conn.execute(sa.select(shop.c.id_shop_group).where(shop.c.id_shop == id_shop)).scalar()
    rows = conn.execute(sa.select(c.c.name, c.c.id_shop, c.c.id_shop_group, c.c.value)
                        .where(c.c.name.in_(names)))
    return pick_configuration(rows, id_shop, group)


def pick_configuration(rows, id_shop: int, id_shop_group: int | None) -> dict[str, str]:
    """(name, id_shop, id_shop_group, value) rows -> name: the value Configuration::get gives."""
    out: dict[str, tuple[int, str]] = {}
    for name, row_shop, row_group, value in rows:
        rank = 2 if row_shop == id_shop else 1 if row_group == id_shop_group and not row_shop else \
            0 if not row_shop and not row_group else -1
        if rank >= 0 and (name not in out or rank > out[name][0]):
            out[name] = (rank, value or "")
    return {name: value for name, (_, value) in out.items()}
