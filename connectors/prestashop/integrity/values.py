"""What makes a product's code or text bad, and how a fix cleans text: EAN-13 codes (GS1 check
digit), broken UTF-8 and control characters, surrounding spaces.

Text comes as the checks read it: str, bytes (SQLite text that is not valid UTF-8, read with a
bytes text factory), an integrity.rows image's {"hex": ...}, or None.
"""

from __future__ import annotations

import unicodedata
from typing import Any

BYTES = (bytes, bytearray, memoryview)


def ean13_problem(code: str) -> str | None:
    """Why `code` is no GS1 barcode (EAN-8, UPC-A or EAN-13: 8, 12 or 13 digits, the last the
    check digit), or None when it is one or empty."""
    if not code:
        return None
    if not (code.isascii() and code.isdigit()):
        return "not only digits"
    if len(code) not in (8, 12, 13):
        return f"{len(code)} digits (8, 12 or 13 expected)"
    body = code[-2::-1]  # from the digit before the check digit leftwards: weights 3, 1, 3, ...
    check = -(3 * sum(map(int, body[0::2])) + sum(map(int, body[1::2]))) % 10
    return None if int(code[-1]) == check else f"wrong check digit {code[-1]} ({check} expected)"


def as_text(value: Any) -> str:
    """A text value as str: "" for NULL, bytes that are not UTF-8 with U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, dict):  # an image's {"hex": ...}
        value = bytes.fromhex(value["hex"])
    if isinstance(value, BYTES):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def text_problem(value: Any) -> str | None:
    """What is wrong with a text value (broken UTF-8, control characters), or None."""
    if isinstance(value, (*BYTES, dict)):
        return "is not valid UTF-8"
    if isinstance(value, str) and not value.isprintable() and any(_control(c) for c in value):
        return "has control characters"
    return None


def untrimmed(value: Any) -> bool:
    text = as_text(value)
    return text != text.strip()


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean(value: Any) -> Any:
    """Text with broken UTF-8 replaced by U+FFFD and control characters removed (NULL stays)."""
    if value is None:
        return None
    return "".join(c for c in as_text(value) if not _control(c))


def clean_reference(value: Any) -> Any:
    """`clean`, then trimmed."""
    cleaned = clean(value)
    return cleaned.strip() if cleaned is not None else None


def show(value: Any) -> str:
    """A value in a one-line detail: quoted, control characters escaped."""
    return "NULL" if value is None else repr(as_text(value))


def _control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"
