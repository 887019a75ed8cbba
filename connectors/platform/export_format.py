"""The sync platform's export format: product and order dicts, their JSON encoding, the file's envelope.

An export file is one JSON document (schema: `SCHEMA_PATH`, draft 2020-12):

    {"format": "heartbeat-export/2",
     "task": {"id": 7, "profile": "nightly", "connection": "shop", "created_at": "2026-...Z"},
     "products": [product, ...]}

or, for a sales orders export, the same with `"orders": [order, ...]` instead of "products".

Writers stream it: `file_head(..., entity=...)`, then records joined by `SEPARATOR` (each
`dumps_product(p)` or `dumps_order(o)`), then `FILE_TAIL`: one record per line, so the file reads and
diffs well, and every byte is determined by the task and its records, so a resumed file is
byte-identical to an uninterrupted one.

Decimal fields (prices, weights, impacts) are strings, never JSON numbers, so no consumer rounds
them through a float: see `format_decimal`.

Every record is valid against the schema by construction. Shops are dirty, so the builders check
each value they are given (docs/connectors.md, "Dirty shop values"):
- a value the format cannot carry (a price that is not a number or is negative, a quantity that is
  not a whole number, a reference longer than 64 characters, a name longer than 128) raises
  `InvalidValue` naming the field and the value: that record is not exported;
- an optional identifier that is not valid (ean13, upc not digits, mpn too long) and a date that is
  not a date are exported as null, and a note says so (`notes`, which the report shows);
- text the shop stored as broken UTF-8 arrives repaired (U+FFFD, see the connector): noted too.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import repeat
from pathlib import Path
from typing import Any
from zlib import crc32

import orjson

FORMAT = "heartbeat-export/2"  # /2 added the listing keys (languages, images, taxes, ...) and deleted entries
READABLE_FORMATS = ("heartbeat-export/1", FORMAT)  # what a JSON feed may be (/2 only added keys)
SCHEMA_PATH = Path(__file__).with_name("export-file.schema.json")
SEPARATOR = ",\n"
FILE_TAIL = "\n]}\n"
ENTITIES = ("products", "orders")  # what a file lists: its array's key
UNDO_FORMAT, UNDO_ENTITY = "heartbeat-undo/1", "changes"  # a maintenance fix's undo file, laid out alike

_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")
_WHOLE = re.compile(r"[+-]?[0-9]+")
REPLACEMENT = "\ufffd"  # what a reader puts where the shop's text was not valid UTF-8
MAX_REFERENCE, MAX_NAME, MAX_MPN = 64, 128, 40  # the schema's (and PrestaShop's column) limits
_SHOWN = 40  # characters of a bad value quoted in a message


class InvalidValue(ValueError):
    """A value the export format cannot carry; the message names the field and the value:
    "price: 'abc' is not a number"."""

    def __init__(self, field: str, value: Any, why: str):
        super().__init__(f"{field}: {shown(value)} {why}")
        self.field = field


def shown(value: Any) -> str:
    """A value as a message quotes it: a number as the format writes it (-5.00, the same from
    every driver), anything else as its repr cut to about 40 characters."""
    if isinstance(value, (Decimal, float)):
        try:
            return format_decimal(value)
        except ValueError:
            return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 4] + "...'"


def format_decimal(value: Decimal | int | float | str) -> str:
    """A decimal as PrestaShop stores it (6 decimals), normalised: at least 2 decimals, no trailing
    zeros beyond. 12.500000 -> "12.50", 12.345678 -> "12.345678", 3 -> "3.00", -1.5 -> "-1.50".

    Values are rounded half-up to 6 decimals first (PrestaShop's precision); floats go through
    their shortest repr, so 0.1 gives "0.10", not a binary expansion.
    """
    d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
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
    value = "" if value is None else str(value).strip()
    return value or None


def amount(field: str, value: Any, *, negative: bool = False) -> str:
    """`format_decimal(value)`, or InvalidValue naming `field` when it is not a number (or is
    negative, unless `negative`). NULL is 0, as PrestaShop reads it."""
    try:
        text = format_decimal(0 if value is None else value)
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidValue(field, value, "is not a number") from None
    if not negative and text[0] == "-":
        raise InvalidValue(field, Decimal(text), "is negative")
    return text


def whole(field: str, value: Any) -> int:
    """An integer column's value (NULL is 0), or InvalidValue naming `field`."""
    if value.__class__ is int:
        return value
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, Decimal)) and _WHOLE.fullmatch(str(value).strip()):
        return int(str(value).strip())
    raise InvalidValue(field, value, "is not a whole number")


def _limited(field: str, value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidValue(field, value, f"is {len(value)} characters long (at most {limit})")
    return value


def _digits(field: str, value: Any, longest: int, notes: list[str] | None) -> str | None:
    """An EAN or UPC: digits only, at most `longest`; anything else is left out (null), noted."""
    code = _code(value)
    if code is None or (len(code) <= longest and code.isascii() and code.isdigit()):
        return code
    _note(notes, f"{field}: {shown(code)} is not a valid barcode (digits only, at most {longest}): "
                 "exported as null")
    return None


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None:
        notes.append(text)


def _category(category_id: Any, name: str | None, notes: list[str] | None) -> dict[str, Any] | None:
    """The default category, or None when the product has none (NULL, 0)."""
    number = whole("id_category_default", category_id)
    if number < 0:
        raise InvalidValue("id_category_default", category_id, "is negative")
    return {"id": number, "name": _text("category name", name, notes)} if number else None


def _text(field: str, value: Any, notes: list[str] | None) -> str:
    text = "" if value is None else value if value.__class__ is str else str(value)
    if REPLACEMENT in text:
        _note(notes, f"{field}: invalid UTF-8 in the shop repaired ({shown(text)})")
    return text


def combination(
    *,
    id_product_attribute: int,
    reference: str | None,
    ean13: str | None,
    price_impact: Decimal | float | int,
    quantity: int | None,
    attributes: Mapping[str, str],
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """One combination (a variant of a product) in the export format; raises InvalidValue, and
    appends to `notes` what was left out or repaired (see the module's docstring). `priced`
    adds what a listing needs once the product's price and tax are known."""
    where = f"combination {id_product_attribute} "
    return {
        "id_product_attribute": int(id_product_attribute),
        "reference": _limited(where + "reference", _code(reference), MAX_REFERENCE),
        "ean13": _digits(where + "ean13", ean13, 13, notes),
        "price_impact": amount(where + "price_impact", price_impact, negative=True),
        "quantity": whole(where + "quantity", quantity),
        "attributes": dict(attributes),
    }


def priced(combination_: dict[str, Any], *, price_tax_excl: Decimal, price_tax_incl: Decimal,
           specific_price: dict[str, Any] | None, languages: Mapping[str, Mapping[str, str]],
           images: list[int]) -> dict[str, Any]:
    """`combination_` with its public prices (computed by the connector, see
    connectors/prestashop/pricing.py), its sale (`sale(...)`, or None), its attributes in every
    language and its images' ids."""
    where = f"combination {combination_['id_product_attribute']} "
    combination_.update({
        "price_tax_excl": amount(where + "price_tax_excl", price_tax_excl),
        "price_tax_incl": amount(where + "price_tax_incl", price_tax_incl),
        "specific_price": specific_price,
        "languages": {iso: dict(names) for iso, names in languages.items()},
        "images": images,
    })
    return combination_


CONDITIONS = ("new", "used", "refurbished")
VISIBILITIES = ("both", "catalog", "search", "none")


def sale(*, price_tax_excl: Decimal, price_tax_incl: Decimal, reduction: Any, reduction_type: str,
         reduction_tax: bool, start: datetime | None, end: datetime | None,
         where: str = "") -> dict[str, Any]:
    """A sale as the format carries it: its prices (computed by the connector), the reduction as
    the shop holds it (a fraction for a percentage, an amount otherwise), its dates. Raises
    InvalidValue naming the field (a negative reduction, say)."""
    return {
        "price_tax_excl": amount(where + "specific_price", price_tax_excl),
        "price_tax_incl": amount(where + "specific_price", price_tax_incl),
        "reduction": amount(where + "reduction", reduction),
        "reduction_type": reduction_type if reduction_type in ("amount", "percentage") else "amount",
        "reduction_tax": bool(reduction_tax),
        "from": iso_local(start),
        "to": iso_local(end),
    }


def listing(
    *,
    price_tax_incl: Decimal,
    tax_rate: Decimal,
    specific_price: dict[str, Any] | None,
    supplier_reference: str | None,
    condition: str | None,
    visibility: str | None,
    available_for_order: int | bool,
    minimal_quantity: int | None,
    width: Any,
    height: Any,
    depth: Any,
    categories: list[dict[str, Any]],
    languages: Mapping[str, Mapping[str, Any]],
    images: list[dict[str, Any]],
    features: Mapping[str, Mapping[str, str]],
    notes: list[str] | None = None,
    main_language: str | None = None,
) -> dict[str, Any]:
    """The keys a marketplace listing needs besides the catalogue's (format /2), in LISTING_KEYS
    order: the public price with tax and its rate, the sale (`sale(...)` or None), codes,
    condition, visibility, dimensions, categories, every language, images and features. Raises
    InvalidValue like `product`."""
    if condition not in CONDITIONS:
        _note(notes, f"condition: {shown(condition)} is not one of {', '.join(CONDITIONS)}: exported as new")
        condition = "new"
    if visibility not in VISIBILITIES:
        _note(notes, f"visibility: {shown(visibility)} is not one of {', '.join(VISIBILITIES)}: "
                     "exported as both")
        visibility = "both"
    texts = {}
    for iso, values in languages.items():
        said = None if iso == main_language else notes  # the product's own name and short description say it
        texts[iso] = {
            "name": _limited(f"name ({iso})", _text(f"name ({iso})", values.get("name"), said), MAX_NAME),
            "description_short": _text(f"description_short ({iso})", values.get("description_short"), said),
            "description": _text(f"description ({iso})", values.get("description"), notes),
            "link_rewrite": _text(f"link_rewrite ({iso})", values.get("link_rewrite"), notes),
        }
    return {
        "price_tax_incl": amount("price_tax_incl", price_tax_incl),
        "tax_rate": amount("tax_rate", tax_rate),
        "specific_price": specific_price,
        "supplier_reference": _limited("supplier_reference", _code(supplier_reference), MAX_REFERENCE),
        "condition": condition,
        "visibility": visibility,
        "available_for_order": bool(available_for_order),
        "minimal_quantity": max(whole("minimal_quantity", minimal_quantity), 1),
        "width": amount("width", width),
        "height": amount("height", height),
        "depth": amount("depth", depth),
        "categories": categories,
        "languages": texts,
        "images": images,
        "features": {iso: dict(values) for iso, values in features.items()},
    }


def deleted(id_product: int, reference: str | None) -> dict[str, Any]:
    """The entry announcing a product deleted from the shop since the profile last sent it, so
    the platform can end its listings."""
    return {"id_product": int(id_product), "reference": _code(reference), "deleted": True}


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
    date_upd: datetime | str | None,
    combinations: list[dict[str, Any]],
    notes: list[str] | None = None,
    category_path: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One product in the export format; keys in the schema's (and the file's) order. `extra` is
    `listing(...)`'s keys (format /2), written after date_upd.

    A missing stock row means quantity 0; a product without default category (NULL or 0) has
    `category` null; `combinations` are `combination(...)` dicts ordered by id. Raises
    InvalidValue; appends to `notes` what was left out or repaired (see the module's docstring).
    A `date_upd` that is text (what a driver could not read as a date) is exported as null.
    """
    if date_upd is not None and not isinstance(date_upd, datetime):
        _note(notes, f"date_upd: {shown(date_upd)} is not a date: exported as null")
    mpn = _code(mpn)
    if mpn is not None and len(mpn) > MAX_MPN:
        _note(notes, f"mpn: {shown(mpn)} is longer than {MAX_MPN} characters: exported as null")
        mpn = None
    category = _category(category_id, category_name, notes)
    if category is not None:
        category["path"] = category_path if category_path is not None else category["name"]
    record = {
        "id_product": int(id_product),
        "reference": _limited("reference", _code(reference), MAX_REFERENCE),
        "ean13": _digits("ean13", ean13, 13, notes),
        "upc": _digits("upc", upc, 12, notes),
        "mpn": mpn,
        "name": _limited("name", _text("name", name, notes), MAX_NAME),
        "description_short": _text("description_short", description_short, notes),
        "active": bool(active),
        "price": amount("price", price),
        "wholesale_price": amount("wholesale_price", wholesale_price),
        "quantity": whole("quantity", quantity),
        "weight": amount("weight", weight),
        "category": category,
        "manufacturer": _text("manufacturer", manufacturer, notes) or None,
        "date_upd": iso_local(date_upd),
    }
    if extra:
        record.update(extra)
    record["combinations"] = combinations
    return record


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
    """One line of an order (ps_order_detail): the product as it was sold, not as it is now.
    Raises InvalidValue naming the line's field (see the module's docstring)."""
    where = f"line {id_order_detail} "
    count = whole(where + "quantity", quantity)
    if count < 0:
        raise InvalidValue(where + "quantity", quantity, "is negative")
    return {
        "id_order_detail": int(id_order_detail),
        "product_id": max(whole(where + "product_id", product_id), 0),
        "product_attribute_id": max(whole(where + "product_attribute_id", product_attribute_id), 0),
        "reference": _limited(where + "reference", _code(reference), MAX_REFERENCE),
        "ean13": _digits(where + "ean13", ean13, 13, None),
        "name": _limited(where + "name", _text("name", name, None), 255),
        "quantity": count,
        "unit_price_tax_excl": amount(where + "unit_price_tax_excl", unit_price_tax_excl),
        "unit_price_tax_incl": amount(where + "unit_price_tax_incl", unit_price_tax_incl),
        "total_price_tax_excl": amount(where + "total_price_tax_excl", total_price_tax_excl),
        "total_price_tax_incl": amount(where + "total_price_tax_incl", total_price_tax_incl),
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
        "reference": _limited("reference", _code(reference), MAX_REFERENCE),
        "state": {"id": max(whole("id_order_state", state_id), 0),
                  "name": _limited("state name", _text("state name", state_name, None), 64)},
        "valid": bool(valid),
        "payment": payment or "",
        "currency": _iso_currency(currency),
        "conversion_rate": amount("conversion_rate", conversion_rate),
        **{key: amount(key, totals[key]) for key in ORDER_TOTALS},
        "customer": {"id": int(customer_id), "firstname": firstname or "", "lastname": lastname or "",
                     "email": _code(email)},
        "date_add": iso_local(date_add),
        "date_upd": iso_local(date_upd),
        "lines": lines,
    }


LISTING_KEYS = ("price_tax_incl", "tax_rate", "specific_price", "supplier_reference", "condition",
                "visibility", "available_for_order", "minimal_quantity", "width", "height", "depth",
                "categories", "languages", "images", "features")  # what `listing` adds (format /2)
PRODUCT_KEYS = ("id_product", "reference", "ean13", "upc", "mpn", "name", "description_short", "active",
                "price", "wholesale_price", "quantity", "weight", "category", "manufacturer", "date_upd",
                *LISTING_KEYS, "platform_category", "combinations")  # a product's keys, in the order written
OPTIONAL_KEYS = ("platform_category",)  # written only by some profiles (a category_column)
_KEY_MARKS = tuple(f'"{key}":'.encode() for key in PRODUCT_KEYS)
_PACK_DIGESTS = struct.Struct(f">{len(PRODUCT_KEYS)}I").pack
SIGNATURE_CHARS = 8 * len(PRODUCT_KEYS)  # a signature's length: 8 hex digits per field


def signature(line: bytes) -> str:
    """A digest per top-level field of a `dumps_product` line (CRC-32 of each field's bytes, in
    PRODUCT_KEYS order, as hex; 0 for an optional field the line does not have): `changed_fields`
    compares two. Fields are found by their key in order: inside a JSON string a quote is always
    escaped, so `"price":` only matches the key, and the nested objects (category, combinations)
    come after the keys searched before them. `record_signature` gives the same from the record."""
    find = line.find
    digests = [0] * len(_KEY_MARKS)
    field, start = None, 0
    for i, mark in enumerate(_KEY_MARKS):
        at = find(mark, start)
        if at < 0:
            continue
        if field is not None:
            digests[field] = crc32(line[start:at])
        field, start = i, at
    if field is not None:
        digests[field] = crc32(line[start:])
    return _PACK_DIGESTS(*digests).hex()


_OPTIONAL_AT = PRODUCT_KEYS.index("platform_category")
_WITHOUT_OPTIONAL = tuple(key for key in PRODUCT_KEYS if key not in OPTIONAL_KEYS)
_LAYOUTS = {  # keys in order -> (each key mark's CRC, what follows each value in the line)
    keys: (tuple(crc32(_KEY_MARKS[PRODUCT_KEYS.index(k)]) for k in keys),
           (*repeat(b",", len(keys) - 1), b"}"))
    for keys in (PRODUCT_KEYS, _WITHOUT_OPTIONAL)}


def record_signature(p: Mapping[str, Any], line: bytes) -> str:
    """`signature(line)` for `line = encode_product(p)`, from the record rather than by searching
    the line: each field's digest is the CRC-32 of its key mark continued over its value's JSON and
    the byte after it (CRC-32 can be continued, so it is the CRC of the same bytes of the line).
    Three C calls per field and no Python loop: this runs for every product sent. A record whose
    keys are not PRODUCT_KEYS in order (a deleted entry), or with a value orjson refuses, is
    searched as before."""
    layout = _LAYOUTS.get(tuple(p))
    if layout is None:
        return signature(line)
    marks, ends = layout
    try:
        digests = list(map(crc32, ends, map(crc32, map(orjson.dumps, p.values()), marks)))
    except TypeError:  # a value orjson refuses: encode_product wrote it with json
        return signature(line)
    if len(digests) < len(PRODUCT_KEYS):
        digests.insert(_OPTIONAL_AT, 0)
    return _PACK_DIGESTS(*digests).hex()


def changed_fields(before: str | None, after: str) -> list[str] | None:
    """The fields whose digests differ between two signatures; None when `before` cannot tell
    (none recorded, or of another format)."""
    if not before or len(before) != len(after):
        return None
    return [key for i, key in enumerate(PRODUCT_KEYS) if before[8 * i:8 * i + 8] != after[8 * i:8 * i + 8]]


def encode_product(p: Mapping[str, Any]) -> bytes:
    """A product as compact JSON in UTF-8: keys in insertion order, text kept as is (no \\u
    escapes). orjson writes the same bytes as `json.dumps(p, ensure_ascii=False, separators=(",",
    ":")).encode()` for what records hold (str keys; str, int, bool, None, lists and dicts), about
    five times faster (tests/test_export_encoding.py holds it to that). A value it refuses (an
    integer beyond 64 bits, a lone surrogate, a non-str key) goes through `json` as before, so it
    is written or refused exactly as it was."""
    try:
        return orjson.dumps(p)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _json_dumps(p).encode()


def dumps_product(p: Mapping[str, Any]) -> str:
    """`encode_product` as text."""
    return encode_product(p).decode()


def _json_dumps(p: Mapping[str, Any]) -> str:
    return json.dumps(p, sort_keys=False, ensure_ascii=False, separators=(",", ":"))


encode_order, dumps_order = encode_product, dumps_product  # an order is encoded exactly like a product


def file_head(*, task_id: int, profile: str, connection: str, created_at: datetime,
              entity: str = "products") -> str:
    """Everything before the first record: `{"format":...,"task":{...},"<entity>":[` and a newline.

    `entity` (one of ENTITIES) names the array: "products", or "orders" for a sales orders export;
    UNDO_ENTITY makes a maintenance fix's undo file (format UNDO_FORMAT, the rows it changed).
    """
    if entity not in (*ENTITIES, UNDO_ENTITY):
        raise ValueError(f"unknown export entity {entity!r} (expected one of {', '.join(ENTITIES)})")
    task = {"id": task_id, "profile": profile, "connection": connection, "created_at": iso_utc(created_at)}
    kind = UNDO_FORMAT if entity == UNDO_ENTITY else FORMAT
    head = json.dumps({"format": kind, "task": task}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + f',"{entity}":[\n'


def load_schema() -> dict[str, Any]:
    """The export file's JSON Schema, parsed."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
