"""A shop's category tree, as PrestaShop stores it, and what the category mapping needs of its products.

PrestaShop keeps one tree for every shop of a database (ps_category: id_parent, level_depth, and
the nested set nleft/nright), names per shop and language (ps_category_lang), and which categories
each shop uses (ps_category_shop). A shop's tree starts at its root category (ps_shop.id_category,
"Home" in a new shop); paths are written from there: "Home > Clothes > Men". The very top category
("Root", id_parent 0) is not part of any path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa

from connectors.platform.taxonomy import SEPARATOR, normal_path
from connectors.prestashop.schema import ShopTables

MAX_DEPTH = 100  # a cycle in id_parent (a broken shop) stops here instead of looping


@dataclass
class CategoryTree:
    """The categories of one shop: names in its language, parents, and its root."""

    names: dict[int, str]
    parents: dict[int, int]
    root: int | None
    _paths: dict[int, str] = field(default_factory=dict, repr=False)
    _by_path: dict[str, int] | None = field(default=None, repr=False)

    def __contains__(self, category: object) -> bool:
        return category in self.names

    def ancestors(self, category: int) -> list[int]:
        """`category`, its parent, and so on up to the shop's root category (or the top)."""
        chain: list[int] = []
        current: int | None = category
        while current in self.names and current not in chain and len(chain) < MAX_DEPTH:
            chain.append(current)
            if current == self.root:
                break
            current = self.parents.get(current)
        return chain

    def path(self, category: int) -> str:
        """"Home > Clothes > Men" for category `category`; its id in brackets when the shop has no
        name for it."""
        if category not in self._paths:
            chain = self.ancestors(category) or [category]
            self._paths[category] = SEPARATOR.join(self.names.get(c) or f"[{c}]" for c in reversed(chain))
        return self._paths[category]

    def find(self, path: str) -> int | None:
        """The category whose path is `path` (levels compared after trimming spaces); None if none.
        The root's name may be left out: "Clothes > Men" finds "Home > Clothes > Men"."""
        if self._by_path is None:
            self._by_path = {}
            root_name = self.names.get(self.root) if self.root is not None else None
            for category in sorted(self.names):
                full = self.path(category)
                self._by_path.setdefault(full, category)
                if root_name and full.startswith(root_name + SEPARATOR):
                    self._by_path.setdefault(full[len(root_name) + len(SEPARATOR):], category)
        return self._by_path.get(normal_path(path))


def read_tree(conn: sa.Connection, t: ShopTables, id_shop: int, id_lang: int) -> CategoryTree:
    """The tree of shop `id_shop`, names in `id_lang`. A database without ps_category_shop (an old
    demo shop) gives every category to every shop; one without ps_shop takes the root category
    (is_root_category) as the root."""
    c, cl = t.category, t.category_lang
    inspector = sa.inspect(conn)
    query = (sa.select(c.c.id_category, c.c.id_parent, cl.c.name)
             .outerjoin(cl, sa.and_(cl.c.id_category == c.c.id_category, cl.c.id_shop == id_shop,
                                    cl.c.id_lang == id_lang)))
    if inspector.has_table(t.category_shop.name):
        cs = t.category_shop
        query = query.where(c.c.id_category.in_(sa.select(cs.c.id_category).where(cs.c.id_shop == id_shop)))
    names, parents = {}, {}
    for category, parent, name in conn.execute(query):
        names[int(category)], parents[int(category)] = name or "", int(parent or 0)
    root = None
    if inspector.has_table(t.shop.name):
        root = conn.execute(sa.select(t.shop.c.id_category).where(t.shop.c.id_shop == id_shop)).scalar()
    if root is None:
        root = conn.execute(sa.select(c.c.id_category).where(c.c.is_root_category == 1)
                            .order_by(c.c.id_category).limit(1)).scalar()
    return CategoryTree(names, parents, int(root) if root is not None else None)


class ProductFacts(NamedTuple):
    """What the category rules look at of a product (id first: keyset pages, core.driver)."""

    id_product: int
    category: int  # its default category in the shop (0: none)
    reference: str
    name: str
    manufacturer: str


def facts_page(conn: sa.Connection, t: ShopTables, id_shop: int, id_lang: int, after: int,
               page: int) -> list[ProductFacts]:
    """The next `page` products of the shop after id `after`, ascending id."""
    p, ps, pl, m = t.product, t.product_shop, t.product_lang, t.manufacturer
    query = (sa.select(ps.c.id_product, ps.c.id_category_default, p.c.reference, pl.c.name, m.c.name)
             .join(p, p.c.id_product == ps.c.id_product)
             .outerjoin(pl, sa.and_(pl.c.id_product == ps.c.id_product, pl.c.id_shop == id_shop,
                                    pl.c.id_lang == id_lang))
             .outerjoin(m, m.c.id_manufacturer == p.c.id_manufacturer)
             .where(ps.c.id_shop == id_shop, ps.c.id_product > after)
             .order_by(ps.c.id_product).limit(page))
    return [ProductFacts(int(i), int(c or 0), r or "", n or "", b or "")
            for i, c, r, n, b in conn.execute(query)]
