"""CSV header names to canonical fields: a profile's `mapping`, PrestaShop's import layouts, and
the canonical names themselves.

PrestaShop's back-office product import (AdminImportController, sample
docs/csv_import/products_import.csv, 1.7 to 8.x) names its columns "Product ID", "Active (0/1)",
"Name *", "Price tax excluded", "Wholesale price" ("Cost price" in 8.x), "Reference #", "EAN13"
("EAN-13"), "UPC", "MPN", "Weight", "Quantity". Headers are compared after `normalize`, so case,
spacing and the trailing "*" / "#" marks do not matter.

"Price tax included" and 1.6's "Price tax excluded or Price tax included" are deliberately not
recognised: whether they include tax is not known, and `price` is tax excluded. Map such a column
explicitly if it is tax excluded.

PrestaShop's combination import layout (recognised by its "Attribute (Name:Type:Position)" column)
describes combinations: there "Reference" and "EAN13" are the combination's, "Impact on price" its
price impact, "Product ID" its product's id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from connectors.feeds.base import FIELDS

IGNORE = ""  # a mapping target that drops a column

PRODUCT_HEADERS: dict[str, str] = {
    "product id": "id_product", "id": "id_product", "id product": "id_product",
    "active (0/1)": "active", "active": "active",
    "name": "name",
    "price tax excluded": "price", "price (tax excl.)": "price",
    "wholesale price": "wholesale_price", "cost price": "wholesale_price",
    "reference": "reference",  # "Reference #" once normalised
    "ean13": "ean13", "ean-13": "ean13", "ean": "ean13",
    "upc": "upc", "mpn": "mpn", "weight": "weight", "quantity": "quantity",
}
COMBINATION_MARK = "attribute (name:type:position)"
COMBINATION_HEADERS: dict[str, str] = {
    "product id": "id_product",
    "reference": "combination_reference",
    "ean13": "combination_ean13", "ean-13": "combination_ean13",
    "impact on price": "price",
    "wholesale price": "wholesale_price", "cost price": "wholesale_price",
    "quantity": "quantity",
}
KEYS = ("reference", "ean13", "id_product", "combination_reference", "combination_ean13")


def normalize(header: str) -> str:
    """Lowercase, single spaces, without surrounding blanks nor trailing "*"/"#" marks."""
    text = re.sub(r"\s+", " ", header.replace("\ufeff", "")).strip().lower()
    return text.rstrip("*# ").strip()


def check_mapping(mapping: Mapping[str, str]) -> str | None:
    """None if every target is a canonical field (or "" to ignore a column), else why not."""
    for header, field in mapping.items():
        if field != IGNORE and field not in FIELDS:
            return (f"mapping {header!r} = {field!r}: not a field "
                    f"(expected one of {', '.join(FIELDS)}, or \"\" to ignore the column)")
    return None


def resolve(headers: Sequence[str], mapping: Mapping[str, str]) -> tuple[dict[int, str], str | None]:
    """Column index -> field for `headers`, and an error (None if usable).

    The profile's `mapping` wins: a field it maps is taken from its column only, never from a
    built-in name. Unknown columns are left out. Errors: a mapped header missing from the file, two
    columns for one field, no key column (reference, ean13, id_product, or a combination's
    reference/EAN).
    """
    mapped = set(mapping.values())
    builtin = {h: f for h, f in _builtin(headers).items() if f not in mapped}
    known = builtin | {normalize(h): f for h, f in mapping.items()}
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        field = known.get(normalize(header))
        if not field:
            continue
        if field in seen:
            return {}, f"columns {seen[field]!r} and {header!r} both give {field}"
        seen[field], columns[index] = header, field
    present = {normalize(h) for h in headers}
    missing = [h for h in mapping if normalize(h) not in present]
    if missing:
        return {}, f"mapped column(s) {', '.join(map(repr, missing))} not in the header"
    if not any(f in KEYS for f in columns.values()):
        return {}, "no column gives reference, ean13 or id_product"
    return columns, None


def _builtin(headers: Sequence[str]) -> dict[str, str]:
    """The built-in names for this header: PrestaShop's product or combination layout, plus the
    canonical field names."""
    combination = any(normalize(h) == COMBINATION_MARK for h in headers)
    return {**{f: f for f in FIELDS}, **(COMBINATION_HEADERS if combination else PRODUCT_HEADERS)}
