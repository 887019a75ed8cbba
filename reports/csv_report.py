"""The CSV report of a task: every queued product, its outcome and why. Streams row by row.

Cells a spreadsheet would run as a formula (OWASP "CSV injection": starting with =, +, -, @, tab or
carriage return) get a leading apostrophe: inert in Excel/LibreOffice, still readable.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TextIO

from tasks.models import ItemRecord

HEADER = ["position", "product_id", "combination_id", "reference", "name", "status", "action", "details"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(items: Iterable[ItemRecord], out: TextIO) -> int:
    """Write the header and one row per item to `out`; returns the number of rows."""
    rows = -1
    for text in lines(items):
        out.write(text)
        rows += 1
    return rows


class _Line:
    """A file-like that keeps the last line a csv.writer wrote."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


def lines(items: Iterable[ItemRecord]) -> Iterator[str]:
    """The report as a stream of CSV lines (header first), for a response or a file."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield line.text
    for item in items:
        writer.writerow([neutralise(cell) for cell in item])
        yield line.text


def noted(items: Iterable[ItemRecord], note: str) -> Iterator[ItemRecord]:
    """The items with `note` before each one's details (a retry names its original on every row)."""
    for item in items:
        yield item._replace(detail=f"{note}: {item.detail}" if item.detail else note)
