"""JSON feeds in our export format (connectors/platform/export_format.py), so exports round-trip.

Export files are streamed product by product: they hold one product per line between the head
(`{"format":...,"task":{...},"products":[`) and the tail (`]}`). A file in another layout (e.g.
pretty-printed) is parsed whole if it is at most `WHOLE_FILE_LIMIT` bytes, else refused. A file
that ends before its `]}` is an error, never a short feed.

Each product gives a row of product fields, then one row per combination: `reference` (its
product's), `combination_reference`, `combination_ean13`, `price` (the price impact) and `quantity`;
no `id_product`, so a match by id can never mistake a combination row for its product.

One malformed product costs only its own rows, each yielded with an error: a product line that is
not valid JSON, a product or combination that is not an object, `combinations` that is not a list,
a field that is an object or a list instead of a value. A file that cannot be parsed at all (not in
the streamed layout), or ends early, is still an error for the whole feed.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from connectors.feeds.base import Feed, FeedRow, escaped, key_fields, lone_surrogate, raw
from connectors.feeds.source import Source
from connectors.platform.export_format import FORMAT, READABLE_FORMATS

WHOLE_FILE_LIMIT = 64 * 1024 * 1024
_HEAD_END = b'"products":['
_TAIL = b"]}"


class JsonFeed(Feed):
    kind = "json"

    def __init__(self, name: str, source: Source):
        super().__init__(name, source.display)
        self.source = source

    def check(self) -> None:
        with self.source.open() as binary:
            first = binary.readline().removeprefix(codecs.BOM_UTF8)
            if first.rstrip().endswith(_HEAD_END):
                self._head(first)

    def rows(self) -> Iterator[FeedRow]:
        with self.source.open() as binary:
            first = binary.readline().removeprefix(codecs.BOM_UTF8)
            products = (self._streamed(first, binary) if first.rstrip().endswith(_HEAD_END)
                        else self._whole(first, binary))
            for index, product in enumerate(products, 1):
                if isinstance(product, _Unparsed):
                    yield FeedRow(index, {}, f"product {index} ({product.where}) is not valid JSON "
                                             f"({product.why}): {raw(product.text)}")
                elif not (isinstance(product, dict) and product.get("deleted") is True):
                    yield from product_rows(index, product)  # a deleted entry is not a product to import

    def _head(self, first: bytes) -> dict[str, Any]:
        """The head line parsed as an object (without its products), format checked."""
        head = self._loads(first.rstrip()[:-len(_HEAD_END)].rstrip(b",") + b"}", "the first line")
        self._check_format(head)
        return head

    def _streamed(self, first: bytes, binary: BinaryIO) -> Iterator[Any]:
        """The products of a file in the one-product-per-line layout; an _Unparsed for a line that is
        not valid JSON."""
        self._head(first)
        for number, data in enumerate(binary, 2):
            line = data.strip()
            if line == _TAIL:
                if binary.read(1024).strip():
                    raise self.fail(f"{self.location}: unexpected data after the closing ]}}")
                return
            if line:
                line = line.rstrip(b",")
                try:
                    yield json.loads(line)
                except (ValueError, UnicodeDecodeError) as exc:
                    text = line.decode("utf-8", errors="backslashreplace")
                    yield _Unparsed(f"line {number}", _reason(exc), text)
        raise self.fail(f"{self.location} ends before the closing ]}} of its products (truncated?)")

    def _whole(self, first: bytes, binary: BinaryIO) -> list[Any]:
        """The products of a small file in any other layout: an export object or a bare list."""
        data = first + binary.read(WHOLE_FILE_LIMIT + 1 - len(first))
        if len(data) > WHOLE_FILE_LIMIT:
            raise self.fail(f"{self.location} is not in the one-product-per-line layout of {FORMAT} "
                            f"and larger than {WHOLE_FILE_LIMIT // 2**20} MiB")
        if not data.strip():
            raise self.fail(f"{self.location} is empty")
        document = self._loads(data, "the document")
        if isinstance(document, list):
            return document
        if isinstance(document, dict) and isinstance(document.get("products"), list):
            self._check_format(document)
            return document["products"]
        raise self.fail(f"{self.location}: expected an object with a \"products\" list")

    def _loads(self, data: bytes, where: str) -> Any:
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self.fail(f"{self.location}: {where} is not valid JSON: {exc}") from None

    def _check_format(self, head: Any) -> None:
        found = head.get("format") if isinstance(head, dict) else None
        if found is not None and found not in READABLE_FORMATS:
            raise self.fail(f"{self.location}: format {found!r} is not {FORMAT}")


class _Unparsed(NamedTuple):
    """A product line that is not valid JSON: where, why, and its text."""

    where: str
    why: str
    text: str


def _reason(exc: ValueError) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(":")[0]


def product_rows(index: int, product: Any) -> Iterator[FeedRow]:
    """The rows of one export-format product: itself, then each of its combinations; a part that
    is malformed gives an error row in its place (see the module's docstring)."""
    if not isinstance(product, dict):
        yield FeedRow(index, {}, f"product {index} is not a JSON object: {_raw(product)}")
        return
    get = product.get
    yield _row(index, f"product {index}", {
        "id_product": get("id_product"), "reference": get("reference"), "ean13": get("ean13"),
        "upc": get("upc"), "mpn": get("mpn"), "name": get("name"), "price": get("price"),
        "wholesale_price": get("wholesale_price"), "quantity": get("quantity"),
        "active": get("active"), "weight": get("weight"),
    })
    combinations = get("combinations") or []
    if not isinstance(combinations, list):
        yield FeedRow(index, _keys({"reference": get("reference")}),
                      f"product {index}: combinations is not a list: {_raw(combinations)}")
        return
    for number, combination in enumerate(combinations, 1):
        where = f"product {index} combination {number}"
        if not isinstance(combination, dict):
            yield FeedRow(index, _keys({"reference": get("reference")}),
                          f"{where} is not a JSON object: {_raw(combination)}")
            continue
        yield _row(index, where, {
            "reference": get("reference"),
            "combination_reference": combination.get("reference"),
            "combination_ean13": combination.get("ean13"),
            "price": combination.get("price_impact"), "quantity": combination.get("quantity"),
        })


def _row(index: int, where: str, values: dict[str, Any]) -> FeedRow:
    """A row of `values`, or an error row naming the first one that is an object or a list, or
    text holding a lone surrogate ("a\\ud800b": valid JSON, but no text; the state database
    could not even store it)."""
    for field, value in values.items():
        if isinstance(value, (dict, list)):
            kind = "an object" if isinstance(value, dict) else "a list"
            return FeedRow(index, _keys(values), f"{where}: {field} is {kind}, not a value: {_raw(value)}")
        if isinstance(value, str) and (surrogate := lone_surrogate(value)):
            return FeedRow(index, _keys(values), f"{where}: {field} holds a lone surrogate {surrogate}, "
                                                 f"not text: {escaped(raw(value))}")
    return FeedRow(index, _scalars(values))


def _raw(value: Any) -> str:
    """A JSON value as an error quotes it, lone surrogates escaped (see `_row`)."""
    return escaped(raw(_dumps(value)))


def _keys(values: dict[str, Any]) -> dict[str, str]:
    """What an error row keeps: its keys, those that are text."""
    return {f: v for f, v in key_fields(_scalars(values)).items() if not lone_surrogate(v)}


def _scalars(values: dict[str, Any]) -> dict[str, str]:
    """Values as strings (booleans as "1"/"0"); None, "", objects and lists left out."""
    out = {}
    for field, value in values.items():
        if isinstance(value, bool):
            out[field] = "1" if value else "0"
        elif value is not None and not isinstance(value, (dict, list)) and (text := str(value).strip()):
            out[field] = text
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
