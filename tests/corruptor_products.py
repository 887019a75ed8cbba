"""A seeded corruptor for the products maintenance tests: it breaks a demo shop in known ways, each
product at most once, and says what the analyses must then find and what no fix can repair.

Works on SQLite and MariaDB (broken UTF-8 only on SQLite: MariaDB refuses to store it in utf8mb4).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

NOW = "2026-01-02 03:04:05"


@dataclass
class Expected:
    """What the analyses find after `corrupt`: analyze-integrity's counts, analyze-repeated-ids'
    counts, the counts left after fix-orphans, fix-linkeds and fix-integrity (what needs a human),
    and the products broken for some patterns."""

    integrity: Counter = field(default_factory=Counter)
    repeated: Counter = field(default_factory=Counter)
    left: Counter = field(default_factory=Counter)
    products: dict[str, tuple[int, ...]] = field(default_factory=dict)


def add_language(url: str, id_lang: int = 2, iso: str = "fr") -> None:
    """Install a language active in shop 1, with every translated row PrestaShop makes for it
    (copies of language 1's), as installing a language pack does; nothing if the shop has it (the
    demo shop comes with French, language 2)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT COUNT(*) FROM ps_lang WHERE id_lang = :l"),
                             {"l": id_lang}).scalar()
    engine.dispose()
    if found:
        return
    statements = [
        ("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, "
         "date_format_full, is_rtl) VALUES (:l, 'Français (French)', 1, :iso, 'fr-fr', 'fr-FR', 'd/m/Y', "
         "'d/m/Y H:i:s', 0)"),
        "INSERT INTO ps_lang_shop (id_lang, id_shop) VALUES (:l, 1)",
        ("INSERT INTO ps_product_lang (id_product, id_shop, id_lang, description, description_short, "
         "link_rewrite, name) SELECT id_product, id_shop, :l, description, description_short, link_rewrite, "
         "name FROM ps_product_lang WHERE id_lang = 1"),
        ("INSERT INTO ps_category_lang (id_category, id_shop, id_lang, name, description, link_rewrite) "
         "SELECT id_category, id_shop, :l, name, description, link_rewrite FROM ps_category_lang "
         "WHERE id_lang = 1"),
        "INSERT INTO ps_attribute_lang (id_attribute, id_lang, name) SELECT id_attribute, :l, name "
        "FROM ps_attribute_lang WHERE id_lang = 1",
        ("INSERT INTO ps_attribute_group_lang (id_attribute_group, id_lang, name, public_name) "
         "SELECT id_attribute_group, :l, name, public_name FROM ps_attribute_group_lang WHERE id_lang = 1"),
    ]
    _execute(url, [(sql, {"l": id_lang, "iso": iso}) for sql in statements])


def corrupt(url: str, seed: int = 7) -> Expected:
    """Break the demo shop at `url` (created with at least 100 products, 5 of them with
    combinations, language 2 installed by add_language) in known ways; returns what to expect."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        with_combinations = [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT id_product FROM ps_product_attribute ORDER BY id_product"))]
        simple = [r[0] for r in conn.execute(sa.text("SELECT id_product FROM ps_product ORDER BY id_product"))
                  if r[0] not in with_combinations]
        combinations = {pid: [r[0] for r in conn.execute(sa.text(
            "SELECT id_product_attribute FROM ps_product_attribute WHERE id_product = :p "
            "ORDER BY id_product_attribute"), {"p": pid})] for pid in with_combinations}
        references = dict(conn.execute(sa.text("SELECT id_product, reference FROM ps_product")).all())
        eans = dict(conn.execute(sa.text("SELECT id_product, ean13 FROM ps_product")).all())
    engine.dispose()
    rng = random.Random(seed)
    rng.shuffle(simple)
    rng.shuffle(with_combinations)
    sqlite = url.startswith("sqlite")
    e = Expected()
    s: list[tuple[str, dict]] = []

    def broken(pattern: str, count: int, left: int = 0, group: Counter = e.integrity) -> None:
        group[pattern] += count
        if left:
            e.left[pattern] += left

    a1, a2 = simple.pop(), simple.pop()  # product_without_shop_row
    s += [("DELETE FROM ps_product_shop WHERE id_product IN (:a, :b) AND id_shop = 1", {"a": a1, "b": a2})]
    broken("product_without_shop_row", 2)
    e.products["product_without_shop_row"] = (a1, a2)
    b1, b2, b3 = simple.pop(), simple.pop(), simple.pop()  # two miss French, one English (nothing to copy)
    s += [("DELETE FROM ps_product_lang WHERE id_product IN (:a, :b) AND id_lang = 2", {"a": b1, "b": b2}),
          ("DELETE FROM ps_product_lang WHERE id_product = :a AND id_lang = 1", {"a": b3})]
    broken("product_without_lang_row", 3, left=1)
    e.products["product_without_lang_row"] = (b1, b2, b3)
    c1 = simple.pop()
    s += [(f"UPDATE ps_{t} SET id_category_default = 9999 WHERE id_product = :a", {"a": c1})
          for t in ("product", "product_shop")]
    broken("default_category_missing", 1, left=1)
    d1, d2 = simple.pop(), simple.pop()
    s += [("DELETE FROM ps_category_product WHERE id_product IN (:a, :b) AND id_category <> 2",
           {"a": d1, "b": d2})]
    broken("default_category_not_linked", 2)
    e1, e2 = simple.pop(), with_combinations.pop()  # the product's own row; a combination's
    s += [("DELETE FROM ps_stock_available WHERE id_product = :a AND id_product_attribute = 0", {"a": e1}),
          ("DELETE FROM ps_stock_available WHERE id_product = :a AND id_product_attribute = :pa",
           {"a": e2, "pa": combinations[e2][-1]})]
    broken("stock_row_missing", 2)
    s += _orphans(simple.pop(), simple.pop(), combinations[with_combinations[0]][0])
    for pattern, count in (("orphan_stock_row", 3), ("orphan_product_lang", 2), ("orphan_product_shop", 2),
                           ("orphan_category_product", 2), ("orphan_combination", 1),
                           ("orphan_combination_attribute", 2)):
        broken(pattern, count)
    g1, g2 = with_combinations.pop(), with_combinations.pop()  # no default anywhere; none in the shop
    s += [("UPDATE ps_product_attribute SET default_on = NULL WHERE id_product = :a", {"a": g1}),
          ("UPDATE ps_product_attribute_shop SET default_on = NULL WHERE id_product IN (:a, :b)",
           {"a": g1, "b": g2})]
    broken("default_combination_count", 2)
    h1, h2 = simple.pop(), simple.pop()
    s += [("UPDATE ps_product SET price = price + 1 WHERE id_product = :a", {"a": h1}),
          ("UPDATE ps_product SET price = price / 2 WHERE id_product = :a", {"a": h2})]
    broken("price_drift", 2)
    e.products["price_drift"] = (h1, h2)
    i1 = simple.pop()
    s += [(f"UPDATE ps_{t} SET price = -5 WHERE id_product = :a", {"a": i1})
          for t in ("product", "product_shop")]
    broken("negative_price", 1, left=1)
    j1, j2, j3 = simple.pop(), simple.pop(), simple.pop()
    wrong = eans[j3][:-1] + str((int(eans[j3][-1]) + 1) % 10)
    s += [("UPDATE ps_product SET ean13 = :v WHERE id_product = :a", {"a": j, "v": value})
          for j, value in ((j1, "12345"), (j2, "20000000001X"), (j3, wrong))]
    broken("invalid_ean13", 3, left=3)
    k1, k2 = simple.pop(), with_combinations.pop()
    s += [("UPDATE ps_product SET reference = :v WHERE id_product = :a",
           {"a": k1, "v": f" {references[k1]} "}),
          ("UPDATE ps_product_attribute SET reference = :v WHERE id_product_attribute = :a",
           {"a": combinations[k2][0], "v": f"REF-{k2}  "})]
    broken("untrimmed_reference", 2)
    l1, l2 = simple.pop(), simple.pop()
    s += [("UPDATE ps_product_lang SET name = :v WHERE id_product = :a AND id_lang = 1",
           {"a": l1, "v": "Bad\x01name"}),
          ("UPDATE ps_product SET reference = :v WHERE id_product = :a", {"a": l2, "v": f"REF\x07{l2}"})]
    if sqlite:  # bytes that are no UTF-8, kept as TEXT
        s += [("UPDATE ps_product_lang SET name = CAST(X'426164FF4E616D65' AS TEXT) WHERE id_product = :a "
               "AND id_lang = 2", {"a": simple.pop()})]
    broken("invalid_text", 3 if sqlite else 2)
    m1, m2 = simple.pop(), simple.pop()
    s += [("UPDATE ps_product_lang SET name = :v WHERE id_product = :a AND id_lang = 1", {"a": m, "v": value})
          for m, value in ((m1, ""), (m2, "   "))]
    broken("empty_name", 2, left=2)
    n1, n2, p1, q1 = simple.pop(), simple.pop(), with_combinations.pop(), simple.pop()
    s += [("UPDATE ps_product SET reference = :v WHERE id_product = :a", {"a": n2, "v": references[n1]}),
          ("UPDATE ps_product_attribute SET reference = :v WHERE id_product_attribute = :a",
           {"a": combinations[p1][0], "v": references[q1]})]
    broken("repeated_reference", 2, group=e.repeated)
    r1, r2 = simple.pop(), simple.pop()
    s += [("UPDATE ps_product SET ean13 = :v WHERE id_product = :a", {"a": r2, "v": eans[r1]})]
    broken("repeated_ean13", 1, group=e.repeated)
    _execute(url, s)
    return e


def _orphans(product: int, other: int, combination: int) -> list[tuple[str, dict]]:
    """3 stock rows, 2 name rows, 2 shop rows, 2 category links, a combination (with its shop
    row and an attribute row) and 2 attribute rows, each of a missing product, shop, language,
    category, combination or attribute."""
    stock = ("INSERT INTO ps_stock_available (id_product, id_product_attribute, id_shop, id_shop_group, "
             "quantity, physical_quantity, reserved_quantity) VALUES (:p, :pa, 1, 0, 3, 3, 0)")
    lang = ("INSERT INTO ps_product_lang (id_product, id_shop, id_lang, link_rewrite, name) "
            "VALUES (:p, 1, :l, 'gone', 'Gone')")
    shop = ("INSERT INTO ps_product_shop (id_product, id_shop, id_category_default, id_tax_rules_group, "
            "price, wholesale_price, active, date_add, date_upd) VALUES (:p, :s, 3, 1, 1, 1, 1, :now, :now)")
    link = "INSERT INTO ps_category_product (id_category, id_product, position) VALUES (:c, :p, 0)"
    attribute = ("INSERT INTO ps_product_attribute_combination (id_attribute, id_product_attribute) "
                 "VALUES (:a, :pa)")
    return [
        (stock, {"p": 999001, "pa": 0}), (stock, {"p": 999002, "pa": 0}),
        (stock, {"p": product, "pa": 888888}),
        (lang, {"p": 999003, "l": 1}), (lang, {"p": product, "l": 77}),
        (shop, {"p": 999004, "s": 1, "now": NOW}), (shop, {"p": other, "s": 9, "now": NOW}),
        (link, {"c": 3, "p": 999005}), (link, {"c": 8888, "p": other}),
        ("INSERT INTO ps_product_attribute (id_product_attribute, id_product, reference, default_on) "
         "VALUES (900001, 999006, 'GONE-1', 1)", {}),
        ("INSERT INTO ps_product_attribute_shop (id_product, id_product_attribute, id_shop, default_on) "
         "VALUES (999006, 900001, 1, 1)", {}),
        (attribute, {"a": 1, "pa": 900001}),
        (attribute, {"a": 999, "pa": combination}), (attribute, {"a": 1, "pa": 777777}),
    ]


def _execute(url: str, statements: list[tuple[str, dict]]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()
