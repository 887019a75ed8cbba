"""Which platform category a shop's product goes to (docs/categories.md).

Three ways fill the gap, as the seed names them, and the most specific wins:
1. a per-product override (`heartbeat categories set PRODUCT COLUMN CATEGORY`);
2. the first rule the product matches (reference prefix, name or manufacturer substring, shop
   category branch): the config file's `[[category_rules]]`, then those written on the page;
3. the mapping table, through the product's default category: a shop category mapped in a row
   covers its whole branch, unless a deeper category is mapped in a row of its own.

`CategoryResolver` answers for one shop connection and one target column, from a snapshot of the
state database's mapping taken when it is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from connectors.prestashop.categories import CategoryTree, ProductFacts
from core.config import CategoryRule
from core.errors import FatalTaskError
from tasks.stores.categories import CategoryStore


class Resolved(NamedTuple):
    """A product's platform category and how it was found ("override", "rule 2", "table")."""

    column: str
    id: str
    path: str | None
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"column": self.column, "id": self.id, "path": self.path}


@dataclass
class CategoryResolver:
    connection: str
    column: str
    tree: CategoryTree
    table: Mapping[int, str]  # shop category -> target id, as mapped (no inheritance)
    rules: Sequence[CategoryRule]
    overrides: Mapping[int, str]  # id_product -> target id
    taxonomy: Mapping[str, str]  # target id -> path ({} when no taxonomy is loaded)

    def __post_init__(self):
        self._branch: dict[int, str | None] = {}

    @classmethod
    def load(cls, store: CategoryStore, tree: CategoryTree, connection: str, column: str,
             rules: Iterable[CategoryRule]) -> CategoryResolver:
        """The resolver for `connection`'s products into `column`, from the state database now.
        A rule whose category is not in the column's loaded taxonomy is a FatalTaskError (a
        config mistake: nothing would be right to export)."""
        taxonomy = store.taxonomy(column)
        table: dict[int, str] = {}
        for row in store.mapping():
            shop, target = row.get(connection), row.get(column)
            if shop is not None and target is not None and shop.isdigit():
                table.setdefault(int(shop), target)
        rules = list(rules)
        rules += store.rules(first=len(rules) + 1)  # the page's, after the config file's
        mine = [r for r in rules if r.column == column and r.connection in (None, connection)]
        for rule in mine:
            if taxonomy and rule.category not in taxonomy:
                raise FatalTaskError(f"category_rules[{rule.index - 1}].category: {rule.category!r} is not a "
                                     f"{column} category (not in its loaded taxonomy)")
        return cls(connection, column, tree, table, mine, store.overrides(connection, column), taxonomy)

    def branch(self, category: int) -> str | None:
        """The target of shop category `category` through the table: its own row, else its
        nearest mapped parent's."""
        if category not in self._branch:
            self._branch[category] = next((self.table[c] for c in self.tree.ancestors(category)
                                           if c in self.table), None)
        return self._branch[category]

    def resolve(self, product: ProductFacts) -> Resolved | None:
        override = self.overrides.get(product.id_product)
        if override is not None:
            return self._resolved(override, "override")
        for rule in self.rules:
            if self._matches(rule, product):
                return self._resolved(rule.category, f"rule {rule.index}")
        target = self.branch(product.category) if product.category else None
        return self._resolved(target, "table") if target is not None else None

    def resolve_record(self, record: Mapping[str, Any]) -> Resolved | None:
        """`resolve` for an export-format product dict."""
        category = record.get("category")
        return self.resolve(ProductFacts(record["id_product"], category["id"] if category else 0,
                                         record.get("reference") or "", record.get("name") or "",
                                         record.get("manufacturer") or ""))

    def mandatory(self, category: int) -> str:
        """The seed's reason for skipping a product of shop category `category` that resolves to none."""
        if not category:
            return f"category is mandatory: no {self.column} category (the product has no default category)"
        return (f"category is mandatory: no {self.column} category for {self.tree.path(category)!r} "
                f"(shop category {category})")

    def _resolved(self, target: str, source: str) -> Resolved:
        return Resolved(self.column, target, self.taxonomy.get(target), source)

    def _matches(self, rule: CategoryRule, product: ProductFacts) -> bool:
        if rule.reference_prefix is not None and not product.reference.lower().startswith(
                rule.reference_prefix.lower()):
            return False
        if rule.name_contains is not None and rule.name_contains.lower() not in product.name.lower():
            return False
        if rule.manufacturer_contains is not None and (
                rule.manufacturer_contains.lower() not in product.manufacturer.lower()):
            return False
        if rule.shop_category is not None and rule.shop_category not in self.tree.ancestors(product.category):
            return False
        return True


@dataclass(frozen=True)
class Unmapped:
    """A shop category holding products that resolve to no category of the column."""

    id_category: int
    path: str
    products: int

    def as_json(self) -> dict[str, Any]:
        return {"id_category": self.id_category, "path": self.path, "products": self.products}


def unmapped(resolver: CategoryResolver, products: Iterable[ProductFacts]) -> list[Unmapped]:
    """Each shop category whose products (by default category) resolve to nothing, with how many
    do: most products first, then by path."""
    counts: dict[int, int] = {}
    for product in products:
        if resolver.resolve(product) is None:
            counts[product.category] = counts.get(product.category, 0) + 1
    rows = [Unmapped(c, resolver.tree.path(c) if c else "(no default category)", n)
            for c, n in counts.items()]
    return sorted(rows, key=lambda u: (-u.products, u.path))
