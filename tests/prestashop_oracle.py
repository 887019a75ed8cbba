"""PrestaShop 8.1's public price and listing data, computed a second way for the tests: the rules of
`SpecificPrice::getSpecificPrice` as PrestaShop runs them (its score expression, WHERE and ORDER BY
executed by the database itself), `TaxRulesTaxManager`'s query, `Product::priceCalculation` in exact
rationals, `Product::getCombinationImages` and `Product::getFrontFeaturesStatic` as queries. It shares
no code with connectors/prestashop/pricing.py or listing.py, so the two agreeing means something.

Anonymous visitor: Visitor group 1, currency 1, the shop's PS_COUNTRY_DEFAULT, quantity 1.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa

VISITOR_GROUP, CURRENCY = 1, 1


class Oracle:
    def __init__(self, conn: sa.Connection, id_shop: int, at: datetime):
        self.conn, self.id_shop = conn, id_shop
        self.at = at.strftime("%Y-%m-%d %H:%M:00")
        self.q = "`" if conn.dialect.name in ("mysql", "mariadb") else '"'
        self.country = int(self.config("PS_COUNTRY_DEFAULT"))
        self.priorities = self.config("PS_SPECIFIC_PRICE_PRIORITIES").split(";")

    def value(self, sql: str, **params):
        return self.conn.execute(sa.text(sql), params).scalar()

    def rows(self, sql: str, **params):
        return self.conn.execute(sa.text(sql), params).all()

    def config(self, name: str) -> str:
        """Configuration::get: the shop's row, else the global one (the test shops have no group rows)."""
        own = self.value("SELECT value FROM ps_configuration WHERE name = :n AND id_shop = :s", n=name,
                         s=self.id_shop)
        return own if own is not None else self.value(
            "SELECT value FROM ps_configuration WHERE name = :n AND id_shop IS NULL "
            "AND id_shop_group IS NULL", n=name)

    def tax_rate(self, group: int) -> Fraction:
        """TaxRulesTaxManager::getTaxCalculator for postcode 0 and no state, TaxCalculator's total."""
        rows = self.rows(
            "SELECT tr.behavior, t.rate FROM ps_tax_rule tr JOIN ps_tax_rules_group g "
            "ON g.id_tax_rules_group = tr.id_tax_rules_group JOIN ps_tax t ON t.id_tax = tr.id_tax "
            "WHERE g.active = 1 AND tr.id_country = :c AND tr.id_tax_rules_group = :g AND tr.id_state = 0 "
            "AND tr.zipcode_from IN ('0', '') AND tr.zipcode_to IN ('0', '') "
            "ORDER BY tr.zipcode_from DESC, tr.zipcode_to DESC, tr.id_state DESC, tr.id_tax_rule",
            c=self.country, g=group)
        if not rows or self.config("PS_TAX") == "0":
            return Fraction(0)
        taxes = []
        for behavior, rate in rows:
            taxes.append(abs(Fraction(str(rate))))
            if behavior == 0:
                break
        if rows[0][0] == 2:
            total = Fraction(1)
            for rate in taxes:
                total *= 1 + rate / 100
            return (total - 1) * 100
        return sum(taxes, Fraction(0))

    def specific_price(self, pid: int, pa: int):
        """SpecificPrice::getSpecificPrice's row for the visitor (its own SQL, run by the database)."""
        own = self.value("SELECT priority FROM ps_specific_price_priority WHERE id_product = :p "
                         "ORDER BY id_specific_price_priority DESC", p=pid)
        fields = ["id_customer", *(own.split(";") if own else self.priorities)]
        values = {"id_customer": 0, "id_shop": self.id_shop, "id_currency": CURRENCY,
                  "id_country": self.country, "id_group": VISITOR_GROUP}
        score = " + ".join(f"CASE WHEN {f} = {values[f]} THEN {2 ** (k + 1)} ELSE 0 END"
                           for k, f in enumerate(reversed(fields)))
        q = self.q
        return self.conn.execute(sa.text(
            f"SELECT price, reduction, reduction_tax, reduction_type, id_product_attribute, {q}from{q}, "
            f"{q}to{q}, "
            f"({score}) AS score FROM ps_specific_price WHERE id_shop IN (0, :s) AND id_currency IN (0, "
            f"{CURRENCY}) "
            f"AND id_country IN (0, :c) AND id_group IN (0, {VISITOR_GROUP}) AND id_product IN (0, :p) "
            "AND id_customer = 0 AND id_product_attribute IN (0, :pa) AND id_cart = 0 "
            f"AND ({q}from{q} = '0000-00-00 00:00:00' OR :at >= {q}from{q}) "
            f"AND ({q}to{q} = '0000-00-00 00:00:00' OR :at <= {q}to{q}) AND from_quantity <= 1 "
            "ORDER BY id_product_attribute DESC, id_cart DESC, from_quantity DESC, id_specific_price_rule "
            "ASC, "
            f"score DESC, {q}to{q} DESC, {q}from{q} DESC, id_specific_price LIMIT 1"),
            {"s": self.id_shop, "c": self.country, "p": pid, "pa": pa, "at": self.at}).first()

    def price(self, pid: int, pa: int, use_tax: bool, use_reduction: bool) -> Decimal:
        """Product::priceCalculation at 6 decimals, half up (the test shops' PS_PRICE_ROUND_MODE)."""
        base, ecotax, group = self.conn.execute(sa.text(
            "SELECT price, ecotax, id_tax_rules_group FROM ps_product_shop WHERE id_product = :p AND "
            "id_shop = :s"),
            {"p": pid, "s": self.id_shop}).first()
        impact = self.value("SELECT price FROM ps_product_attribute_shop WHERE id_product_attribute = :pa "
                            "AND id_shop = :s", pa=pa, s=self.id_shop) if pa else 0
        sp = self.specific_price(pid, pa)
        rate = self.tax_rate(int(group))
        own = sp is not None and Fraction(str(sp[0])) >= 0
        value = Fraction(str(sp[0])) if own else Fraction(str(base))
        if not (own and sp[4]):
            value += Fraction(str(impact or 0))
        if use_tax:
            value *= 1 + rate / 100
        if ecotax:
            ecotax_rate = self.tax_rate(int(self.config("PS_ECOTAX_TAX_RULES_GROUP_ID") or 0))
            value += Fraction(str(ecotax)) * ((1 + ecotax_rate / 100) if use_tax else 1)
        if use_reduction and sp is not None:
            if sp[3] == "amount":
                amount = Fraction(str(sp[1]))
                if sp[2] and not use_tax:
                    amount /= 1 + rate / 100
                elif not sp[2] and use_tax:
                    amount *= 1 + rate / 100
                value -= amount
            else:
                value -= value * Fraction(str(sp[1]))
        scaled = value * 10**6
        whole, rest = divmod(scaled.numerator, scaled.denominator)
        return max(Decimal(whole + (2 * rest >= scaled.denominator)).scaleb(-6), Decimal(0))

    def default_combination(self, pid: int) -> int:
        """Product::getDefaultAttribute: the shop's default combination, else the first; 0 without."""
        marked = self.value("SELECT id_product_attribute FROM ps_product_attribute_shop "
                            "WHERE id_product = :p AND id_shop = :s AND default_on = 1",
                            p=pid, s=self.id_shop)
        return marked or self.value("SELECT MIN(id_product_attribute) FROM ps_product_attribute_shop "
                                    "WHERE id_product = :p AND id_shop = :s", p=pid, s=self.id_shop) or 0

    def combination_images(self, pa: int, id_lang: int = 1) -> list[int]:
        """Product::getCombinationImages: by ps_image.position."""
        return [i for (i,) in self.rows(
            "SELECT pai.id_image FROM ps_product_attribute_image pai JOIN ps_image i ON i.id_image = "
            "pai.id_image "
            "JOIN ps_image_lang il ON il.id_image = pai.id_image AND il.id_lang = :l "
            "WHERE pai.id_product_attribute = :pa ORDER BY i.position, pai.id_image", pa=pa, l=id_lang)]

    def features(self, pid: int, id_lang: int) -> dict[str, str]:
        """Product::getFrontFeaturesStatic: the shop's features (ps_feature_shop), by position."""
        out: dict[str, str] = {}
        for name, value in self.rows(
                "SELECT fl.name, fvl.value FROM ps_feature_product fp JOIN ps_feature f ON f.id_feature = "
                "fp.id_feature "
                "JOIN ps_feature_shop fs ON fs.id_feature = f.id_feature AND fs.id_shop = :s "
                "JOIN ps_feature_lang fl ON fl.id_feature = fp.id_feature AND fl.id_lang = :l "
                "JOIN ps_feature_value_lang fvl ON fvl.id_feature_value = fp.id_feature_value AND "
                "fvl.id_lang = :l "
                "WHERE fp.id_product = :p ORDER BY f.position, fp.id_feature, fp.id_feature_value",
                s=self.id_shop, l=id_lang, p=pid):
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out
