"""The import feed: the shop's own products as a supplier CSV with changed prices and quantities.

PrestaShop's back-office import layout (semicolon-separated, "Reference #", "Price tax excluded",
"Quantity"), which the import recognises without a mapping. One line per product, in id order; the
changes are deterministic by line so every contestant gets the same work:

- 1 line in 10 changes nothing (skipped "unchanged"),
- 4 in 10 change the price (+5%), 3 in 10 the quantity, 2 in 10 both (quantities only of products
  without combinations, whose quantity is the sum of their combinations'),
- 1 line in 250 names a reference the shop does not have (skipped "not found").
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bench.limit import MICRO, connect, decimal_of

HEADER = "Reference #;Price tax excluded;Quantity\n"


def write_feed(shop_url: str, path: Path) -> int:
    """Write the feed for the shop at `shop_url`; returns its number of lines (without header)."""
    db = connect(shop_url, state=False)
    try:
        db.cur.execute("SELECT p.reference, ps.price, sa.quantity, EXISTS (SELECT 1 FROM "
                       "ps_product_attribute pa WHERE pa.id_product = p.id_product) FROM ps_product p "
                       "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1 "
                       "LEFT JOIN ps_stock_available sa ON sa.id_product = p.id_product "
                       "AND sa.id_product_attribute = 0 AND sa.id_shop = 1 ORDER BY p.id_product")
        path.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(HEADER)
            for reference, price, quantity, has_combinations in db.cur:
                f.write(_line(n, reference, decimal_of(price), int(quantity or 0), bool(has_combinations)))
                n += 1
        return n
    finally:
        db.close()


def _line(n: int, reference: str, price: Decimal, quantity: int, has_combinations: bool) -> str:
    kind = n % 10
    if kind in (1, 2, 3, 4, 8, 9):
        price = (price * Decimal("1.05")).quantize(MICRO)
    if kind in (5, 6, 7, 8, 9) and not has_combinations:
        quantity += 1 + n % 5
    if n % 250 == 249:
        reference = f"UNKNOWN-{n}"
    return f"{reference};{price};{quantity}\n"
