"""The sync platform's export format: product dicts, their JSON encoding, the file's envelope.

An export file is one JSON document (schema: `SCHEMA_PATH`, draft 2020-12):

    {"format": "heartbeat-export/1",
     "task": {"id": 7, "profile": "nightly", "connection": "shop", "created_at": "2026-...Z"},
     "products": [product, ...]}

Writers stream it: `file_head(...)`, then products joined by `SEPARATOR` (each `dumps_product(p)`),
then `FILE_TAIL`: one product per line, so the file reads and diffs well, and every byte is
determined by the task and its products, so a resumed file is byte-identical to an uninterrupted one.

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

_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")


def format_decimal(value: Decimal | int | float | str) -> str:
    """A decimal as PrestaShop stores it (6 decimals), normalised: at least 2 decimals, no trailing
    zeros beyond. 12.500000 -> "12.50", 12.345678 -> "12.345678", 3 -> "3.00", -1.5 -> "-1.50".

    Values are rounded half-up to 6 decimals first (PrestaShop's precision); floats go through
    their shortest repr, so 0.1 gives "0.10", not a binary expansion.
    """
    d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    d = d.quantize(_MICRO, rounding=ROUND_HALF_UP)
    if d == 0:
        return "0.00"
    d = d.normalize()
    if d.as_tuple().exponent > -2:  # type: ignore[operator]  # finite, so an int
        d = d.quantize(_CENT)
    return format(d, "f")


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


def dumps_product(p: Mapping[str, Any]) -> str:
    """A product as compact JSON: keys in insertion order, UTF-8 text kept as is (no \\u escapes)."""
    return json.dumps(p, sort_keys=False, ensure_ascii=False, separators=(",", ":"))


def file_head(*, task_id: int, profile: str, connection: str, created_at: datetime) -> str:
    """Everything before the first product: `{"format":...,"task":{...},"products":[` and a newline."""
    task = {"id": task_id, "profile": profile, "connection": connection, "created_at": iso_utc(created_at)}
    head = json.dumps({"format": FORMAT, "task": task}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + ',"products":[\n'


def load_schema() -> dict[str, Any]:
    """The export file's JSON Schema, parsed."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
