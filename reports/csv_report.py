"""The CSV report of a task: every queued product, its outcome and why. Streams row by row.

Cells a spreadsheet would run as a formula (OWASP "CSV injection": starting with =, +, -, @, tab or
carriage return) get a leading apostrophe: inert in Excel/LibreOffice, still readable.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from tasks.models import ItemRecord

HEADER = ["position", "product_id", "combination_id", "reference", "name", "status", "action", "details"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(items: Iterable[ItemRecord], out: TextIO) -> int:
    """Write the header and one row per item to `out`; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = 0
    for item in items:
        writer.writerow([neutralise(cell) for cell in item])
        rows += 1
    return rows
