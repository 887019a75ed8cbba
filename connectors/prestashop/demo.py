"""The demo shop: PrestaShop's catalogue tables filled with generated, deterministic products.

`create_demo_shop` builds it in SQLite (what `heartbeat demo init` does) or in an empty MySQL/MariaDB
database (tests). For SQLite the build is atomic: it happens in a temporary file next to the target,
which replaces the target only once complete, so a failure or a kill leaves nothing half-written.

Speed: rows are generated as plain tuples and written with the driver's executemany in chunks,
the per-shop tables are copied in SQL, and secondary indexes are created after the load:
1,000,000 products take about 22 s on 2 cores.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from itertools import product as cartesian
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from connectors.prestashop.schema import ShopTables, shop_tables
from connectors.prestashop.shop import safe_url
from heartbeat.errors import Refused

CHUNK = 20_000  # products generated and inserted at a time
ID_SHOP, ID_SHOP_GROUP, ID_LANG, ID_TAX_RULES_GROUP = 1, 0, 1, 1

BRANDS = ["Northwind", "Acme Outfitters", "Globex", "Blue Fjord", "Maison Lumière", "Kettle & Co",
          "Urban Peak", "Sunday Studio", "Ironbark", "Papillon"]
CATEGORIES = ["Men's clothing", "Women's clothing", "Shoes", "Bags", "Accessories", "Jewellery",
              "Home decor", "Kitchen", "Tableware", "Stationery", "Toys", "Sports", "Outdoor",
              "Electronics", "Audio", "Books", "Beauty", "Garden", "Tools", "Pet supplies"]
ADJECTIVES = ["Classic", "Vintage", "Essential", "Premium", "Lightweight", "Handmade", "Organic",
              "Compact", "Deluxe", "Everyday", "Rustic", "Modern", "Soft", "Sturdy", "Élégant", "Slim"]
MATERIALS = ["Cotton", "Linen", "Wool", "Leather", "Bamboo", "Oak", "Ceramic", "Steel", "Canvas",
             "Glass", "Cork", "Recycled"]
NOUNS = ["T-shirt", "Sweater", "Hoodie", "Jacket", "Scarf", "Tote bag", "Backpack", "Wallet",
         "Notebook", "Mug", "Vase", "Lamp", "Cushion", "Blanket", "Tray", "Bottle", "Watch strap",
         "Poster", "Planter", "Apron", "Cap", "Sneakers", "Belt", "Headphones", "Speaker"]
SIZES = [("S", -1.0), ("M", 0.0), ("L", 0.0), ("XL", 2.5)]  # and their price impact
COLORS = [("Black", "#000000", "BLK"), ("White", "#ffffff", "WHT"), ("Navy", "#1f2a44", "NVY"),
          ("Red", "#c0392b", "RED"), ("Green", "#2e7d32", "GRN"), ("Crème", "#f3e9d2", "CRM")]
SIZE_GROUP, COLOR_GROUP = 1, 2  # attribute ids: sizes 1..4, colours 5..10

NAMES = [(f"{a} {m} {n}", f"{a}-{m}-{n}".lower().replace(" ", "-").replace("&", "and").replace("é", "e"))
         for a, m, n in cartesian(ADJECTIVES, MATERIALS, NOUNS)]
DATES = [f"20{y:02d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:00"  # sorted: date_add <= date_upd by index
         for y in (23, 24, 25) for mo in range(1, 13) for d in (3, 11, 19, 27)
         for h, mi in ((9, 5), (16, 40))]


def ean13(first12: str) -> str:
    """`first12` digits followed by their EAN-13 check digit."""
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return first12 + str(-total % 10)


def create_demo_shop(url: str, products: int = 1000, seed: int = 42, prefix: str = "ps_", *,
                     overwrite: bool = False) -> int:
    """Create a demo shop at `url` with `products` generated products; returns how many.

    The same (products, seed) gives the same shop on every backend. Raises `Refused` if the
    SQLite file, or the MySQL database's product table, already exists and `overwrite` is false.
    With `overwrite` in MySQL, the tables of schema.py are dropped first: never point it at a
    real shop's database.
    """
    if products < 0:
        raise Refused(f"a demo shop needs 0 or more products, not {products}")
    tables = shop_tables(prefix)

    def build(engine: sa.Engine) -> None:
        _build(engine, tables, products, seed)

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            raise Refused(f"the demo shop needs a SQLite file, not {url}")
        _atomic_sqlite(Path(u.database).expanduser().resolve(), overwrite, build)
    else:
        _in_database(url, tables, overwrite, build)
    return products


def _atomic_sqlite(path: Path, overwrite: bool, build: Callable[[sa.Engine], None]) -> None:
    """Build into a temporary file next to `path`, then rename it over `path`."""
    if path.exists() and not overwrite:
        raise Refused(f"demo shop {path} already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would make the shop private to this user
    try:
        engine = sa.create_engine(sa.URL.create("sqlite", database=str(tmp)))
        try:
            build(engine)
        finally:
            engine.dispose()
        with open(tmp, "rb+") as f:  # journal and syncs were off while building: sync once, now
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _in_database(url: str, tables: ShopTables, overwrite: bool, build: Callable[[sa.Engine], None]) -> None:
    """Build in an existing (MySQL/MariaDB) database; with `overwrite`, drop our tables first."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(tables.product.name):
                if not overwrite:
                    raise Refused(f"{safe_url(url)} already has a table {tables.product.name}; "
                                  "refusing to overwrite it")
                tables.metadata.drop_all(conn)
        build(engine)
    finally:
        engine.dispose()


def _build(engine: sa.Engine, tables: ShopTables, products: int, seed: int) -> None:
    """Tables, reference data, products (in chunks), then secondary indexes."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                           "temp_store=MEMORY", "cache_size=-65536"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
        for table in tables.metadata.sorted_tables:
            conn.execute(sa.schema.CreateTable(table))
        writer = _Writer(conn, tables)
        for name, rows in _reference_rows():
            writer.insert(name, rows)
        rng = random.Random(seed)
        next_pa = 1
        for first in range(1, products + 1, CHUNK):
            last = min(first + CHUNK - 1, products)
            chunk, next_pa = _product_rows(rng, first, last, next_pa)
            for name, rows in chunk.items():
                writer.insert(name, rows)
        _copy_shop_rows(conn, tables)
        for table in tables.metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn)
        conn.commit()


COLUMNS: dict[str, tuple[str, ...]] = {
    "manufacturer": ("id_manufacturer", "name", "date_add", "date_upd", "active"),
    "category": ("id_category", "id_parent", "id_shop_default", "level_depth", "nleft", "nright",
                 "active", "date_add", "date_upd", "position", "is_root_category"),
    "category_lang": ("id_category", "id_shop", "id_lang", "name", "description", "link_rewrite"),
    "attribute_group": ("id_attribute_group", "is_color_group", "group_type", "position"),
    "attribute_group_lang": ("id_attribute_group", "id_lang", "name", "public_name"),
    "attribute": ("id_attribute", "id_attribute_group", "color", "position"),
    "attribute_lang": ("id_attribute", "id_lang", "name"),
    "product": ("id_product", "id_manufacturer", "id_category_default", "id_shop_default",
                "id_tax_rules_group", "ean13", "upc", "mpn", "reference", "price", "wholesale_price",
                "weight", "active", "date_add", "date_upd"),
    "product_lang": ("id_product", "id_shop", "id_lang", "description", "description_short",
                     "link_rewrite", "name"),
    "stock_available": ("id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity",
                        "physical_quantity"),
    "product_attribute": ("id_product_attribute", "id_product", "reference", "ean13", "wholesale_price",
                          "price", "weight", "default_on"),
    "product_attribute_combination": ("id_attribute", "id_product_attribute"),
}
GENERATED = ("product", "product_lang", "stock_available", "product_attribute",
             "product_attribute_combination")
LONG_DESCRIPTION = "<p>Designed to last and easy to care for. Ships within 48 hours.</p>"


class _Writer:
    """executemany of plain tuples in the driver's own placeholder style (fast: no per-row objects)."""

    def __init__(self, conn: sa.Connection, tables: ShopTables):
        self.conn = conn
        quote = conn.dialect.identifier_preparer.quote
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.sql = {
            name: f"INSERT INTO {quote(getattr(tables, name).name)} ({', '.join(map(quote, cols))}) "
                  f"VALUES ({', '.join([mark] * len(cols))})"
            for name, cols in COLUMNS.items()
        }

    def insert(self, name: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.exec_driver_sql(self.sql[name], rows)


def _reference_rows() -> Iterator[tuple[str, list[tuple]]]:
    """Manufacturers, the category tree (Root > Home > 20 categories) and Size/Color attributes."""
    day = "2023-01-02 08:00:00"
    yield "manufacturer", [(i, name, day, day, 1) for i, name in enumerate(BRANDS, 1)]
    n = len(CATEGORIES)
    categories = [(1, 0, 1, 0, 1, 2 * n + 4, 1, day, day, 0, 0),  # nested set: Root > Home > the rest
                  (2, 1, 1, 1, 2, 2 * n + 3, 1, day, day, 0, 1)]
    categories += [(i + 3, 2, 1, 2, 2 * i + 3, 2 * i + 4, 1, day, day, i, 0) for i in range(n)]
    yield "category", categories
    names = ["Root", "Home", *CATEGORIES]
    yield "category_lang", [
        (i, ID_SHOP, ID_LANG, name, f"<p>{name} from our demo catalogue.</p>", _slug(name))
        for i, name in enumerate(names, 1)
    ]
    yield "attribute_group", [(SIZE_GROUP, 0, "select", 0), (COLOR_GROUP, 1, "color", 1)]
    yield "attribute_group_lang", [(SIZE_GROUP, ID_LANG, "Size", "Size"),
                                   (COLOR_GROUP, ID_LANG, "Color", "Color")]
    values = [(SIZE_GROUP, None, size) for size, _ in SIZES]
    values += [(COLOR_GROUP, hex_, name) for name, hex_, _ in COLORS]
    yield "attribute", [(i, group, hex_, i) for i, (group, hex_, _) in enumerate(values, 1)]
    yield "attribute_lang", [(i, ID_LANG, name) for i, (_, _, name) in enumerate(values, 1)]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower().replace("'", "")).strip("-")


def _product_rows(rng: random.Random, first: int, last: int,
                  next_pa: int) -> tuple[dict[str, list[tuple]], int]:
    """Rows of products first..last (the *_shop tables are copied later by `_copy_shop_rows`);
    combinations get ids from `next_pa`.

    Prices: a tax-included price in cents, stored tax excluded at 20% VAT with 6 decimals, as
    PrestaShop does (29.00 -> 24.166667). Decimals are floats whose repr is that decimal text
    (exact in SQLite's REAL and in MySQL's DECIMAL(20,6)). ~5% inactive, ~9% without brand, ~10%
    with 2-4 combinations (sizes, half in one colour) whose quantities add up to the product's.
    """
    out: dict[str, list[tuple]] = {name: [] for name in GENERATED}
    product, lang, stock = out["product"], out["product_lang"], out["stock_available"]
    random_ = rng.random
    n_names, n_dates, n_categories = len(NAMES), len(DATES), len(CATEGORIES)
    for pid in range(first, last + 1):
        name, slug = NAMES[int(random_() * n_names)]
        brand = int(random_() * 11) - 1  # -1: no brand (~9%)
        cents = 199 + int(random_() * 19_800) * (1 + int(random_() * 3))
        d1, d2 = sorted((int(random_() * n_dates), int(random_() * n_dates)))
        reference = f"DEMO-{pid:06d}"
        if brand >= 0:
            mpn, by = f"{BRANDS[brand][:3].upper()}-{pid * 7919 % 1_000_003:07d}", BRANDS[brand]
        else:
            mpn, by = None, "our workshop"
        product.append((
            pid, brand + 1, 3 + int(random_() * n_categories), ID_SHOP, ID_TAX_RULES_GROUP,
            ean13(f"200{pid:09d}"), None, mpn, reference,
            ((cents * 200_000 + 12) // 24) / 1e6,  # tax excluded at 20%, half-up at 6 decimals
            cents * (40 + int(random_() * 30)) // 100 / 100,  # wholesale: 40-70%, in cents
            (50 + int(random_() * 4_950)) / 1000,  # weight, kg
            0 if random_() < 0.05 else 1, DATES[d1], DATES[d2],
        ))
        short = f"<p>{name} by {by}. Reference {reference}.</p>"
        lang.append((pid, ID_SHOP, ID_LANG, short + LONG_DESCRIPTION, short, f"{slug}-{pid}", name))
        if random_() < 0.10:
            quantity, next_pa = _combinations(rng, out, pid, reference, next_pa)
        else:
            quantity = 0 if random_() < 0.08 else 1 + int(random_() * 500)
        stock.append((pid, 0, ID_SHOP, ID_SHOP_GROUP, quantity, quantity))
    return out, next_pa


def _combinations(rng: random.Random, out: dict[str, list[tuple]], pid: int, reference: str,
                  next_pa: int) -> tuple[int, int]:
    """Append 2-4 size combinations of product `pid` (half of them in one colour); returns the
    product's quantity (the sum of theirs) and the next free combination id."""
    sizes = sorted(rng.sample(range(len(SIZES)), rng.randint(2, 4)))
    color = rng.randrange(len(COLORS)) if rng.random() < 0.5 else None
    total = 0
    for n, size in enumerate(sizes):
        pa, (label, impact) = next_pa, SIZES[size]
        code = f"{reference}-{label}" + (f"-{COLORS[color][2]}" if color is not None else "")
        quantity = int(rng.random() * 60)
        out["product_attribute"].append((pa, pid, code, ean13(f"201{pa:09d}"), 0.0, impact, 0.0,
                                         1 if n == 0 else None))
        out["product_attribute_combination"].append((size + 1, pa))
        if color is not None:
            out["product_attribute_combination"].append((len(SIZES) + color + 1, pa))
        out["stock_available"].append((pid, pa, ID_SHOP, ID_SHOP_GROUP, quantity, quantity))
        total += quantity
        next_pa += 1
    return total, next_pa


def _copy_shop_rows(conn: sa.Connection, tables: ShopTables) -> None:
    """product_shop and product_attribute_shop for shop 1, copied from product and product_attribute
    in SQL (PrestaShop keeps the default shop's values in both)."""
    p, ps = tables.product, tables.product_shop
    cols = ["id_category_default", "id_tax_rules_group", "price", "wholesale_price", "active",
            "date_add", "date_upd"]
    select = sa.select(p.c.id_product, sa.literal(ID_SHOP), *(p.c[c] for c in cols))
    conn.execute(ps.insert().from_select(["id_product", "id_shop", *cols], select))
    pa, pas = tables.product_attribute, tables.product_attribute_shop
    cols = ["id_product", "id_product_attribute", "wholesale_price", "price", "weight", "default_on"]
    select = sa.select(*(pa.c[c] for c in cols[:2]), sa.literal(ID_SHOP), *(pa.c[c] for c in cols[2:]))
    conn.execute(pas.insert().from_select([*cols[:2], "id_shop", *cols[2:]], select))
