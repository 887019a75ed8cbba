"""Orphan rows of the catalogue's link tables: a row one of whose parent rows is gone (a stock row
of a deleted product, a name row of an uninstalled language, an attribute row of a deleted
combination). Each rule names the table, the columns that identify a row and the rows it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa

from connectors.prestashop.schema import ShopTables


class Parent(NamedTuple):
    """A row an orphan rule's row needs: its `columns` name `keys` of `table` (a ShopTables name);
    with `unless_zero`, a 0 in the first column names no row (the product's own stock row)."""

    columns: tuple[str, ...]
    table: str
    keys: tuple[str, ...]
    unless_zero: bool = False


def _needs(column: str, table: str) -> Parent:
    return Parent((column,), table, (column,))


class Rule(NamedTuple):
    """The rows of `table` (identified by `key`) one of whose parents is gone are `pattern`."""

    pattern: str
    table: str
    key: tuple[str, ...]
    parents: tuple[Parent, ...]


PRODUCT, SHOP = _needs("id_product", "product"), _needs("id_shop", "shop")
COMBINATION = Parent(("id_product_attribute", "id_product"), "product_attribute",
                     ("id_product_attribute", "id_product"), unless_zero=True)
RULES = (  # in the order a task lists their records
    Rule("orphan_stock_row", "stock_available", ("id_stock_available",), (PRODUCT, COMBINATION)),
    Rule("orphan_product_lang", "product_lang", ("id_product", "id_shop", "id_lang"),
         (PRODUCT, SHOP, _needs("id_lang", "lang"))),
    Rule("orphan_product_shop", "product_shop", ("id_product", "id_shop"), (PRODUCT, SHOP)),
    Rule("orphan_category_product", "category_product", ("id_category", "id_product"),
         (PRODUCT, _needs("id_category", "category"))),
    Rule("orphan_combination_attribute", "product_attribute_combination",
         ("id_attribute", "id_product_attribute"),
         (_needs("id_product_attribute", "product_attribute"), _needs("id_attribute", "attribute"))),
    Rule("orphan_combination", "product_attribute", ("id_product_attribute",), (PRODUCT,)),
)


def orphans(tables: ShopTables, rule: Rule,
            has: Callable[[str], bool]) -> tuple[sa.Select, Callable[[sa.Row], str]]:
    """The rule's rows one of whose parents is gone (key columns first), and a row's reason
    ("id_product 12 is not in ps_product"). A parent table the shop lacks (`has`) is not checked."""
    table = getattr(tables, rule.table)
    joined, gone, parents = table, [], []
    for n, parent in enumerate(rule.parents):
        if not has(parent.table):
            continue
        alias = getattr(tables, parent.table).alias(f"parent{n}")
        on = [alias.c[k] == table.c[c] for c, k in zip(parent.columns, parent.keys, strict=True)]
        joined = joined.outerjoin(alias, sa.and_(*on))
        missing = alias.c[parent.keys[0]].is_(None)
        gone.append(sa.and_(table.c[parent.columns[0]] != 0, missing) if parent.unless_zero else missing)
        parents.append((parent, alias.c[parent.keys[0]].label(f"found{len(parents)}")))
    named = [table.c[c].label(f"{c}_{n}") for n, (parent, _) in enumerate(parents) for c in parent.columns]
    select = (sa.select(*(table.c[c] for c in rule.key), *(found for _, found in parents), *named)
              .select_from(joined).where(sa.or_(*gone)))

    def reasons(row: sa.Row) -> str:
        m, out = row._mapping, []
        for n, (parent, found) in enumerate(parents):
            values = [m[f"{c}_{n}"] for c in parent.columns]
            if m[found.name] is None and not (parent.unless_zero and values[0] == 0):
                what = " of ".join(f"{c} {v}" for c, v in zip(parent.columns, values, strict=True))
                out.append(f"{what} is not in {getattr(tables, parent.table).name}")
        return "; ".join(out)

    return select, reasons
