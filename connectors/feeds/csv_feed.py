"""CSV feeds: a header row, then one product (or combination) per record, streamed.

Delimiter: configured, or detected from the header line among `;` `,` TAB `|` (the most frequent
outside quotes; PrestaShop's own files use `;`). Quote: `"` unless configured; quoted fields may
span lines, and each row's `line` is still the physical line where it starts. Encoding: see
text.py. Blank records are skipped; cells are stripped and empty ones left out of the fields.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from connectors.feeds import headers as hdr
from connectors.feeds.base import Feed, FeedRow
from connectors.feeds.source import Source
from connectors.feeds.text import check_encoding, open_text

DELIMITERS = (";", ",", "\t", "|")
_NAMED = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


class CsvFeed(Feed):
    kind = "csv"

    def __init__(self, name: str, source: Source, *, delimiter: str | None = None,
                 quotechar: str | None = None, encoding: str | None = None,
                 mapping: Mapping[str, str] | None = None):
        super().__init__(name, source.display)
        self.source = source
        self.delimiter = _one_char(self, "delimiter", _NAMED.get((delimiter or "").lower(), delimiter))
        self.quotechar = _one_char(self, "quotechar", quotechar) or '"'
        self.encoding = encoding or None
        self.mapping = dict(mapping or {})
        if self.encoding and (why := check_encoding(self.encoding)):
            raise self.fail(why)
        if why := hdr.check_mapping(self.mapping):
            raise self.fail(why)

    def check(self) -> None:
        with self._open():
            pass

    def columns(self) -> dict[str, str]:
        """Header -> field for the columns this feed reads (opens the source); {} if it is empty."""
        with self._open() as (headers, columns, _):
            return {headers[i]: field for i, field in columns.items()}

    def rows(self) -> Iterator[FeedRow]:
        with self._open() as (_, columns, records):
            for line, cells in records:
                fields = {field: value for i, field in columns.items()
                          if i < len(cells) and (value := cells[i].strip())}
                yield FeedRow(line, fields)

    @contextmanager
    def _open(self) -> Iterator[tuple[list[str], dict[int, str], Iterator[tuple[int, list[str]]]]]:
        """(header cells, column index -> field, records after the header as (line, cells))."""
        with self.source.open() as binary:
            text, encoding = open_text(binary, self.encoding)
            with text:
                first = self._decode(text.readline, encoding, 1)
                delimiter = self.delimiter or detect_delimiter(first, self.quotechar)
                reader = csv.reader(itertools.chain([first], text), delimiter=delimiter,
                                    quotechar=self.quotechar)
                records = self._records(reader, encoding)
                header = next(records, None)
                if header is None:  # an empty file: no rows (the importer says so)
                    yield [], {}, iter(())
                    return
                columns, why = hdr.resolve(header[1], self.mapping)
                if why:
                    raise self.fail(f"{self.location}: {why}; header: {_show(header[1])}")
                yield header[1], columns, records

    def _records(self, reader, encoding: str) -> Iterator[tuple[int, list[str]]]:
        """Non-blank records with the physical line each starts on."""
        end = 0
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num
                if (cells and cells[0].strip()) or any(c.strip() for c in cells):
                    yield start, cells
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._unreadable(exc, encoding, end + 1) from None

    def _decode(self, read, encoding: str, line: int):
        """`read()`, with decoding and CSV syntax errors turned into ConnectorErrors."""
        try:
            return read()
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._unreadable(exc, encoding, line) from None

    def _unreadable(self, exc: UnicodeDecodeError | csv.Error, encoding: str, line: int):
        if isinstance(exc, UnicodeDecodeError):
            return self.fail(f"{self.location} is not valid {encoding} (line {line}); "
                             "set the feed's `encoding`")
        return self.fail(f"{self.location} line {line}: {exc}")


def detect_delimiter(header_line: str, quotechar: str = '"') -> str:
    """The candidate delimiter found most often outside quotes in `header_line` (`;` if none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == quotechar:
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the earlier in DELIMITERS
    return best if counts[best] else ";"


def _one_char(feed: Feed, option: str, value: str | None) -> str | None:
    if value is not None and len(value) != 1:
        raise feed.fail(f"{option} must be one character, not {value!r}")
    return value


def _show(headers: list[str], limit: int = 12) -> str:
    """The header cells as a short list for an error message."""
    shown = ", ".join(repr(h) for h in headers[:limit])
    return shown + (f", ... ({len(headers)} columns)" if len(headers) > limit else "")
