"""PrestaShop's price rules (connectors/prestashop/pricing.py), one table row per rule, each naming
the PrestaShop method it mirrors. The pure rules first; then every rule set up in a real shop (SQLite
and MariaDB) and read back through the connector, its expected prices computed here from the rule
itself with exact decimals. Last, a slow property test: 300,000 random tax-included prices against
an exact reference."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa

from connectors.prestashop import PrestaShop, create_demo_shop
from connectors.prestashop import pricing as p
from tests.conftest import MARIADB_SERVER, _mariadb_reachable
from tests.helpers import execute, raw

D = Decimal
NOW = datetime(2026, 11, 29, 12, 0, 30)  # the shop's local time of the export
ZERO = "0000-00-00 00:00:00"


def r6(value) -> Decimal:
    """Half up at 6 decimals: PrestaShop's default PS_PRICE_ROUND_MODE at its compute precision."""
    return D(value).quantize(D("0.000001"), rounding=ROUND_HALF_UP)


# -- pure rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, mode, expected", [
    ("1.0000005", p.HALF_UP, "1.000001"),
    ("-1.0000005", p.HALF_UP, "-1.000001"),  # away from zero, as PHP's round
    ("1.0000005", p.HALF_DOWN, "1.000000"),
    ("1.0000005", p.HALF_EVEN, "1.000000"),
    ("1.0000015", p.HALF_EVEN, "1.000002"),
    ("1.0000005", p.HALF_ODD, "1.000001"),
    ("1.0000015", p.HALF_ODD, "1.000001"),
    ("1.0000011", p.ROUND_UP, "1.000002"),  # Tools::ceilf
    ("-1.0000019", p.ROUND_DOWN, "-1.000002"),  # Tools::floorf
    ("1.0000005", 9, "1.000001"),  # an unknown mode: PrestaShop's default branch, half up
], ids=lambda v: str(v))
def test_tools_ps_round(value, mode, expected):
    """Tools::ps_round with each PS_PRICE_ROUND_MODE."""
    assert p.ps_round(D(value), 6, mode) == D(expected)


@pytest.mark.parametrize("rules, rate", [
    ([], "0"),
    ([(0, D("20"))], "20"),  # TaxCalculator: one tax
    ([(0, D("20")), (1, D("5"))], "20"),  # the first rule's behavior 0: this tax only
    ([(1, D("5")), (1, D("9.975"))], "14.975"),  # COMBINE_METHOD: rates added
    ([(2, D("10")), (2, D("10"))], "21"),  # ONE_AFTER_ANOTHER_METHOD: compounded
    ([(2, D("5")), (2, D("9.975"))], "15.47375"),  # never rounded
    ([(1, D("-5")), (1, D("10"))], "15"),  # rates count as their absolute value
])
def test_tax_calculator_get_total_rate(rules, rate):
    """TaxCalculator::getTotalRate over TaxRulesTaxManager's rules."""
    assert p.total_tax_rate(rules) == D(rate)


@pytest.mark.parametrize("state, zip_from, zip_to, applies", [
    (0, "0", "0", True),
    (0, "", "", True),
    (0, "0", "", True),
    (12, "0", "0", False),  # a state's rule: the public address has no state
    (0, "75000", "75999", False),  # a zip code range
    (0, "75001", "0", False),  # one zip code
    (0, "0", "99999", True),  # a range that contains PrestaShop's postcode "0"
])
def test_tax_rules_tax_manager_without_an_address(state, zip_from, zip_to, applies):
    """TaxRulesTaxManager::getTaxCalculator for the default country, no state, no postcode."""
    assert p.rule_matches_no_address(state, zip_from, zip_to) is applies


# -- every rule in a real shop ----------------------------------------------------------------------


@dataclass
class Ctx:
    """One row's product (and its two first combinations), the SQL quoting of its backend."""

    pid: int
    pa1: int = 0
    pa2: int = 0
    quote: str = '"'


@dataclass
class Rule:
    name: str
    method: str  # the PrestaShop method the row mirrors
    setup: object  # Ctx -> list of SQL statements
    expect: object  # Ctx -> {target: (regular excl, regular incl, sale excl, sale incl)}
    varied: bool = False  # needs a product with combinations
    shop: int = 1
    extra: dict = field(default_factory=dict)


def sp(ctx: Ctx, **values) -> str:
    """An INSERT of a ps_specific_price row for the row's product (PrestaShop's defaults otherwise)."""
    row = {"id_specific_price_rule": 0, "id_cart": 0, "id_product": ctx.pid, "id_shop": 0, "id_shop_group": 0,
           "id_currency": 0, "id_country": 0, "id_group": 0, "id_customer": 0, "id_product_attribute": 0,
           "price": -1, "from_quantity": 1, "reduction": 0, "reduction_tax": 1,
           "reduction_type": "percentage", "from": ZERO, "to": ZERO, **values}
    q = ctx.quote
    names = ", ".join(f"{q}{k}{q}" for k in row)
    return f"INSERT INTO ps_specific_price ({names}) VALUES ({', '.join(repr(v) for v in row.values())})"


def price(ctx: Ctx, value, shop: int = 1) -> str:
    return f"UPDATE ps_product_shop SET price = {value} WHERE id_product = {ctx.pid} AND id_shop = {shop}"


def tax_group(ctx: Ctx, group: int) -> str:
    return f"UPDATE ps_product_shop SET id_tax_rules_group = {group} WHERE id_product = {ctx.pid}"


def impacts(ctx: Ctx, first, second) -> list[str]:
    return [f"UPDATE ps_product_attribute_shop SET price = {first} WHERE id_product_attribute = {ctx.pa1}",
            f"UPDATE ps_product_attribute_shop SET price = {second} WHERE id_product_attribute = {ctx.pa2}"]


def plain(excl, tax=D(20), sale=None):  # noqa: B008 (a Decimal is immutable)
    """Expected (regular excl, regular incl, sale excl, sale incl) of a price `excl` taxed at
    `tax` percent, `sale` being a function of (price, with_tax) giving the sale price unrounded."""
    regular = (r6(excl), r6(D(excl) * (1 + tax / 100)))
    if sale is None:
        return (*regular, None, None)
    return (*regular, r6(sale(D(excl), False)), r6(sale(D(excl), True)))


def off(fraction):
    return lambda base, taxed: base * (1 + D(20) / 100 if taxed else 1) * (1 - D(fraction))


RULES = [
    Rule("percentage", "Product::priceCalculation (reduction_type percentage)",
         lambda c: [price(c, 100), sp(c, reduction=0.15)],
         lambda c: {"product": plain(100, sale=off("0.15"))}),
    Rule("amount tax included", "Product::priceCalculation (amount, reduction_tax 1: removeTaxes when excl)",
         lambda c: [price(c, 100), sp(c, reduction=6, reduction_type="amount")],
         lambda c: {"product": plain(100, sale=lambda b, t: b * D("1.2") - 6 if t else b - D(6) / D("1.2"))}),
    Rule("amount tax excluded", "Product::priceCalculation (amount, reduction_tax 0: addTaxes when incl)",
         lambda c: [price(c, 100), sp(c, reduction=7, reduction_type="amount", reduction_tax=0)],
         lambda c: {"product": plain(100, sale=lambda b, t: (b - 7) * (D("1.2") if t else 1))}),
    Rule("fixed price",
         "Product::priceCalculation (specific price's own price; getPriceWithoutReduct keeps it)",
         lambda c: [price(c, 100), sp(c, price=24)],
         lambda c: {"product": (r6(24), r6(D(24) * D("1.2")), r6(24), r6(D(24) * D("1.2")))}),
    Rule("fixed price plus the combination's impact", "Product::priceCalculation (attribute price added)",
         lambda c: [price(c, 29), *impacts(c, 0, 20), sp(c, price=24)],
         lambda c: {c.pa2: (r6(44), r6(D(44) * D("1.2")), r6(44), r6(D(44) * D("1.2"))),
                    c.pa1: (r6(24), r6(D(24) * D("1.2")), r6(24), r6(D(24) * D("1.2")))}, varied=True),
    Rule("the combination's own fixed price", "Product::priceCalculation (no impact on its own price)",
         lambda c: [price(c, 29), *impacts(c, 0, 20), sp(c, price=30, id_product_attribute=c.pa2)],
         lambda c: {c.pa2: (r6(30), r6(36), r6(30), r6(36)), c.pa1: plain(29)}, varied=True),
    Rule("the combination's own before the product's",
         "SpecificPrice::getSpecificPrice (id_product_attribute DESC)",
         lambda c: [price(c, 40), *impacts(c, 0, 10), sp(c, reduction=0.1),
                    sp(c, reduction=0.5, id_product_attribute=c.pa2)],
         lambda c: {c.pa2: plain(50, sale=off("0.5")), c.pa1: plain(40, sale=off("0.1"))}, varied=True),
    Rule("priority: country before group", "SpecificPrice::_getScoreQuery (PS_SPECIFIC_PRICE_PRIORITIES)",
         lambda c: [price(c, 100), sp(c, id_group=1, reduction=0.1), sp(c, id_country=8, reduction=0.2)],
         lambda c: {"product": plain(100, sale=off("0.2"))}),
    Rule("the product's own priorities", "SpecificPrice::getPriority (ps_specific_price_priority)",
         lambda c: [price(c, 100), sp(c, id_group=1, reduction=0.1), sp(c, id_country=8, reduction=0.2),
                    "INSERT INTO ps_specific_price_priority (id_specific_price_priority, id_product, "
                    f"priority) VALUES (1, {c.pid}, 'id_group;id_country;id_currency;id_shop')"],
         lambda c: {"product": plain(100, sale=off("0.1"))}),
    Rule("score: this shop before all shops", "SpecificPrice::_getScoreQuery (id_shop)",
         lambda c: [price(c, 100), sp(c, id_shop=0, reduction=0.15), sp(c, id_shop=1, reduction=0.05)],
         lambda c: {"product": plain(100, sale=off("0.05"))}),
    Rule("one unit before none", "SpecificPrice::getSpecificPrice (from_quantity DESC)",
         lambda c: [price(c, 100), sp(c, from_quantity=0, id_shop=1, reduction=0.3), sp(c, reduction=0.1)],
         lambda c: {"product": plain(100, sale=off("0.1"))}),
    Rule("manual rows before catalog price rules",
         "SpecificPrice::getSpecificPrice (id_specific_price_rule ASC)",
         lambda c: [price(c, 100), sp(c, id_specific_price_rule=7, id_shop=1, reduction=0.3),
                    sp(c, reduction=0.1)],
         lambda c: {"product": plain(100, sale=off("0.1"))}),
    Rule("dated before undated", "SpecificPrice::getSpecificPrice (to DESC, from DESC)",
         lambda c: [price(c, 100), sp(c, reduction=0.1),
                    sp(c, reduction=0.25, **{"from": "2026-11-27 00:00:00", "to": "2026-12-03 23:59:59"})],
         lambda c: {"product": plain(100, sale=off("0.25"))}),
    Rule("sales not started or over are ignored", "SpecificPrice::computeExtraConditions (from, to)",
         lambda c: [price(c, 100), sp(c, reduction=0.1),
                    sp(c, reduction=0.4, **{"from": "2026-11-29 12:01:00", "to": ZERO}),
                    sp(c, reduction=0.35, **{"from": ZERO, "to": "2026-11-29 11:59:59"})],
         lambda c: {"product": plain(100, sale=off("0.1"))}),
    Rule("the Visitor group's price", "Group::getCurrent (PS_UNIDENTIFIED_GROUP)",
         lambda c: [price(c, 100), sp(c, id_group=3, reduction=0.5), sp(c, id_group=1, reduction=0.12)],
         lambda c: {"product": plain(100, sale=off("0.12"))}),
    Rule("the default country's price", "Address::initialize (PS_COUNTRY_DEFAULT)",
         lambda c: [price(c, 100), sp(c, id_country=6, reduction=0.5), sp(c, id_country=8, reduction=0.08)],
         lambda c: {"product": plain(100, sale=off("0.08"))}),
    Rule("the default currency's price", "Tools::convertPrice (PS_CURRENCY_DEFAULT)",
         lambda c: [price(c, 100), sp(c, id_currency=2, reduction=0.5), sp(c, id_currency=1, price=80)],
         lambda c: {"product": (r6(80), r6(96), r6(80), r6(96))}),
    Rule("quantity discounts are not the public price",
         "SpecificPrice::getSpecificPrice (from_quantity <= 1)",
         lambda c: [price(c, 100), sp(c, from_quantity=3, reduction=0.2)],
         lambda c: {"product": plain(100)}),
    Rule("customer and cart prices are not the public price", "SpecificPrice::computeExtraConditions",
         lambda c: [price(c, 100), sp(c, id_customer=5, reduction=0.5), sp(c, id_cart=9, reduction=0.5)],
         lambda c: {"product": plain(100)}),
    Rule("tax included from the unrounded tax excluded",
         "Product::priceCalculation (one ps_round at the end)",
         lambda c: [price(c, "28.833333"), sp(c, reduction=0.2)],
         lambda c: {"product": plain(D("28.833333"), sale=off("0.2"))}),
    Rule("ecotax", "Product::priceCalculation (ecotax, PS_ECOTAX_TAX_RULES_GROUP_ID)",
         lambda c: [price(c, 100), f"UPDATE ps_product_shop SET ecotax = 2 WHERE id_product = {c.pid}"],
         lambda c: {"product": (r6(102), r6(D("122.4")), None, None)}),
    Rule("group reduction", "GroupReduction::getValueForProduct (ps_product_group_reduction_cache)",
         lambda c: [price(c, 100), "INSERT INTO ps_product_group_reduction_cache (id_product, id_group, "
                                   f"reduction) VALUES ({c.pid}, 1, 0.05)"],
         lambda c: {"product": (r6(95), r6(114), None, None)}),
    Rule("zip code and state rules never apply",
         "TaxRulesTaxManager::getTaxCalculator (no state, no postcode)",
         lambda c: [price(c, 100), tax_group(c, 3)],
         lambda c: {"product": plain(100, tax=D("5.5"))}),
    Rule("combined taxes", "TaxCalculator::getTotalRate (behavior 1)",
         lambda c: [price(c, 100), tax_group(c, 4)],
         lambda c: {"product": plain(100, tax=D("14.975"))}),
    Rule("the shop's own default country", "Configuration::get (PS_COUNTRY_DEFAULT of the shop)",
         lambda c: [price(c, 100, shop=2)], lambda c: {"product": plain(100, tax=D(21))}, shop=2),
]

SHOP_WIDE = [  # taxes the rows above use, and the outlet's own country (the last row)
    "INSERT INTO ps_tax (id_tax, rate, active, deleted) VALUES (3, 10, 1, 0), (4, 7, 1, 0), (5, 5, 1, 0), "
    "(6, 9.975, 1, 0), (7, 21, 1, 0)",
    "INSERT INTO ps_tax_rules_group (id_tax_rules_group, name, active, deleted, date_add, date_upd) VALUES "
    "(3, 'Reduced, with local rules', 1, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00'), "
    "(4, 'Combined', 1, 0, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    "INSERT INTO ps_tax_rule (id_tax_rules_group, id_country, id_state, zipcode_from, zipcode_to, id_tax, "
    "behavior, description) VALUES "
    "(3, 8, 0, '75000', '75999', 3, 0, 'Paris'), (3, 8, 12, '0', '0', 4, 0, 'a state'), "
    "(3, 8, 0, '0', '0', 2, 0, 'reduced'), "
    "(4, 8, 0, '0', '0', 5, 1, 'first'), (4, 8, 0, '0', '0', 6, 1, 'second'), "
    "(1, 6, 0, '0', '0', 7, 0, 'Spain')",
    "INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) "
    "VALUES (NULL, 2, 'PS_COUNTRY_DEFAULT', '6', '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
]


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def rules_url(request, tmp_path_factory):
    """A two-shop demo shop of 120 products on each backend, for the whole module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('rules') / 'shop.db'}"
        create_demo_shop(url, products=120, shops=2)
        yield url
        return
    why = _mariadb_reachable()
    if why:
        pytest.skip(f"MariaDB not reachable at {MARIADB_SERVER}: {why}")
    name = "hb_test_rules_" + uuid.uuid4().hex[:8]
    server = sa.create_engine(MARIADB_SERVER)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        url = f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
        create_demo_shop(url, products=120, shops=2)
        yield url
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        server.dispose()


@pytest.fixture(scope="module")
def exported(rules_url):
    """Each rule's Ctx and product as the connector exports it, every rule set up in one shop on a
    product of its own (no demo sale on it)."""
    varied = sorted({pid for (pid,) in raw(rules_url, "SELECT id_product FROM ps_product_attribute")})
    free = [pid for pid in range(1, 121) if pid % 20 and pid not in varied]
    quote = '"' if rules_url.startswith("sqlite") else "`"
    contexts, statements = {}, list(SHOP_WIDE)
    for rule in RULES:
        if rule.varied:
            pid = varied.pop(0)
            pas = [pa for (pa,) in raw(rules_url, "SELECT id_product_attribute FROM ps_product_attribute "
                                                  f"WHERE id_product = {pid} ORDER BY id_product_attribute")]
            ctx = Ctx(pid, pas[0], pas[1], quote)
        else:
            pid = next(x for x in free if rule.shop == 1 or x % 2 == 0)
            free.remove(pid)
            ctx = Ctx(pid, quote=quote)
        contexts[rule.name] = ctx
        statements += rule.setup(ctx)
    execute(rules_url, *statements)
    out = {}
    for shop in (1, 2):
        ids = [contexts[r.name].pid for r in RULES if r.shop == shop]
        with PrestaShop(rules_url, id_shop=shop) as reader:
            found = reader.read_products(ids, at=NOW)
        out.update({r.name: (contexts[r.name], found[contexts[r.name].pid]) for r in RULES if r.shop == shop})
    return out


def prices_of(record: dict) -> tuple:
    """(regular excl, regular incl, sale excl, sale incl) of an exported product or combination."""
    sale = record["specific_price"]
    regular_excl = record.get("price_tax_excl")
    return (D(regular_excl) if regular_excl is not None else None, D(record["price_tax_incl"]),
            D(sale["price_tax_excl"]) if sale else None, D(sale["price_tax_incl"]) if sale else None)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_prestashop_rule(rule, exported):
    ctx, product = exported[rule.name]
    for target, expected in rule.expect(ctx).items():
        if target == "product":
            got = prices_of(product)
            expected = (None, *expected[1:])  # a product carries its stored price, not a computed excl
        else:
            got = prices_of(next(c for c in product["combinations"] if c["id_product_attribute"] == target))
        assert got == expected, f"{rule.method}: {target}"


# -- the tax-included price, exactly ---------------------------------------------------------------


@pytest.mark.slow
def test_tax_included_prices_equal_an_exact_reference():
    """300,000 random prices, tax rates and percentage reductions: the tax-included price
    (`Product::priceCalculation` with taxes, before and after the reduction) equals the exact
    product computed in integers and rounded half up once, at 6 decimals."""
    rng = random.Random(24)
    rates = [D("20"), D("5.5"), D("21"), D("14.975"), D("7.7"), D("0"), D("19.6"), D("2.1"), D("8.125")]
    for _ in range(300_000):
        micro, rate, percent = rng.randrange(0, 10**10), rates[rng.randrange(len(rates))], rng.randrange(100)
        item = p.PriceInputs(price=D(micro).scaleb(-6), tax_rate=rate)
        sale = p.SpecificPrice(1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, None, D(percent) / 100, True, "percentage",
                               None, None)
        regular = p.price_calculation(item, None, use_tax=True)
        reduced = p.price_calculation(item, sale, use_tax=True)
        taxed = micro * (100_000 + int(rate * 1000))  # in 10^-6 x 10^-5 units
        assert regular == _half_up(taxed, 100_000), (micro, rate)
        assert reduced == _half_up(taxed * (100 - percent), 100_000 * 100), (micro, rate, percent)


def _half_up(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator micro-units, rounded half up, as a Decimal with 6 decimals."""
    whole, rest = divmod(numerator, denominator)
    return D(whole + (2 * rest >= denominator)).scaleb(-6)
