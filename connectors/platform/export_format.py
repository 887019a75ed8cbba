"""The sync platform's export format: product and order dicts, their JSON encoding, the file's envelope.

An export file is one JSON document (schema: `SCHEMA_PATH`, draft 2020-12):

    {"format": "heartbeat-export/1",
     "task": {"id": 7, "profile": "nightly", "connection": "shop", "created_at": "2026-...Z"},
     "products": [product, ...]}

or, for a sales orders export, the same with `"orders": [order, ...]` instead of "products".

Writers stream it: `file_head(..., entity=...)`, then records joined by `SEPARATOR` (each
`dumps_product(p)` or `dumps_order(o)`), then `FILE_TAIL`: one record per line, so the file reads and
diffs well, and every byte is determined by the task and its records, so a resumed file is
byte-identical to an uninterrupted one.

Decimal fields (prices, weights, impacts) are strings, never JSON numbers, so no consumer rounds
them through a float: see `format_decimal`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

FORMAT = "heartbeat-export/1"
SCHEMA_PATH = Path(__file__).with_name("export-file.schema.json")
SEPARATOR = ",\n"
FILE_TAIL = "\n]}\n"
ENTITIES = ("products", "orders")  # what a file lists: its array's key

_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")


def format_decimal(value: Decimal | int | float | str) -> str:
    """A decimal as PrestaShop stores it (6 decimals), normalised: at least 2 decimals, no trailing
    zeros beyond. 12.500000 -> "12.50", 12.345678 -> "12.345678", 3 -> "3.00", -1.5 -> "-1.50".

    Values are rounded half-up to 6 decimals first (PrestaShop's precision); floats go through
    their shortest repr, so 0.1 gives "0.10", not a binary expansion.
    """
    d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    whole, _, frac = format(d.quantize(_MICRO, rounding=ROUND_HALF_UP), "f").partition(".")
    frac = frac.rstrip("0").ljust(2, "0")  # string work: this runs for every price of every export
    if whole == "-0" and frac == "00":
        whole = "0"
    return f"{whole}.{frac}"


def iso_utc(moment: datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a Z, to the second: "2026-11-02T09:00:30Z"."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def iso_local(moment: datetime | None) -> str | None:
    """A shop's naive datetime (PrestaShop stores local time) as "2024-03-01T12:00:00"; None stays
    None (also for MySQL zero dates, which the driver cannot turn into a datetime)."""
    if not isinstance(moment, datetime):
        return None
    return moment.isoformat(timespec="seconds")


def _code(value: str | None) -> str | None:
    """An identifier (EAN, UPC, MPN, reference): None when PrestaShop has NULL or ""."""
    value = (value or "").strip()
    return value or None


def combination(
    *,
    id_product_attribute: int,
    reference: str | None,
    ean13: str | None,
    price_impact: Decimal | float | int,
    quantity: int | None,
    attributes: Mapping[str, str],
) -> dict[str, Any]:
    """One combination (a variant of a product) in the export format."""
    return {
        "id_product_attribute": int(id_product_attribute),
        "reference": _code(reference),
        "ean13": _code(ean13),
        "price_impact": format_decimal(price_impact),
        "quantity": int(quantity or 0),
        "attributes": dict(attributes),
    }


def product(
    *,
    id_product: int,
    reference: str | None,
    ean13: str | None,
    upc: str | None,
    mpn: str | None,
    name: str | None,
    description_short: str | None,
    active: int | bool,
    price: Decimal | float | int,
    wholesale_price: Decimal | float | int,
    quantity: int | None,
    weight: Decimal | float | int,
    category_id: int | None,
    category_name: str | None,
    manufacturer: str | None,
    date_upd: datetime | None,
    combinations: list[dict[str, Any]],
) -> dict[str, Any]:
    """One product in the export format; keys in the schema's (and the file's) order.

    A missing stock row means quantity 0; a product without default category (NULL or 0) has
    `category` null; `combinations` are `combination(...)` dicts ordered by id.
    """
    return {
        "id_product": int(id_product),
        "reference": _code(reference),
        "ean13": _code(ean13),
        "upc": _code(upc),
        "mpn": _code(mpn),
        "name": name or "",
        "description_short": description_short or "",
        "active": bool(active),
        "price": format_decimal(price),
        "wholesale_price": format_decimal(wholesale_price),
        "quantity": int(quantity or 0),
        "weight": format_decimal(weight),
        "category": {"id": int(category_id), "name": category_name or ""} if category_id else None,
        "manufacturer": manufacturer or None,
        "date_upd": iso_local(date_upd),
        "combinations": combinations,
    }


ORDER_TOTALS = (  # ps_orders' amounts an exported order carries, in this order
    "total_products", "total_products_wt", "total_shipping_tax_excl", "total_shipping_tax_incl",
    "total_discounts_tax_excl", "total_discounts_tax_incl", "total_paid_tax_excl", "total_paid_tax_incl",
)


def order_line(
    *,
    id_order_detail: int,
    product_id: int,
    product_attribute_id: int | None,
    reference: str | None,
    ean13: str | None,
    name: str | None,
    quantity: int,
    unit_price_tax_excl: Decimal | float | int,
    unit_price_tax_incl: Decimal | float | int,
    total_price_tax_excl: Decimal | float | int,
    total_price_tax_incl: Decimal | float | int,
) -> dict[str, Any]:
    """One line of an order (ps_order_detail): the product as it was sold, not as it is now."""
    return {
        "id_order_detail": int(id_order_detail),
        "product_id": int(product_id),
        "product_attribute_id": int(product_attribute_id or 0),
        "reference": _code(reference),
        "ean13": _code(ean13),
        "name": name or "",
        "quantity": int(quantity),
        "unit_price_tax_excl": format_decimal(unit_price_tax_excl),
        "unit_price_tax_incl": format_decimal(unit_price_tax_incl),
        "total_price_tax_excl": format_decimal(total_price_tax_excl),
        "total_price_tax_incl": format_decimal(total_price_tax_incl),
    }


def _iso_currency(code: str | None) -> str | None:
    """A three-letter ISO 4217 code in capitals; None for anything else (PrestaShop's default is '0')."""
    code = (code or "").strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def order(
    *,
    id_order: int,
    reference: str | None,
    state_id: int,
    state_name: str | None,
    valid: int | bool,
    payment: str | None,
    currency: str | None,
    conversion_rate: Decimal | float | int,
    totals: Mapping[str, Decimal | float | int],
    customer_id: int,
    firstname: str | None,
    lastname: str | None,
    email: str | None,
    date_add: datetime | None,
    date_upd: datetime | None,
    lines: list[dict[str, Any]],
) -> dict[str, Any]:
    """One sales order in the export format; keys in the schema's (and the file's) order.

    `totals` holds ORDER_TOTALS (ps_orders' column names), each an amount in the order's currency;
    a customer whose row is gone has empty names and a null email; `lines` are `order_line(...)`
    dicts ordered by id_order_detail.
    """
    return {
        "id_order": int(id_order),
        "reference": _code(reference),
        "state": {"id": int(state_id or 0), "name": state_name or ""},
        "valid": bool(valid),
        "payment": payment or "",
        "currency": _iso_currency(currency),
        "conversion_rate": format_decimal(conversion_rate),
        **{key: format_decimal(totals[key]) for key in ORDER_TOTALS},
        "customer": {"id": int(customer_id), "firstname": firstname or "", "lastname": lastname or "",
                     "email": _code(email)},
        "date_add": iso_local(date_add),
        "date_upd": iso_local(date_upd),
        "lines": lines,
    }


def dumps_product(p: Mapping[str, Any]) -> str:
    """A product as compact JSON: keys in insertion order, UTF-8 text kept as is (no \\u escapes)."""
    return json.dumps(p, sort_keys=False, ensure_ascii=False, separators=(",", ":"))


dumps_order = dumps_product  # an order is encoded exactly like a product


def file_head(*, task_id: int, profile: str, connection: str, created_at: datetime,
              entity: str = "products") -> str:
    """Everything before the first record: `{"format":...,"task":{...},"<entity>":[` and a newline.

    `entity` (one of ENTITIES) names the array: "products", or "orders" for a sales orders export.
    """
    if entity not in ENTITIES:
        raise ValueError(f"unknown export entity {entity!r} (expected one of {', '.join(ENTITIES)})")
    task = {"id": task_id, "profile": profile, "connection": connection, "created_at": iso_utc(created_at)}
    head = json.dumps({"format": FORMAT, "task": task}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + f',"{entity}":[\n'


def load_schema() -> dict[str, Any]:
    """The export file's JSON Schema, parsed."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
