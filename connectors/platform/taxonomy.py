"""Platform category taxonomies: the files a platform publishes of its category tree.

Two formats are read (docs/categories.md):
- Google's `taxonomy-with-ids` text file: an optional first line
  `# Google_Product_Taxonomy_Version: 2021-09-21`, then one category per line,
  `1604 - Apparel & Accessories > Clothing`;
- a CSV file of two columns, id and path (`1604,Apparel & Accessories > Clothing`), with or without
  a header line `id,path`; a path's levels are separated by " > ".

Every entry is checked: an id (at most 64 characters, no spaces), a path of non-empty levels, each
id once. A bad line is a `TaxonomyError` naming the file, the line and the value; loading is all or
nothing, so a caller never stores half a taxonomy.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import Refused

SEPARATOR = " > "
MAX_ID, MAX_PATH = 64, 1000
GOOGLE_HEADER = re.compile(r"#\s*Google_Product_Taxonomy_Version:\s*(.*)")
_GOOGLE_LINE = re.compile(r"(\S+) - (.+)")
CATEGORY_ID = re.compile(r"[^\s,>]{1,64}")  # a platform's category id
COLUMN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a mapping column: a connection or platform name


class TaxonomyError(Refused):
    """A taxonomy file that cannot be loaded; the message names the file, line and value."""


@dataclass(frozen=True)
class Taxonomy:
    """A parsed taxonomy: entries (id, path) in file order, and the version its header gives."""

    entries: list[tuple[str, str]]
    version: str | None
    format: str  # "google" or "csv"


def split_path(path: str) -> list[str]:
    """A path's levels: "Home > Clothes > Men" -> ["Home", "Clothes", "Men"] (spaces trimmed)."""
    return [part.strip() for part in path.split(">")]


def normal_path(path: str) -> str:
    """A path with its levels trimmed and joined by " > ", so "A>B" and "A > B" compare equal."""
    return SEPARATOR.join(split_path(path))


def read(path: Path) -> Taxonomy:
    """The taxonomy in the file at `path` (Google's format or a CSV, told apart by its first line)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse(text, str(path))


def parse(text: str, name: str) -> Taxonomy:
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = GOOGLE_HEADER.match(first.strip())
    if header or _GOOGLE_LINE.fullmatch(first.strip()):
        return Taxonomy(_google(text, name), header[1].strip() if header else None, "google")
    return Taxonomy(_csv(text, name), None, "csv")


def _google(text: str, name: str) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _GOOGLE_LINE.fullmatch(line)
        if m is None:
            raise TaxonomyError(f"{name} line {number}: expected 'ID - Level > Level', got {_cut(line)}")
        rows.append((number, m[1], m[2]))
    return _checked(rows, name)


def _csv(text: str, name: str) -> list[tuple[str, str]]:
    rows = []
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        number = reader.line_num
        if not cells or not any(c.strip() for c in cells):
            continue
        if len(cells) != 2:
            raise TaxonomyError(f"{name} line {number}: expected 2 cells (id, path), got {len(cells)}")
        if not rows and [c.strip().lower() for c in cells] == ["id", "path"]:
            continue  # the header line
        rows.append((number, cells[0].strip(), cells[1]))
    return _checked(rows, name)


def _checked(rows: Iterable[tuple[int, str, str]], name: str) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    out = []
    for number, ident, path in rows:
        if not CATEGORY_ID.fullmatch(ident):
            raise TaxonomyError(f"{name} line {number}: invalid category id {_cut(ident)} "
                                f"(1 to {MAX_ID} characters, no spaces, commas or '>')")
        levels = split_path(path)
        if not all(levels):
            raise TaxonomyError(f"{name} line {number}: category {ident} has an empty level in its path "
                                f"{_cut(path)}")
        joined = SEPARATOR.join(levels)
        if len(joined) > MAX_PATH:
            raise TaxonomyError(f"{name} line {number}: category {ident}'s path is {len(joined)} characters "
                                f"long (at most {MAX_PATH})")
        if ident in seen:
            raise TaxonomyError(f"{name} line {number}: category id {ident} already on line {seen[ident]}")
        seen[ident] = number
        out.append((ident, joined))
    if not out:
        raise TaxonomyError(f"{name}: no categories in the file")
    return out


def _cut(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...'"
