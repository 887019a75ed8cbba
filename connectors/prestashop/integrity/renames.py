"""fix-repeated-ids with `rename_repeated_references = true`: give each product (and combination)
sharing a reference with another product a reference of its own.

The product with the lowest id keeps the reference, with its combinations; every other product
holding it gets "<reference>-<id_product>", and each of their combinations holding it
"<reference>-<id_product>-<id_product_attribute>" (the reference shortened so the result fits
PrestaShop's 64 characters). The rows are matched as the database compares references (MariaDB's
collation ignores case, so "ab-1" and "AB-1" are one repeated value there). Repeated EAN-13 codes are
never changed: a barcode cannot be invented. The changes are whole-row images, so an undo restores
the references.
"""

from __future__ import annotations

from typing import Any

from connectors.platform.export_format import MAX_REFERENCE
from connectors.prestashop.integrity.base import Change
from connectors.prestashop.integrity.rows import Rows, decode


def renamed(reference: Any, suffix: str) -> str:
    """`reference` with `suffix`, shortened to fit MAX_REFERENCE."""
    text = decode(reference)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return text[:MAX_REFERENCE - len(suffix)] + suffix


def rename_repeated_reference(shop: Any, reference: Any, product_ids: list[int]) -> list[Change]:
    """The changes that leave `reference` (as a repeated-value record holds it) to the lowest of
    `product_ids` only."""
    if len(product_ids) < 2:
        return []
    keeper = min(product_ids)
    t = shop.tables
    with shop._connect() as conn:
        rows = Rows(conn)
        products = rows.read(t.product.name, {"reference": reference})
        combinations = rows.read(t.product_attribute.name, {"reference": reference})
    changes = [Change(t.product.name, {"id_product": row["id_product"]}, row,
                      {**row, "reference": renamed(reference, f"-{row['id_product']}")})
               for row in products if row["id_product"] != keeper]
    changes += [Change(t.product_attribute.name, {"id_product_attribute": row["id_product_attribute"]}, row,
                       {**row, "reference": renamed(reference,
                                                    f"-{row['id_product']}-{row['id_product_attribute']}")})
                for row in combinations if row["id_product"] != keeper]
    return changes
