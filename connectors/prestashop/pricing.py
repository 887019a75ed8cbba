"""PrestaShop's price rules, ported: what an anonymous visitor of a shop is shown.

The **public price** of a product or combination is what PrestaShop 8.1's `Product::getPriceStatic`
returns on the shop's front office for a visitor who is not logged in: the Visitor group
(`PS_UNIDENTIFIED_GROUP`), the shop's default country (`PS_COUNTRY_DEFAULT`, no state, no postcode)
and default currency (`PS_CURRENCY_DEFAULT`), quantity 1, no cart, no customer, computed at
`COMPUTE_PRECISION` decimals and rounded by `PS_PRICE_ROUND_MODE`.

Every value is a `Decimal` and every step exact (but a tax removed from an amount, a division,
which keeps 28 significant digits): PrestaShop computes in PHP floats and rounds once at the end
(`Tools::ps_round`, whose half-up rounding is designed to give the decimal answer), so the exact
decimal result is the one PrestaShop means. Nothing here reads a database: `listing.py` reads the
rows, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

COMPUTE_PRECISION = 6  # _PS_PRICE_COMPUTE_PRECISION_, and getPriceStatic's default $decimals
# PS_PRICE_ROUND_MODE values (config/defines.inc.php)
ROUND_UP, ROUND_DOWN, HALF_UP, HALF_DOWN, HALF_EVEN, HALF_ODD = range(6)
DEFAULT_PRIORITIES = ("id_shop", "id_currency", "id_country", "id_group")  # PS_SPECIFIC_PRICE_PRIORITIES
PRIORITY_FIELDS = frozenset(("id_customer", *DEFAULT_PRIORITIES))
_HUNDRED, _ZERO, _ONE = Decimal(100), Decimal(0), Decimal(1)


def ps_round(value: Decimal, precision: int = COMPUTE_PRECISION, mode: int = HALF_UP) -> Decimal:
    """`Tools::ps_round`: up (towards +infinity), down (towards -infinity), or to the nearest with
    ties up (away from zero), down (towards zero), to even or to odd. An unknown mode is half up,
    as PrestaShop's `default:` branch."""
    step = Decimal(1).scaleb(-precision)
    if mode == ROUND_UP:
        return value.quantize(step, rounding=ROUND_CEILING)
    if mode == ROUND_DOWN:
        return value.quantize(step, rounding=ROUND_FLOOR)
    if mode == HALF_DOWN:
        return value.quantize(step, rounding=ROUND_HALF_DOWN)
    if mode == HALF_EVEN:
        return value.quantize(step, rounding=ROUND_HALF_EVEN)
    if mode == HALF_ODD:
        even = value.quantize(step, rounding=ROUND_HALF_EVEN)
        if abs(value - even) * 2 != step:  # not a tie: the nearest is the nearest
            return even
        return even - step if even > value else even + step
    return value.quantize(step, rounding=ROUND_HALF_UP)


# -- taxes ---------------------------------------------------------------------------------------


def total_tax_rate(rules: Sequence[tuple[int, Decimal]]) -> Decimal:
    """The rate, in percent, of a tax rules group's matching rules (most specific first, as
    `TaxRulesTaxManager::getTaxCalculator` orders them), as `TaxCalculator::getTotalRate` gives it:
    the first rule's behavior decides how the taxes combine (0: that tax only, 1: rates added,
    2: one tax after another, compounded); a rule of behavior 0 ends the list. Rates count as their
    absolute value. Exact: never rounded."""
    if not rules:
        return _ZERO
    behavior, rates = rules[0][0], []
    for rule_behavior, rate in rules:
        rates.append(abs(Decimal(rate)))
        if rule_behavior == 0:
            break
    if behavior == 2:
        total = _ONE
        for rate in rates:
            total *= 1 + rate / _HUNDRED
        return (total - 1) * _HUNDRED
    return sum(rates, _ZERO)


def rule_matches_no_address(id_state: int, zipcode_from: str | None, zipcode_to: str | None) -> bool:
    """Whether a tax rule applies to the public price's address (the default country, no state,
    no postcode), as `TaxRulesTaxManager::getTaxCalculator` selects rules: state 0 only, and a
    postcode of "0" inside the rule's range compared as text, or a rule whose range is numerically
    0 to 0 (MySQL reads '' and '0' as 0). A rule for a state or a real zip code range never
    applies to the public price."""
    if id_state:
        return False
    low, high = (zipcode_from or "").strip(), (zipcode_to or "").strip()
    if low <= "0" <= high:
        return True
    return _leading_number(high) == 0 and _leading_number(low) == 0


def _leading_number(text: str) -> float:
    """What MySQL makes of a string compared with a number: its leading number, else 0."""
    digits = ""
    for char in text:
        if not (char.isdigit() or (char == "." and "." not in digits)):
            break
        digits += char
    try:
        return float(digits) if digits.strip(".") else 0.0
    except ValueError:
        return 0.0


def add_taxes(price: Decimal, rate: Decimal) -> Decimal:
    """`TaxCalculator::addTaxes`: price x (1 + rate / 100), unrounded."""
    return price * (1 + rate / _HUNDRED)


def remove_taxes(price: Decimal, rate: Decimal) -> Decimal:
    """`TaxCalculator::removeTaxes`: price / (1 + rate / 100), unrounded."""
    return price / (1 + rate / _HUNDRED)


# -- specific prices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """Who the public price is for (`Product::getPriceStatic` for an anonymous visitor)."""

    id_shop: int
    id_currency: int  # PS_CURRENCY_DEFAULT
    id_country: int  # PS_COUNTRY_DEFAULT
    id_group: int  # PS_UNIDENTIFIED_GROUP
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES  # PS_SPECIFIC_PRICE_PRIORITIES
    round_mode: int = HALF_UP  # PS_PRICE_ROUND_MODE
    specific_prices: bool = True  # PS_SPECIFIC_PRICE_FEATURE_ACTIVE

    @property
    def values(self) -> dict[str, int]:
        """Each priority field's value for this visitor (no customer: 0)."""
        return {"id_shop": self.id_shop, "id_currency": self.id_currency, "id_country": self.id_country,
                "id_group": self.id_group, "id_customer": 0}


@dataclass(frozen=True)
class SpecificPrice:
    """A `ps_specific_price` row. `price` is None for PrestaShop's -1 (keep the product's price);
    `start`/`end` None for 0000-00-00 00:00:00 (no limit)."""

    id_specific_price: int
    id_specific_price_rule: int
    id_product: int
    id_product_attribute: int
    id_shop: int
    id_currency: int
    id_country: int
    id_group: int
    id_customer: int
    id_cart: int
    from_quantity: int
    price: Decimal | None
    reduction: Decimal
    reduction_tax: bool
    reduction_type: str  # 'amount' | 'percentage'
    start: datetime | None
    end: datetime | None


def parse_priorities(text: str | None) -> tuple[str, ...]:
    """A `PS_SPECIFIC_PRICE_PRIORITIES` (or `ps_specific_price_priority.priority`) value:
    'id_shop;id_currency;id_country;id_group', highest priority first; unknown names are ignored
    (they could never match), and empty text gives PrestaShop's default order."""
    fields = tuple(f.strip() for f in (text or "").split(";") if f.strip() in PRIORITY_FIELDS)
    return fields or DEFAULT_PRIORITIES


def score(row: SpecificPrice, visitor: Visitor, priorities: Sequence[str]) -> int:
    """`SpecificPrice::_getScoreQuery`: the priority list is id_customer then `priorities`; the
    last field weighs 2, the one before 4, and so on; a row scores the weights of the fields whose
    value is the visitor's own (not 0 for "any")."""
    fields = ["id_customer", *priorities]
    values = visitor.values
    return sum(2 ** (k + 1) for k, field in enumerate(reversed(fields))
               if getattr(row, field) == values[field])


def is_candidate(row: SpecificPrice, visitor: Visitor, id_product: int, id_product_attribute: int,
                 at: datetime | None) -> bool:
    """The WHERE of `SpecificPrice::getSpecificPrice` (and `computeExtraConditions`) for the
    public price: this shop or all, the default currency, country, Visitor group or any; this
    product (or 0); this combination or the whole product; no customer, no cart; from one unit (a
    quantity discount, `from_quantity` > 1, is for carts, not the public price); in force at `at`
    to the minute (None: whatever the dates)."""
    if row.id_shop not in (0, visitor.id_shop) or row.id_currency not in (0, visitor.id_currency):
        return False
    if row.id_country not in (0, visitor.id_country) or row.id_group not in (0, visitor.id_group):
        return False
    if row.id_product not in (0, id_product) or row.id_product_attribute not in (0, id_product_attribute):
        return False
    if row.id_customer or row.id_cart or row.from_quantity > 1:
        return False
    if at is not None:
        minute = at.replace(second=0, microsecond=0)  # PrestaShop compares with date('Y-m-d H:i:00')
        if (row.start is not None and minute < row.start) or (row.end is not None and minute > row.end):
            return False
    return True


def choose_specific_price(rows: Iterable[SpecificPrice], visitor: Visitor, id_product: int,
                          id_product_attribute: int, at: datetime | None,
                          priorities: Sequence[str] | None = None) -> SpecificPrice | None:
    """The row `SpecificPrice::getSpecificPrice` returns, or None: among the candidates, the
    combination's own before the product's, then (no cart: equal) the higher `from_quantity` (1
    before 0), the manual rows before the catalog price rules' (`id_specific_price_rule`
    ascending: 0 first), the highest score, the latest end (no end last), the latest start (no
    start last); the first created on a tie (MySQL leaves it open). `priorities`: the product's
    own (`ps_specific_price_priority`), else the visitor's (`SpecificPrice::getPriority`)."""
    if not visitor.specific_prices:  # SpecificPrice::isFeatureActive
        return None
    order = tuple(priorities) if priorities else visitor.priorities
    best, best_key = None, None
    for row in rows:
        if not is_candidate(row, visitor, id_product, id_product_attribute, at):
            continue
        key = (row.id_product_attribute, row.from_quantity, -row.id_specific_price_rule,
               score(row, visitor, order), row.end or datetime.min, row.start or datetime.min,
               -row.id_specific_price)
        if best_key is None or key > best_key:
            best, best_key = row, key
    return best


# -- the price ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceInputs:
    """What `Product::priceCalculation` reads of one product or combination in one shop."""

    price: Decimal  # ps_product_shop.price
    impact: Decimal = _ZERO  # ps_product_attribute_shop.price (0 for a product without combination)
    id_product_attribute: int = 0
    tax_rate: Decimal = _ZERO  # the product's tax rules group in the default country, in percent
    ecotax: Decimal = _ZERO  # ps_product_shop.ecotax
    attribute_ecotax: Decimal = _ZERO  # ps_product_attribute_shop.ecotax (wins when > 0)
    ecotax_rate: Decimal = _ZERO  # PS_ECOTAX_TAX_RULES_GROUP_ID's rate
    group_reduction: Decimal = _ZERO  # a fraction (0.05: 5 %), GroupReduction or ps_group.reduction


def price_calculation(item: PriceInputs, specific: SpecificPrice | None, *, use_tax: bool,
                      use_reduction: bool = True, precision: int = COMPUTE_PRECISION,
                      round_mode: int = HALF_UP) -> Decimal:
    """`Product::priceCalculation` in the default currency, for one unit, without customization:

    1. the specific price's own price when it has one (not -1), else the shop's price;
    2. plus the combination's impact, unless the specific price has its own price and is the
       combination's own (then that price is the combination's whole price);
    3. taxes added (`use_tax`), then the ecotax (the combination's when > 0, else the product's),
       with the ecotax tax rules group's taxes when `use_tax`;
    4. the reduction (`use_reduction`): a percentage of that price, or an amount, made tax
       included or excluded like the price (`reduction_tax` says which the amount is);
    5. the group reduction, a percentage of what is left;
    6. rounded once, at `precision` decimals by `round_mode`, and never below 0.

    The tax-included price is computed from the unrounded tax-excluded one: rounding happens
    only at the end.
    """
    own_price = specific is not None and specific.price is not None and specific.price >= 0
    price = specific.price if own_price else item.price
    if not (own_price and specific.id_product_attribute):
        price += item.impact
    if use_tax:
        price = add_taxes(price, item.tax_rate)
    ecotax = item.attribute_ecotax if item.attribute_ecotax > 0 else item.ecotax
    if ecotax:
        price += add_taxes(ecotax, item.ecotax_rate) if use_tax else ecotax
    if use_reduction and specific is not None:
        price -= reduction_of(price, specific, item.tax_rate, use_tax)
    if item.group_reduction:
        price -= price * item.group_reduction
    price = ps_round(price, precision, round_mode)
    return max(price, _ZERO)


def reduction_of(price: Decimal, specific: SpecificPrice, tax_rate: Decimal, use_tax: bool) -> Decimal:
    """The specific price's reduction of `price` (`Product::priceCalculation`): a percentage
    (`reduction` 0.15 is 15 %) of the price as computed so far, or an amount converted to the
    price's side of taxes (an amount tax included taken off a tax-excluded price loses its taxes,
    and the other way round)."""
    if specific.reduction_type == "amount":
        amount = specific.reduction
        if not use_tax and specific.reduction_tax:
            return remove_taxes(amount, tax_rate)
        if use_tax and not specific.reduction_tax:
            return add_taxes(amount, tax_rate)
        return amount
    return price * specific.reduction


@dataclass(frozen=True)
class PublicPrice:
    """A product's (or combination's) prices for the anonymous visitor: before the reduction
    (`Product::getPriceWithoutReduct`, which keeps a specific price's own price) and, when a
    specific price applies, after it (`Product::getPriceStatic`)."""

    regular_tax_excl: Decimal
    regular_tax_incl: Decimal
    specific: SpecificPrice | None
    sale_tax_excl: Decimal | None
    sale_tax_incl: Decimal | None


def public_price(item: PriceInputs, specific: SpecificPrice | None, round_mode: int = HALF_UP) -> PublicPrice:
    """The four prices of `item` for the visitor, each computed on its own from the shop's values
    (never one from another's rounded result)."""
    def calc(use_tax: bool, use_reduction: bool) -> Decimal:
        return price_calculation(item, specific, use_tax=use_tax, use_reduction=use_reduction,
                                 round_mode=round_mode)
    if specific is None:
        return PublicPrice(calc(False, False), calc(True, False), None, None, None)
    return PublicPrice(calc(False, False), calc(True, False), specific, calc(False, True), calc(True, True))
