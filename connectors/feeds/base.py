"""What every feed gives: `FeedRow`s with canonical field names, in file order.

A feed is read again from its source on each `rows()` call and streamed: memory does not grow with
the number of rows. Values stay strings (the importer parses them and reports bad ones with the
row's line); an empty cell or a JSON null is left out of `fields`, so "absent" always means "the
feed says nothing about this field".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import NamedTuple

from core.errors import ConnectorError
from core.fields import FEED_FIELDS, FEED_KEY_FIELDS

FIELDS = FEED_FIELDS  # the fields an importer understands (core.fields)
KEY_FIELDS = FEED_KEY_FIELDS


class FeedRow(NamedTuple):
    """One row: `line` is the CSV physical line where the row starts (header = 1), or the 1-based
    index of the product in a JSON file's `products` (its combinations' rows share it)."""

    line: int
    fields: dict[str, str]


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
        """Every row in file order; opens the source on the first `next()`.

        Raises ConnectorError for a missing or unreadable source, an unusable header or layout,
        or a source that ends early (truncated download, JSON without its closing `]}`).
        """

    @abstractmethod
    def check(self) -> None:
        """Open the source and read its header; raises ConnectorError saying why it is unusable."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.location!r})"
