"""What every feed gives: `FeedRow`s with canonical field names, in file order.

A feed is read again from its source on each `rows()` call and streamed: memory does not grow with
the number of rows. Values stay strings (the importer parses them and reports bad ones with the
row's line); an empty cell or a JSON null is left out of `fields`, so "absent" always means "the
feed says nothing about this field".

A row the feed cannot read (a CSV line with an unterminated quote or the wrong number of cells, an
undecodable line, a JSON product that is not an object) costs only itself: it is yielded in its
place with `error` set, so every row of the file is accounted for, and the rows after it are read.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import NamedTuple

from core.errors import ConnectorError
from core.fields import FEED_FIELDS, FEED_KEY_FIELDS

FIELDS = FEED_FIELDS  # the fields an importer understands (core.fields)
KEY_FIELDS = FEED_KEY_FIELDS
# What an error row's `fields` may hold: what finds the product, never a value to write.
ERROR_ROW_FIELDS = (*FEED_KEY_FIELDS, "combination_reference", "combination_ean13")
RAW_SHOWN = 80  # characters of a line an error quotes
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # not text: no database, file or log can hold one


class FeedRow(NamedTuple):
    """One row: `line` is the CSV physical line where the row starts (header = 1), or the 1-based
    index of the product in a JSON file's `products` (its combinations' rows share it).

    `error` is None for a row that was read; else a one-line reason naming the line and quoting its
    raw text (`raw`), and `fields` holds at most the row's keys (`ERROR_ROW_FIELDS`), for the
    report: an error row must never be applied."""

    line: int
    fields: dict[str, str]
    error: str | None = None


def raw(text: str, limit: int = RAW_SHOWN) -> str:
    """`text` as an error message quotes it: without its line ending, cut to `limit` characters
    (then "..."), in double quotes with JSON escapes, so it stays on one line."""
    text = text.rstrip("\r\n")
    return json.dumps(text if len(text) <= limit else text[:limit] + "...", ensure_ascii=False)


def escaped(text: str) -> str:
    r"""`text` with each lone surrogate written as its JSON escape (\ud800), so it can be stored."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def lone_surrogate(text: str) -> str | None:
    r"""The first lone surrogate of `text` as its escape (\ud800), or None: a JSON feed may hold
    one ("\ud800"), and it is not text."""
    found = _SURROGATE.search(text)
    return f"\\u{ord(found.group()):04x}" if found else None


def key_fields(fields: dict[str, str]) -> dict[str, str]:
    """The part of `fields` an error row may carry."""
    return {f: v for f, v in fields.items() if f in ERROR_ROW_FIELDS}


class Feed(ABC):
    """A named feed at `location` (a path or URL, shown without any password)."""

    kind = "feed"

    def __init__(self, name: str, location: str):
        self.name, self.location = name, location

    def fail(self, reason: str) -> ConnectorError:
        """A one-line error naming the feed."""
        return ConnectorError(f"feed {self.name}: {reason}")

    @abstractmethod
    def rows(self) -> Iterator[FeedRow]:
        """Every row in file order, error rows included; opens the source on the first `next()`.

        Raises ConnectorError for a missing or unreadable source, an unusable header or layout,
        or a source that ends early (truncated download, JSON without its closing `]}`).
        """

    @abstractmethod
    def check(self) -> None:
        """Open the source and read its header; raises ConnectorError saying why it is unusable."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.location!r})"
