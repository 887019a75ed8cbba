"""CSV feeds: a header row, then one product (or combination) per record, streamed and checked
record by record.

Delimiter: configured, or detected from the header line among `;` `,` TAB `|` (the most frequent
outside quotes; PrestaShop's own files use `;`). Quote: `"` unless configured. Encoding: see
text.py. Blank records are skipped; cells are stripped and empty ones left out of the fields.

A record that cannot be read costs only itself: it is yielded as an error row at the physical line
where it starts (`FeedRow.error`), and reading goes on, so every line is accounted for.
- Quoting is strict: a quote opens a cell only at its start and must close right before a delimiter
  or the end of the line (`"a"b;` and `"a" ;` are errors); `""` in a quoted cell is one quote.
- A quoted cell may span lines, the record up to `MAX_RECORD_LINES` lines and `MAX_RECORD_CHARS`
  characters. A quote that does not close within those bounds (or before the end of the file), or
  closes badly, or closes giving a record whose cell count differs from the header's, is an
  "unterminated quote" at the line where it opens, and reading resumes at the next physical line.
  So the look-ahead stays bounded; a line longer than `MAX_RECORD_CHARS` is an error of its own,
  and one cell is at most csv.field_size_limit() (128 KiB) long.
- A record has as many cells as the header (its trailing empty cells not counted). More is allowed
  only if the extra cells are all empty (Excel's `a;b;c;;`); fewer is an error, since a missing cell
  cannot be told from a shifted one.
- A line with bytes its encoding cannot decode is an error naming that line (text.py). The encoding
  used and why are logged (`feed.encoding`) and kept in `decision`.
"""

from __future__ import annotations

import csv
import itertools
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

import structlog

from connectors.feeds import headers as hdr
from connectors.feeds.base import Feed, FeedRow, key_fields, raw
from connectors.feeds.source import Source
from connectors.feeds.text import (
    Decision,
    Line,
    check_encoding,
    open_text,
    physical_lines,
    undecodable,
    visible,
)

log = structlog.get_logger("heartbeat")
DELIMITERS = (";", ",", "\t", "|")
MAX_RECORD_LINES = 1000
MAX_RECORD_CHARS = 256 * 1024
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
        self.decision: Decision | None = None  # the encoding the last read used, and why
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
            for record in records:
                cells = record.cells
                fields = {field: value for i, field in columns.items()
                          if i < len(cells) and (value := cells[i].strip())}
                if record.error is None:
                    yield FeedRow(record.line, fields)
                else:
                    yield FeedRow(record.line, {f: v for f, v in key_fields(fields).items()
                                                if not undecodable(v)}, record.error)

    @contextmanager
    def _open(self) -> Iterator[tuple[list[str], dict[int, str], Iterator[_Record]]]:
        """(header cells, column index -> field, the records after the header)."""
        with self.source.open() as binary:
            text, decision = open_text(binary, self.encoding)
            encoding = decision.encoding
            if decision != self.decision:
                self.decision = decision
                log.info("feed.encoding", feed=self.name, encoding=encoding, why=decision.why)
            with text:
                lines = physical_lines(text, MAX_RECORD_CHARS)
                first = next(lines, None)
                delimiter = self.delimiter or detect_delimiter(first.text if first else "", self.quotechar)
                records = _Records(itertools.chain([first] if first else [], lines), delimiter,
                                   self.quotechar, encoding)
                after_header = iter(records)
                header = next(after_header, None)
                if header is None:  # an empty file: no rows (the importer says so)
                    yield [], {}, iter(())
                    return
                if header.error:
                    raise self.fail(f"{self.location}: cannot read the header: {header.error}")
                columns, why = hdr.resolve(header.cells, self.mapping)
                if why:
                    raise self.fail(f"{self.location}: {why}; header: {_show(header.cells)}")
                records.width = header_width(header.cells)
                yield header.cells, columns, after_header


class _Record(NamedTuple):
    """A non-blank record: the line where it starts, its cells (for an unreadable one, the cells of
    its first line read without quotes, which may be any number), and why it is an error."""

    line: int
    cells: list[str]
    error: str | None = None


class _TooLong(Exception):
    """The record being read is past MAX_RECORD_LINES or MAX_RECORD_CHARS."""


class _Records:
    """The non-blank records of a CSV text in file order, each checked on its own (module docstring).

    Cell counts are checked once `width` is set (after the header)."""

    def __init__(self, lines: Iterator[Line], delimiter: str, quotechar: str, encoding: str):
        self._source = _Lookahead(lines)
        self._dialect = {"delimiter": delimiter, "quotechar": quotechar, "strict": True}
        self._encoding = encoding
        self.width: int | None = None

    def __iter__(self) -> Iterator[_Record]:
        reader = csv.reader(self._source, **self._dialect)
        while True:
            self._source.start()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, _TooLong) as exc:
                yield self._unreadable(exc)
                reader = csv.reader(self._source, **self._dialect)  # none of the failed record left
                continue
            lines = self._source.taken
            if not (cells and cells[0].strip()) and not any(cell.strip() for cell in cells):
                continue  # blank
            if len(lines) == 1 and len(cells) == self.width and not undecodable(lines[0].text):
                yield _Record(lines[0].number, cells)  # the usual case, in short
            elif len(lines) > 1 and self.width is not None and not fits(cells, self.width):
                yield self._unreadable(f"closes at line {lines[-1].number}, giving {len(cells)} "
                                       f"cells where the header has {self.width}")
                reader = csv.reader(self._source, **self._dialect)
            else:
                yield self._checked(lines, cells)

    def _checked(self, lines: list[Line], cells: list[str]) -> _Record:
        """A record that parsed, with its encoding and cell count checked."""
        first = lines[0]
        for line in lines:
            if undecodable(line.text):
                return _Record(first.number, cells, f"line {line.number} is not valid "
                                                    f"{self._encoding}: {visible(raw(line.text))}")
        if self.width is not None and not fits(cells, self.width):
            return _Record(first.number, cells, f"line {first.number} has {len(cells)} cells, the "
                                                f"header has {self.width}: {visible(raw(first.text))}")
        return _Record(first.number, cells)

    def _unreadable(self, why: csv.Error | _TooLong | str) -> _Record:
        """The error row of the record being read; reading resumes at the line after its first."""
        taken = len(self._source.taken)
        first = self._source.give_back()
        number, shown = first.number, visible(raw(first.text))
        if first.cut:
            error = f"line {number} is longer than {MAX_RECORD_CHARS} characters: {shown}"
        elif isinstance(why, str):
            error = f"quote opened at line {number} {why}: {shown}"
        elif taken > 1 or isinstance(why, _TooLong) or "unexpected end of data" in str(why):
            # csv says "unexpected end of data" for a quote still open at the end of the file
            error = f"unterminated quote starting at line {number}: {shown}"
        else:
            error = f"line {number} is not valid CSV ({why}): {shown}"
        unquoted = first.text.rstrip("\r\n").replace(self._dialect["quotechar"], "")
        return _Record(number, unquoted.split(self._dialect["delimiter"]), error)


class _Lookahead:
    """The csv reader's input: physical lines, keeping those of the record being read (`taken`) so
    that a record that fails can be given back but for its first line, to be read again."""

    def __init__(self, lines: Iterator[Line]):
        self._lines, self._pending = lines, deque()
        self.taken: list[Line] = []
        self._chars = 0

    def __iter__(self) -> _Lookahead:
        return self

    def __next__(self) -> str:
        """The next line's text; raises _TooLong past the record bounds."""
        line = self._pending.popleft() if self._pending else next(self._lines)
        self.taken.append(line)
        self._chars += len(line.text)
        if line.cut or len(self.taken) > MAX_RECORD_LINES or self._chars > MAX_RECORD_CHARS:
            raise _TooLong
        return line.text

    def start(self) -> None:
        """A new record begins."""
        self.taken, self._chars = [], 0

    def give_back(self) -> Line:
        """The first line of the record being read; its other lines come again next."""
        first, *rest = self.taken
        self._pending.extendleft(reversed(rest))
        self.taken = []
        return first


def fits(cells: list[str], width: int) -> bool:
    """True if a record of `cells` matches a header of `width` cells: as many, or more if the extra
    ones are all empty."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def header_width(header: list[str]) -> int:
    """The header's cell count, its trailing empty cells not counted."""
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    return width


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
