"""The demo shop: PrestaShop's catalogue and order tables filled with generated, deterministic
products, customers and sales orders.

`create_demo_shop` builds it in SQLite (what `heartbeat demo init` does) or in an empty MySQL/MariaDB
database (tests). For SQLite the build is atomic: it happens in a temporary file next to the target,
which replaces the target only once complete, so a failure or a kill leaves nothing half-written.

Speed: rows are generated as plain tuples and written with the driver's executemany in chunks,
the per-shop tables are copied in SQL, and secondary indexes are created after the load:
1,000,000 products (and their 100,000 orders) take about 30 s on 2 cores.
"""

from __future__ import annotations

import os
import random
import tempfile
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import accumulate
from itertools import product as cartesian
from pathlib import Path
from string import ascii_uppercase

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from connectors.prestashop.orders import OrderTables, order_tables
from connectors.prestashop.schema import ShopTables, shop_tables
from connectors.prestashop.shop import safe_url
from core.errors import Refused

CHUNK = 20_000  # products generated and inserted at a time
ID_SHOP, ID_SHOP_GROUP, ID_LANG, ID_TAX_RULES_GROUP = 1, 0, 1, 1
ID_LANG_FR, ID_COUNTRY_FR = 2, 8  # the shop's second language; France is PrestaShop's country 8
LANGUAGES = 2  # product_lang rows per product, English then French
# (id, name, rate, id_tax_rules_group): France's standard and reduced VAT, as PrestaShop's
# localization pack creates them (every demo product is in group 1; group 2 is there to be chosen)
TAXES = [(1, "TVA FR 20%", 20.0, "FR Taux standard (20%)"), (2, "TVA FR 5.5%", 5.5, "FR Taux réduit (5.5%)")]

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
HOME = 2  # the category every product is in, besides its default one (Root > Home > CATEGORIES)
# Deeper branches (id, parent, name): a product drawn into a parent goes down to its children by its id
# (see `_deeper`), and is linked to every category on the way, as a merchant ticks them in PrestaShop.
# French, for the second language (a word without a translation stays as it is)
FRENCH = {
    "Men's clothing": "Vêtements homme", "Women's clothing": "Vêtements femme", "Shoes": "Chaussures",
    "Bags": "Sacs", "Accessories": "Accessoires", "Jewellery": "Bijoux", "Home decor": "Décoration",
    "Kitchen": "Cuisine", "Tableware": "Arts de la table", "Stationery": "Papeterie", "Toys": "Jouets",
    "Sports": "Sports", "Outdoor": "Plein air", "Electronics": "Électronique", "Audio": "Audio",
    "Books": "Livres", "Beauty": "Beauté", "Garden": "Jardin", "Tools": "Outils",
    "Pet supplies": "Animalerie", "Cookware": "Ustensiles de cuisson", "Knives": "Couteaux",
    "Running": "Course à pied", "Cycling": "Cyclisme",
    "Trail running": "Trail", "Phones": "Téléphones", "Computers": "Ordinateurs", "Laptops": "Portables",
    "Root": "Racine", "Home": "Accueil", "Size": "Taille", "Color": "Couleur", "Black": "Noir",
    "White": "Blanc",
    "Navy": "Marine", "Red": "Rouge", "Green": "Vert", "Material": "Matière", "Made in": "Fabriqué en",
    "Cotton": "Coton", "Linen": "Lin", "Wool": "Laine", "Leather": "Cuir", "Bamboo": "Bambou", "Oak": "Chêne",
    "Ceramic": "Céramique", "Steel": "Acier", "Canvas": "Toile", "Glass": "Verre", "Cork": "Liège",
    "Recycled": "Recyclé", "Portugal": "Portugal", "France": "France", "Vietnam": "Viêt Nam",
}
ORIGINS = ["Portugal", "France", "Vietnam"]  # feature 2's values; feature 1 is the name's material
SUBCATEGORIES = [(23, 10, "Cookware"), (24, 10, "Knives"), (25, 14, "Running"), (26, 14, "Cycling"),
                 (27, 25, "Trail running"), (28, 16, "Phones"), (29, 16, "Computers"), (30, 29, "Laptops")]
CHILDREN = {parent: [c for c, p, _ in SUBCATEGORIES if p == parent] for _, parent, _ in SUBCATEGORIES}

NAMES = [(f"{a} {m} {n}", f"{a}-{m}-{n}".lower().replace(" ", "-").replace("&", "and").replace("é", "e"))
         for a, m, n in cartesian(ADJECTIVES, MATERIALS, NOUNS)]
DATES = [f"20{y:02d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:00"  # sorted: date_add <= date_upd by index
         for y in (23, 24, 25) for mo in range(1, 13) for d in (3, 11, 19, 27)
         for h, mi in ((9, 5), (16, 40))]

# Orders: about one per PRODUCTS_PER_ORDER products, placed in the ORDER_DAYS before ORDERS_UNTIL.
PRODUCTS_PER_ORDER, ORDER_DAYS, ORDERS_UNTIL = 10, 90, datetime(2026, 1, 1)
CUSTOMERS_SINCE = "2025-09-01 10:00:00"
ID_CURRENCY, ID_CARRIER, ID_GENDERS = 1, 1, 2
CURRENCIES = [(1, "Euro", "EUR", 1.0), (2, "US Dollar", "USD", 1.08), (3, "Pound Sterling", "GBP", 0.86)]
ORDER_STATES = [  # PrestaShop's default states: id, name, template, valid; and a demo order's odds
    (1, "Awaiting check payment", "cheque", 0, 3), (2, "Payment accepted", "payment", 1, 12),
    (3, "Processing in progress", "preparation", 1, 8), (4, "Shipped", "shipped", 1, 20),
    (5, "Delivered", "", 1, 45), (6, "Canceled", "order_canceled", 0, 5),
    (8, "Payment error", "payment_error", 0, 2), (10, "Awaiting bank wire payment", "bankwire", 0, 5),
]
STATE_ODDS = list(accumulate(state[4] for state in ORDER_STATES))
# ps_order_state of those states: module_name, color, invoice, send_email, logable, delivery, shipped, paid
STATE_FLAGS = {1: ("ps_checkpayment", "#34209E", 0, 1, 0, 0, 0, 0), 2: (None, "#3498D8", 1, 1, 1, 0, 0, 1),
               3: (None, "#3498D8", 1, 1, 1, 1, 0, 1), 4: (None, "#01B887", 1, 1, 1, 1, 1, 1),
               5: (None, "#01B887", 1, 0, 1, 1, 1, 1), 6: (None, "#2C3E50", 0, 1, 0, 0, 0, 0),
               8: (None, "#E74C3C", 0, 1, 0, 0, 0, 0), 10: ("ps_wirepayment", "#34209E", 0, 1, 0, 0, 0, 0)}
# An order's history (ps_order_history) is the state awaiting its payment (paid by check or bank
# transfer), the states before its current one, then its current one.
AWAITING = {"Payments by check": 1, "Bank transfer": 10}
STATES_BEFORE = {3: (2,), 4: (2, 3), 5: (2, 3, 4)}
SHIPPED = {4, 5}  # states whose carrier row has a tracking number
# Addresses, one per customer (id_address = id_customer): street, city, postcode, PrestaShop's id_country
CITIES = [("rue de la Roquette", "Paris", "75011", 8), ("rue Mercière", "Lyon", "69002", 8),
          ("Invalidenstraße", "Berlin", "10115", 1), ("Calle Mayor", "Madrid", "28013", 6),
          ("Via Torino", "Milano", "20123", 10), ("Goswell Road", "London", "EC1V 7EY", 17),
          ("quai de la Fosse", "Nantes", "44000", 8), ("Mönckebergstraße", "Hamburg", "20095", 1)]
TRIGRAMS = ["".join(letters) for letters in cartesian(ascii_uppercase, repeat=3)]  # order references
PAYMENTS = {1: "Payments by check", 10: "Bank transfer"}  # by state; else one of OTHER_PAYMENTS
OTHER_PAYMENTS = ["Bank transfer", "Payments by check", "Credit card", "PayPal"]
FIRST_NAMES = ["Emma", "Lucas", "Chloé", "Noah", "Léa", "Hugo", "Sofia", "Mateo", "Anouk", "Jan",
               "Zoë", "Rafael", "Ingrid", "Tomás", "Amira", "Oskar"]
LAST_NAMES = ["Martin", "Dubois", "Müller", "García", "Rossi", "Nowak", "Jansen", "Lefèvre", "Silva",
              "Andersson", "O'Brien", "Novák", "Bernard", "Fernández", "Kowalski", "Moreau"]
ATTRIBUTE_LABELS = [f"Size : {size}" for size, _ in SIZES] + [f"Color : {name}" for name, _, _ in COLORS]


def ean13(first12: str) -> str:
    """`first12` digits followed by their EAN-13 check digit."""
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return first12 + str(-total % 10)


def create_demo_shop(url: str, products: int = 1000, seed: int = 42, prefix: str = "ps_", *,
                     overwrite: bool = False, shops: int = 1) -> int:
    """Create a demo shop at `url` with `products` generated products; returns how many.

    The same (products, seed) gives the same shop on every backend. Raises `Refused` if the
    SQLite file, or the MySQL database's product table, already exists and `overwrite` is false.
    With `overwrite` in MySQL, the tables of schema.py and orders.py are dropped first: never point
    it at a real shop's database. Orders: about one per 10 products (at least one if there are
    products), with 1-4 lines each.
    """
    if products < 0:
        raise Refused(f"a demo shop needs 0 or more products, not {products}")
    tables, orders = shop_tables(prefix), order_tables(prefix)

    if shops not in (1, 2):
        raise Refused(f"a demo shop has 1 or 2 shops, not {shops}")

    def build(engine: sa.Engine) -> None:
        _build(engine, tables, orders, products, seed, shops)

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            raise Refused(f"the demo shop needs a SQLite file, not {url}")
        _atomic_sqlite(Path(u.database).expanduser().resolve(), overwrite, build)
    else:
        _in_database(url, tables, orders, overwrite, build)
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


def _in_database(url: str, tables: ShopTables, orders: OrderTables, overwrite: bool,
                 build: Callable[[sa.Engine], None]) -> None:
    """Build in an existing (MySQL/MariaDB) database; with `overwrite`, drop our tables first."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(tables.product.name):
                if not overwrite:
                    raise Refused(f"{safe_url(url)} already has a table {tables.product.name}; "
                                  "refusing to overwrite it")
                tables.metadata.drop_all(conn)
                orders.metadata.drop_all(conn)
        build(engine)
    finally:
        engine.dispose()


def _build(engine: sa.Engine, tables: ShopTables, orders: OrderTables, products: int, seed: int,
           shops: int = 1) -> None:
    """Tables, reference data, customers, products and their orders (in chunks), then secondary
    indexes."""
    all_tables = tables.metadata.sorted_tables + orders.metadata.sorted_tables
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                           "temp_store=MEMORY", "cache_size=-65536"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
        for table in all_tables:
            conn.execute(sa.schema.CreateTable(table))
        writer = _Writer(conn, tables, orders)
        for name, rows in _reference_rows():
            writer.insert(name, rows)
        rng = random.Random(seed)
        # Orders draw from a generator of their own, so the products are those of a shop without orders.
        plan = _OrderPlan(random.Random(f"orders/{seed}"), products)
        for first in range(1, plan.customers + 1, CHUNK):
            customers = plan.customer_rows(first, min(first + CHUNK - 1, plan.customers))
            writer.insert("customer", customers)
            writer.insert("address", _address_rows(customers))
        next_pa = 1
        for first in range(1, products + 1, CHUNK):
            last = min(first + CHUNK - 1, products)
            chunk, next_pa = _product_rows(rng, first, last, next_pa)
            for name, rows in chunk.items():
                writer.insert(name, rows)
            for name, rows in plan.order_rows(chunk, first, last).items():
                writer.insert(name, rows)
        _copy_shop_rows(conn, tables)
        _link_rows(conn, tables)
        if shops == 2:
            _second_shop(conn, tables)
        for table in all_tables:
            for index in table.indexes:
                index.create(conn)
        conn.commit()


COLUMNS: dict[str, tuple[str, ...]] = {
    "manufacturer": ("id_manufacturer", "name", "date_add", "date_upd", "active"),
    "category": ("id_category", "id_parent", "id_shop_default", "level_depth", "nleft", "nright",
                 "active", "date_add", "date_upd", "position", "is_root_category"),
    "category_lang": ("id_category", "id_shop", "id_lang", "name", "description", "link_rewrite"),
    "category_shop": ("id_category", "id_shop", "position"),
    "tax": ("id_tax", "rate", "active", "deleted"),
    "tax_rules_group": ("id_tax_rules_group", "name", "active", "deleted", "date_add", "date_upd"),
    "tax_rule": ("id_tax_rule", "id_tax_rules_group", "id_country", "id_state", "zipcode_from", "zipcode_to",
                 "id_tax", "behavior", "description"),
    "configuration": ("id_configuration", "id_shop_group", "id_shop", "name", "value", "date_add",
                      "date_upd"),
    "feature": ("id_feature", "position"),
    "feature_shop": ("id_feature", "id_shop"),
    "group": ("id_group", "reduction", "price_display_method", "show_prices", "date_add", "date_upd"),
    "feature_lang": ("id_feature", "id_lang", "name"),
    "feature_value": ("id_feature_value", "id_feature", "custom"),
    "feature_value_lang": ("id_feature_value", "id_lang", "value"),
    "feature_product": ("id_feature", "id_product", "id_feature_value"),
    "attribute_group": ("id_attribute_group", "is_color_group", "group_type", "position"),
    "attribute_group_lang": ("id_attribute_group", "id_lang", "name", "public_name"),
    "attribute": ("id_attribute", "id_attribute_group", "color", "position"),
    "attribute_lang": ("id_attribute", "id_lang", "name"),
    "product": ("id_product", "id_manufacturer", "id_category_default", "id_shop_default",
                "id_tax_rules_group", "ean13", "upc", "mpn", "reference", "price", "wholesale_price",
                "weight", "active", "date_add", "date_upd", "supplier_reference", "width", "height", "depth",
                "date_novelty"),
    "product_lang": ("id_product", "id_shop", "id_lang", "description", "description_short",
                     "link_rewrite", "name"),
    "stock_available": ("id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity",
                        "physical_quantity"),
    "product_attribute": ("id_product_attribute", "id_product", "reference", "ean13", "wholesale_price",
                          "price", "weight", "default_on"),
    "product_attribute_combination": ("id_attribute", "id_product_attribute"),
    "currency": ("id_currency", "name", "iso_code", "conversion_rate"),
    "shop_group": ("id_shop_group", "name", "share_stock"),
    "shop": ("id_shop", "id_shop_group", "name", "id_category", "theme_name"),
    "lang": ("id_lang", "name", "active", "iso_code", "language_code", "locale", "date_format_lite",
             "date_format_full", "is_rtl"),
    "lang_shop": ("id_lang", "id_shop"),
    "order_state": ("id_order_state", "module_name", "color", "invoice", "send_email", "logable", "delivery",
                    "shipped", "paid", "unremovable"),
    "order_state_lang": ("id_order_state", "id_lang", "name", "template"),
    "customer": ("id_customer", "id_gender", "firstname", "lastname", "email", "passwd", "date_add",
                 "date_upd"),
    "address": ("id_address", "id_country", "id_customer", "alias", "lastname", "firstname", "address1",
                "postcode", "city", "date_add", "date_upd"),
    "orders": ("id_order", "reference", "id_shop", "id_carrier", "id_lang", "id_customer", "id_cart",
               "id_currency", "id_address_delivery", "id_address_invoice", "current_state", "payment",
               "conversion_rate", "total_products", "total_products_wt", "total_shipping_tax_excl",
               "total_shipping_tax_incl", "total_discounts_tax_excl", "total_discounts_tax_incl",
               "total_paid_tax_excl", "total_paid_tax_incl", "invoice_date", "delivery_date", "valid",
               "date_add", "date_upd"),
    "order_detail": ("id_order_detail", "id_order", "id_shop", "product_id", "product_attribute_id",
                     "product_name", "product_quantity", "product_ean13", "product_reference",
                     "product_weight", "tax_name", "total_price_tax_incl", "total_price_tax_excl",
                     "unit_price_tax_incl", "unit_price_tax_excl"),
    "order_history": ("id_order_history", "id_employee", "id_order", "id_order_state", "date_add"),
    "order_carrier": ("id_order_carrier", "id_order", "id_carrier", "weight", "shipping_cost_tax_excl",
                      "shipping_cost_tax_incl", "tracking_number", "date_add"),
}
ORDER = {column: n for n, column in enumerate(COLUMNS["orders"])}  # a column's place in an order's row
DETAIL = {column: n for n, column in enumerate(COLUMNS["order_detail"])}
GENERATED = ("product", "product_lang", "stock_available", "product_attribute",
             "product_attribute_combination", "feature_product")
ZERO_DATE = "0000-00-00 00:00:00"  # PrestaShop's "no limit" in a specific price's from/to
VISITOR, GUEST, CUSTOMER = 1, 2, 3  # PrestaShop's default customer groups
# what a PrestaShop 8.1 install configures for prices, images and features (the public price's facts)
PRICE_CONFIGURATION = (
    ("PS_CURRENCY_DEFAULT", str(ID_CURRENCY)), ("PS_UNIDENTIFIED_GROUP", str(VISITOR)),
    ("PS_GUEST_GROUP", str(GUEST)), ("PS_CUSTOMER_GROUP", str(CUSTOMER)),
    ("PS_SPECIFIC_PRICE_PRIORITIES", "id_shop;id_currency;id_country;id_group"),
    ("PS_SPECIFIC_PRICE_FEATURE_ACTIVE", "1"), ("PS_FEATURE_FEATURE_ACTIVE", "1"),
    ("PS_GROUP_FEATURE_ACTIVE", "1"),
    ("PS_PRICE_ROUND_MODE", "2"), ("PS_REWRITING_SETTINGS", "0"), ("PS_ECOTAX_TAX_RULES_GROUP_ID", "1"),
)
LONG_DESCRIPTION = "<p>Designed to last and easy to care for. Ships within 48 hours.</p>"
LONG_DESCRIPTION_FR = "<p>Conçu pour durer et facile à entretenir. Expédié sous 48 heures.</p>"


class _Writer:
    """executemany of plain tuples in the driver's own placeholder style (fast: no per-row objects)."""

    def __init__(self, conn: sa.Connection, tables: ShopTables, orders: OrderTables):
        self.conn = conn
        quote = conn.dialect.identifier_preparer.quote
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        table = {name: getattr(tables, name) if hasattr(tables, name) else getattr(orders, name)
                 for name in COLUMNS}
        self.sql = {
            name: f"INSERT INTO {quote(table[name].name)} ({', '.join(map(quote, cols))}) "
                  f"VALUES ({', '.join([mark] * len(cols))})"
            for name, cols in COLUMNS.items()
        }

    def insert(self, name: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.exec_driver_sql(self.sql[name], rows)


def _reference_rows() -> Iterator[tuple[str, list[tuple]]]:
    """Manufacturers, the category tree (Root > Home > 20 categories) and Size/Color attributes."""
    day = "2023-01-02 08:00:00"
    yield "shop_group", [(1, "Default", 0)]
    yield "shop", [(ID_SHOP, 1, "Demo shop", 2, "classic")]
    yield "lang", [(ID_LANG, "English (English)", 1, "en", "en-us", "en-US", "m/d/Y", "m/d/Y H:i:s", 0),
                   (ID_LANG_FR, "Français (French)", 1, "fr", "fr-fr", "fr-FR", "d/m/Y", "d/m/Y H:i:s", 0)]
    yield "lang_shop", [(ID_LANG, ID_SHOP), (ID_LANG_FR, ID_SHOP)]
    yield "tax", [(i, rate, 1, 0) for i, _, rate, _ in TAXES]
    yield "tax_rules_group", [(i, group, 1, 0, day, day) for i, _, _, group in TAXES]
    yield "tax_rule", [(i, i, ID_COUNTRY_FR, 0, "0", "0", i, 0, "") for i, *_ in TAXES]
    yield "configuration", [(i, None, None, name, value, day, day) for i, (name, value) in enumerate(
        (("PS_LANG_DEFAULT", str(ID_LANG)), ("PS_COUNTRY_DEFAULT", str(ID_COUNTRY_FR)), ("PS_TAX", "1"),
         ("PS_SHOP_DEFAULT", str(ID_SHOP)), *PRICE_CONFIGURATION), 1)]
    yield "group", [(i, 0, 0, 1, day, day) for i in (VISITOR, GUEST, CUSTOMER)]
    yield "feature", [(1, 0), (2, 1)]
    yield "feature_shop", [(1, ID_SHOP), (2, ID_SHOP)]
    yield "feature_lang", [(f, lang, _fr(name) if lang == ID_LANG_FR else name)
                           for f, name in ((1, "Material"), (2, "Made in")) for lang in (ID_LANG, ID_LANG_FR)]
    values = [(1, material) for material in MATERIALS] + [(2, origin) for origin in ORIGINS]
    yield "feature_value", [(i, f, 0) for i, (f, _) in enumerate(values, 1)]
    yield "feature_value_lang", [(i, lang, _fr(value) if lang == ID_LANG_FR else value)
                                 for i, (_, value) in enumerate(values, 1) for lang in (ID_LANG, ID_LANG_FR)]
    yield "manufacturer", [(i, name, day, day, 1) for i, name in enumerate(BRANDS, 1)]
    tree = [(1, 0, "Root"), (HOME, 1, "Home"), *((i, HOME, name) for i, name in enumerate(CATEGORIES, 3)),
            *SUBCATEGORIES]
    nested = _nested_set(tree)
    yield "category", [(cid, parent, 1, *nested[cid], 1, day, day, position, int(cid == HOME))
                       for cid, parent, position in _positions(tree)]
    yield "category_lang", [
        (cid, ID_SHOP, ID_LANG, name, f"<p>{name} from our demo catalogue.</p>", _slug(name))
        for cid, _, name in tree
    ] + [(cid, ID_SHOP, ID_LANG_FR, _fr(name), f"<p>{_fr(name)} de notre catalogue.</p>", _slug(_fr(name)))
         for cid, _, name in tree]
    yield "category_shop", [(cid, ID_SHOP, position) for cid, _, position in _positions(tree)]
    yield "attribute_group", [(SIZE_GROUP, 0, "select", 0), (COLOR_GROUP, 1, "color", 1)]
    yield "attribute_group_lang", [(group, lang, _fr(name) if lang == ID_LANG_FR else name,
                                    _fr(name) if lang == ID_LANG_FR else name)
                                   for group, name in ((SIZE_GROUP, "Size"), (COLOR_GROUP, "Color"))
                                   for lang in (ID_LANG, ID_LANG_FR)]
    values = [(SIZE_GROUP, None, size) for size, _ in SIZES]
    values += [(COLOR_GROUP, hex_, name) for name, hex_, _ in COLORS]
    yield "attribute", [(i, group, hex_, i) for i, (group, hex_, _) in enumerate(values, 1)]
    yield "attribute_lang", [(i, lang, _fr(name) if lang == ID_LANG_FR else name)
                             for i, (_, _, name) in enumerate(values, 1) for lang in (ID_LANG, ID_LANG_FR)]
    yield "currency", CURRENCIES
    yield "order_state", [(i, *STATE_FLAGS[i], 1) for i, *_ in ORDER_STATES]
    yield "order_state_lang", [(i, ID_LANG, name, template) for i, name, template, _, _ in ORDER_STATES]


def _positions(tree: list[tuple[int, int, str]]) -> list[tuple[int, int, int]]:
    """(id, parent, position among its siblings from 0) of each category, in `tree`'s order."""
    seen: dict[int, int] = {}
    out = []
    for cid, parent, _ in tree:
        out.append((cid, parent, seen.get(parent, 0)))
        seen[parent] = seen.get(parent, 0) + 1
    return out


def _nested_set(tree: list[tuple[int, int, str]]) -> dict[int, tuple[int, int, int]]:
    """(level_depth, nleft, nright) of each category, numbered depth first by position, as
    PrestaShop's Category::regenerateEntireNtree does."""
    children: dict[int, list[int]] = {}
    for cid, parent, _ in tree:
        children.setdefault(parent, []).append(cid)
    out: dict[int, tuple[int, int, int]] = {}
    counter = 0

    def number(cid: int, depth: int) -> None:
        nonlocal counter
        counter += 1
        left = counter
        for child in children.get(cid, []):
            number(child, depth + 1)
        counter += 1
        out[cid] = (depth, left, counter)

    number(1, 0)
    return out


def _deeper(category: int, pid: int) -> int:
    """The subcategory product `pid` drawn into `category` lands in: at each level with children,
    one product in (children + 1) stays, the others go to a child by their id."""
    while category in CHILDREN:
        kids = CHILDREN[category]
        slot = pid % (len(kids) + 1)
        if slot == 0:
            return category
        category = kids[slot - 1]
        pid //= len(kids) + 1
    return category


def _fr(text: str) -> str:
    """`text` in French, word by word where a word has a translation (a whole phrase first)."""
    return FRENCH.get(text) or " ".join(FRENCH.get(word, word) for word in text.split(" "))


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
    n_materials, n_nouns, features = len(MATERIALS), len(NOUNS), out["feature_product"]
    for pid in range(first, last + 1):
        drawn = int(random_() * n_names)
        name, slug = NAMES[drawn]
        brand = int(random_() * 11) - 1  # -1: no brand (~9%)
        cents = 199 + int(random_() * 19_800) * (1 + int(random_() * 3))
        d1, d2 = sorted((int(random_() * n_dates), int(random_() * n_dates)))
        reference = f"DEMO-{pid:06d}"
        if brand >= 0:
            mpn, by = f"{BRANDS[brand][:3].upper()}-{pid * 7919 % 1_000_003:07d}", BRANDS[brand]
        else:
            mpn, by = None, "our workshop"
        product.append((
            pid, brand + 1, _deeper(3 + int(random_() * n_categories), pid), ID_SHOP, ID_TAX_RULES_GROUP,
            ean13(f"200{pid:09d}"), None, mpn, reference,
            ((cents * 200_000 + 12) // 24) / 1e6,  # tax excluded at 20%, half-up at 6 decimals
            cents * (40 + int(random_() * 30)) // 100 / 100,  # wholesale: 40-70%, in cents
            (50 + int(random_() * 4_950)) / 1000,  # weight, kg
            0 if random_() < 0.05 else 1, DATES[d1], DATES[d2],
            f"SUP-{pid * 7:07d}" if brand >= 0 else None,  # supplier reference
            10 + pid % 40, 5 + pid % 25, 2 + pid % 15,  # width, height, depth (cm), from the id
            DATES[d1],  # date_novelty: its date_add
        ))
        short = f"<p>{name} by {by}. Reference {reference}.</p>"
        lang.append((pid, ID_SHOP, ID_LANG, short + LONG_DESCRIPTION, short, f"{slug}-{pid}", name))
        french = _fr(name)
        short_fr = f"<p>{french} par {by}. Référence {reference}.</p>"
        lang.append((pid, ID_SHOP, ID_LANG_FR, short_fr + LONG_DESCRIPTION_FR, short_fr,
                     f"{_slug(french)}-{pid}", french))
        features.append((1, pid, 1 + drawn // n_nouns % n_materials))  # its name's material
        features.append((2, pid, 1 + n_materials + pid % len(ORIGINS)))
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
            "date_add", "date_upd", "date_novelty"]
    select = sa.select(p.c.id_product, sa.literal(ID_SHOP), *(p.c[c] for c in cols))
    conn.execute(ps.insert().from_select(["id_product", "id_shop", *cols], select))
    pid = ps.c.id_product  # a few products refurbished, catalog-only, sold by two, not for order
    conn.execute(ps.update().values(
        condition=sa.case((pid % 50 == 0, "refurbished"), (pid % 70 == 0, "used"), else_="new"),
        visibility=sa.case((pid % 97 == 0, "catalog"), else_="both"),
        minimal_quantity=sa.case((pid % 25 == 0, 2), else_=1),
        available_for_order=sa.case((ps.c.active == 0, 0), else_=1)))
    pa, pas = tables.product_attribute, tables.product_attribute_shop
    cols = ["id_product", "id_product_attribute", "wholesale_price", "price", "weight", "default_on"]
    select = sa.select(*(pa.c[c] for c in cols[:2]), sa.literal(ID_SHOP), *(pa.c[c] for c in cols[2:]))
    conn.execute(pas.insert().from_select([*cols[:2], "id_shop", *cols[2:]], select))


OUTLET = 2  # the second shop of a multistore demo (`demo init --shops 2`)


def _second_shop(conn: sa.Connection, tables: ShopTables) -> None:
    """A second shop, "Outlet", in the same group (its own stock), as PrestaShop fills a new shop
    given part of the catalogue: every other product (even ids) at 10 % less, its texts and images,
    combinations and stock; the whole category tree, named "Outlet ..." in English."""
    t = tables
    conn.execute(t.shop.insert().values(id_shop=OUTLET, id_shop_group=1, name="Outlet", id_category=HOME,
                                        theme_name="classic"))
    conn.execute(t.lang_shop.insert(), [{"id_lang": ID_LANG, "id_shop": OUTLET},
                                        {"id_lang": ID_LANG_FR, "id_shop": OUTLET}])
    fs = t.feature_shop
    conn.execute(fs.insert().from_select(["id_feature", "id_shop"],
                                         sa.select(fs.c.id_feature, sa.literal(OUTLET))
                                         .where(fs.c.id_shop == ID_SHOP)))
    cs, cl = t.category_shop, t.category_lang
    conn.execute(cs.insert().from_select(["id_category", "id_shop", "position"],
                                         sa.select(cs.c.id_category, sa.literal(OUTLET), cs.c.position)
                                         .where(cs.c.id_shop == ID_SHOP)))
    name = sa.case((cl.c.id_lang == ID_LANG, sa.literal("Outlet ") + cl.c.name), else_=cl.c.name)
    conn.execute(cl.insert().from_select(["id_category", "id_shop", "id_lang", "name", "description",
                                          "link_rewrite"],
                                         sa.select(cl.c.id_category, sa.literal(OUTLET), cl.c.id_lang, name,
                                                   cl.c.description, cl.c.link_rewrite)
                                         .where(cl.c.id_shop == ID_SHOP)))
    ps = t.product_shop
    cols = [c.name for c in ps.columns if c.name not in ("id_shop", "price")]
    conn.execute(ps.insert().from_select(
        [*cols, "id_shop", "price"],
        sa.select(*(ps.c[c] for c in cols), sa.literal(OUTLET), sa.func.round(ps.c.price * 0.9, 6))
        .where(ps.c.id_shop == ID_SHOP, ps.c.id_product % 2 == 0)))
    outlet = sa.select(ps.c.id_product).where(ps.c.id_shop == OUTLET)
    for table in (t.product_lang, t.image_shop, t.product_attribute_shop):
        cols = [c.name for c in table.columns if c.name != "id_shop"]
        conn.execute(table.insert().from_select(
            [*cols, "id_shop"], sa.select(*(table.c[c] for c in cols), sa.literal(OUTLET))
            .where(table.c.id_shop == ID_SHOP, table.c.id_product.in_(outlet))))
    sa_ = t.stock_available  # the outlet's own stock: half of the main shop's
    conn.execute(sa_.insert().from_select(
        ["id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity", "physical_quantity"],
        sa.select(sa_.c.id_product, sa_.c.id_product_attribute, sa.literal(OUTLET), sa.literal(0),
                  sa_.c.quantity // 2, sa_.c.quantity // 2)
        .where(sa_.c.id_shop == ID_SHOP, sa_.c.id_product.in_(outlet))))


def _link_rows(conn: sa.Connection, tables: ShopTables) -> None:
    """In SQL, as PrestaShop links a product: category_product (its default category and Home, at
    the end of each: positions from 0 by id_product), and one cover image (id_image = id_product)
    in image and image_shop."""
    p, cp = tables.product, tables.category_product
    for category, within in ((sa.literal(HOME), None), (p.c.id_category_default, p.c.id_category_default)):
        position = sa.func.row_number().over(partition_by=within, order_by=p.c.id_product) - 1
        conn.execute(cp.insert().from_select(["id_category", "id_product", "position"],
                                             sa.select(category, p.c.id_product, position)))
    parents = {cid: parent for cid, parent, _ in SUBCATEGORIES}
    for sub in parents:  # a product of a subcategory is in its parents too, after their own products
        ancestor = parents[sub]
        while True:
            base = conn.execute(sa.select(sa.func.count()).where(cp.c.id_category == ancestor)).scalar()
            position = sa.func.row_number().over(order_by=p.c.id_product) - 1 + base
            conn.execute(cp.insert().from_select(
                ["id_category", "id_product", "position"],
                sa.select(sa.literal(ancestor), p.c.id_product, position)
                .where(p.c.id_category_default == sub)))
            if ancestor not in parents:
                break
            ancestor = parents[ancestor]
    image, image_shop = tables.image, tables.image_shop
    conn.execute(image.insert().from_select(["id_image", "id_product", "position", "cover"],
                                            sa.select(p.c.id_product, p.c.id_product, sa.literal(1),
                                                      sa.literal(1))))
    # a product with combinations has a second image, shown for its combinations
    pa, pai = tables.product_attribute, tables.product_attribute_image
    first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(image.c.id_image), 0))).scalar()
    varied = sa.select(pa.c.id_product).distinct().subquery()
    conn.execute(image.insert().from_select(
        ["id_image", "id_product", "position", "cover"],
        sa.select(first + sa.func.row_number().over(order_by=varied.c.id_product), varied.c.id_product,
                  sa.literal(2), sa.null())))
    conn.execute(image_shop.insert().from_select(["id_product", "id_image", "id_shop", "cover"],
                                                 sa.select(image.c.id_product, image.c.id_image,
                                                           sa.literal(ID_SHOP), image.c.cover)))
    conn.execute(pai.insert().from_select(
        ["id_product_attribute", "id_image"],
        sa.select(pa.c.id_product_attribute, image.c.id_image)
        .join(image, sa.and_(image.c.id_product == pa.c.id_product, image.c.position == 2))))
    pl, il = tables.product_lang, tables.image_lang  # legends: the product's name, as PrestaShop fills them
    conn.execute(il.insert().from_select(
        ["id_image", "id_lang", "legend"],
        sa.select(image.c.id_image, pl.c.id_lang, pl.c.name)
        .join(pl, sa.and_(pl.c.id_product == image.c.id_product, pl.c.id_shop == ID_SHOP))))
    # specific prices: every 20th product 10 % off for good, every 40th (from 20) 25 % off for a week
    sp, pid = tables.specific_price, p.c.id_product
    columns = ["id_product", "id_shop", "price", "reduction", "reduction_tax", "reduction_type", "from", "to"]
    week = ("2026-11-27 00:00:00", "2026-12-03 23:59:59")
    for where, reduction, (start, end) in ((pid % 20 == 0, 0.1, (ZERO_DATE, ZERO_DATE)),
                                           (pid % 40 == 20, 0.25, week)):
        conn.execute(sp.insert().from_select(columns, sa.select(
            pid, sa.literal(0), sa.literal(-1), sa.literal(reduction), sa.literal(1),
            sa.literal("percentage"), sa.literal(start), sa.literal(end)).where(where)))


class _OrderPlan:
    """The demo's customers and orders, generated chunk by chunk alongside the products.

    About one order per PRODUCTS_PER_ORDER products and one customer per two orders. Order k is
    placed in the k-th slice of the ORDER_DAYS before ORDERS_UNTIL, so ids follow dates as in a real
    shop, and updated (state changes) up to 14 days later, but before ORDERS_UNTIL. Its 1-4 lines
    are distinct products of the chunk it falls in, a random combination for those that have some.
    Amounts: the product's price plus the combination's impact, 20% VAT, free shipping from 50.00,
    a 5.00 voucher on some orders from 30.00 (tax included); all in micro-units, so totals add up.
    """

    def __init__(self, rng: random.Random, products: int):
        self.rng, self.products = rng, products
        self.orders = max(1, products // PRODUCTS_PER_ORDER) if products else 0
        self.customers = max(1, self.orders // 2) if self.orders else 0
        self.next_detail = self.next_history = 1
        self.start = ORDERS_UNTIL - timedelta(days=ORDER_DAYS)

    def customer_rows(self, first: int, last: int) -> list[tuple]:
        rows = []
        for id_customer in range(first, last + 1):
            firstname, lastname = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            email = f"{_ascii(firstname)}.{_ascii(lastname)}.{id_customer}@example.com"
            rows.append((id_customer, 1 + int(self.rng.random() * ID_GENDERS), firstname, lastname, email,
                         "", CUSTOMERS_SINCE, CUSTOMERS_SINCE))  # no password: demo customers cannot log in
        return rows

    def order_rows(self, chunk: dict[str, list[tuple]], first: int, last: int) -> dict[str, list[tuple]]:
        """The orders (and their lines) that fall in products first..last, whose rows are `chunk`."""
        out: dict[str, list[tuple]] = {name: [] for name in ("orders", "order_detail", "order_history",
                                                             "order_carrier")}
        first_order = self.orders * (first - 1) // self.products + 1
        last_order = self.orders * last // self.products
        combinations: dict[int, list[tuple]] = {}
        for pa, pid, code, ean, _, impact, _, _ in chunk["product_attribute"]:
            combinations.setdefault(pid, []).append((pa, code, ean, impact))
        attributes: dict[int, list[int]] = {}
        for id_attribute, pa in chunk["product_attribute_combination"]:
            attributes.setdefault(pa, []).append(id_attribute)
        for id_order in range(first_order, last_order + 1):
            lines, excl, incl = self._lines(chunk, combinations, attributes, id_order)
            order = self._order(id_order, excl, incl)
            out["order_detail"] += lines
            out["orders"].append(order)
            out["order_history"] += self._history(order)
            out["order_carrier"].append(_carrier(order, lines))
        return out

    def _lines(self, chunk: dict[str, list[tuple]], combinations: dict[int, list[tuple]],
               attributes: dict[int, list[int]], id_order: int) -> tuple[list[tuple], int, int]:
        """An order's lines, and their totals tax excluded and included, in micro-units."""
        products, names, random_ = chunk["product"], chunk["product_lang"], self.rng.random
        lines, total_excl, total_incl = [], 0, 0
        for pos in self.rng.sample(range(len(products)), min(1 + int(random_() * 4), len(products))):
            row = products[pos]
            pid, ean, reference, weight = row[0], row[5], row[8], row[11]
            name, pa, unit = names[pos * LANGUAGES][6], 0, round(row[9] * 1e6)  # its English row
            if pid in combinations:
                options = combinations[pid]
                pa, reference, ean, impact = options[int(random_() * len(options))]
                unit += round(impact * 1e6)
                name += " - " + ", ".join(ATTRIBUTE_LABELS[a - 1] for a in attributes[pa])
            quantity = 1 if random_() < 0.7 else 2 + int(random_() * 2)
            unit_incl = (unit * 12 + 5) // 10  # 20% VAT, half-up at 6 decimals
            lines.append((self.next_detail, id_order, ID_SHOP, pid, pa, name, quantity, ean, reference,
                          weight, "VAT 20%", unit_incl * quantity / 1e6, unit * quantity / 1e6,
                          unit_incl / 1e6, unit / 1e6))
            self.next_detail += 1
            total_excl += unit * quantity
            total_incl += unit_incl * quantity
        return lines, total_excl, total_incl

    def _order(self, id_order: int, products_excl: int, products_incl: int) -> tuple:
        random_ = self.rng.random
        shipping = 0 if products_incl >= 50_000_000 else 4_900_000
        discount = 5_000_000 if products_incl >= 30_000_000 and random_() < 0.1 else 0
        shipping_excl, discount_excl = _tax_excluded(shipping), _tax_excluded(discount)
        totals = (products_excl / 1e6, products_incl / 1e6, shipping_excl / 1e6, shipping / 1e6,
                  discount_excl / 1e6, discount / 1e6, (products_excl + shipping_excl - discount_excl) / 1e6,
                  (products_incl + shipping - discount) / 1e6)
        id_state, _, _, valid, _ = ORDER_STATES[bisect(STATE_ODDS, random_() * STATE_ODDS[-1])]
        payment = PAYMENTS.get(id_state) or OTHER_PAYMENTS[int(random_() * len(OTHER_PAYMENTS))]
        window = ORDER_DAYS * 86_400
        added = int((id_order - 1 + random_()) * window / self.orders)
        lag = 0 if random_() < 0.3 else int(random_() * min(14 * 86_400, window - 1 - added))
        date_add, date_upd = self._date(added), self._date(added + lag)
        customer = 1 + int(random_() * self.customers)
        n = len(TRIGRAMS)
        reference = (TRIGRAMS[int(random_() * n)] + TRIGRAMS[int(random_() * n)]
                     + TRIGRAMS[int(random_() * n)])  # 9 capital letters, as PrestaShop's
        # invoice and delivery dates: PrestaShop writes a zero date for "none", which MySQL 8's
        # NO_ZERO_DATE refuses, so the demo uses date_add and date_upd.
        return (id_order, reference, ID_SHOP, ID_CARRIER, ID_LANG, customer, id_order, ID_CURRENCY,
                customer, customer, id_state, payment, 1.0, *totals, date_add, date_upd, valid,
                date_add, date_upd)

    def _date(self, seconds: int) -> str:
        return (self.start + timedelta(seconds=seconds)).isoformat(" ")

    def _history(self, order: tuple) -> list[tuple]:
        """The order's state changes, from its date_add to its date_upd (the last: current_state).
        The first is the payment module's (id_employee 0), the others an employee's."""
        id_order, state = order[ORDER["id_order"]], order[ORDER["current_state"]]
        awaiting = AWAITING.get(order[ORDER["payment"]])
        first = (awaiting,) if awaiting and awaiting != state else ()
        states = (*first, *STATES_BEFORE.get(state, ()), state)
        added = datetime.fromisoformat(order[ORDER["date_add"]])
        span = (datetime.fromisoformat(order[ORDER["date_upd"]]) - added).total_seconds()
        rows = []
        for n, id_state in enumerate(states):
            at = added + timedelta(seconds=int(span * n / (len(states) - 1))) if n else added
            rows.append((self.next_history, 1 if n else 0, id_order, id_state, at.isoformat(" ")))
            self.next_history += 1
        return rows


def _carrier(order: tuple, lines: list[tuple]) -> tuple:
    """The order's ps_order_carrier row (id_order_carrier = id_order): its weight, shipping and,
    once shipped, a tracking number."""
    id_order = order[ORDER["id_order"]]
    weight, quantity = DETAIL["product_weight"], DETAIL["product_quantity"]
    grams = sum(round(line[weight] * 1000) * line[quantity] for line in lines)
    tracking = f"DEMO{id_order:09d}" if order[ORDER["current_state"]] in SHIPPED else None
    return (id_order, id_order, order[ORDER["id_carrier"]], grams / 1000,
            order[ORDER["total_shipping_tax_excl"]], order[ORDER["total_shipping_tax_incl"]], tracking,
            order[ORDER["date_add"]])


def _address_rows(customers: list[tuple]) -> list[tuple]:
    """One address per customer, with the customer's name, id_address = id_customer (what the demo
    orders' id_address_delivery and id_address_invoice name)."""
    rows = []
    for id_customer, _, firstname, lastname, *_ in customers:
        street, city, postcode, id_country = CITIES[id_customer % len(CITIES)]
        number = 1 + id_customer * 7 % 120
        rows.append((id_customer, id_country, id_customer, "My address", lastname, firstname,
                     f"{number} {street}", postcode, city, CUSTOMERS_SINCE, CUSTOMERS_SINCE))
    return rows


def _tax_excluded(micro: int) -> int:
    """A price including 20% VAT without it, half-up at 6 decimals (4.90 -> 4.083333)."""
    return (micro * 10 + 6) // 12


def _ascii(name: str) -> str:
    """A name as the local part of an email address: "Lefèvre" -> "lefevre", "O'Brien" -> "obrien"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in text.lower() if c.isalnum())
