"""Bytes to text for CSV feeds, streamed, with encoding detection.

Without a configured encoding: a UTF-16 byte-order mark means UTF-16; otherwise the first
`SNIFF_BYTES` decide: UTF-8 if they start with its BOM (dropped) or are valid UTF-8, else cp1252
(Windows Western, what Excel writes on most European systems). A file that is UTF-8 in its first
64 KiB but has a stray invalid byte further on gets that byte decoded as cp1252 instead of failing
the whole import.
A configured encoding is applied strictly, and so is UTF-16: an undecodable byte makes its physical
line unreadable (`undecodable`), and only that line: the bytes are marked, never guessed.

Lines are read one physical line at a time (`physical_lines`), each cut to a limit, so a file
without line breaks cannot fill the memory.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

SNIFF_BYTES = 64 * 1024
_FALLBACK = "heartbeat-cp1252-fallback"
_MARK = "heartbeat-mark"
# An undecodable byte b becomes the lone surrogate U+DC00+b: no codec gives one for real text.
_MARKED = re.compile(r"[\udc00-\udcff]")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the offending bytes as cp1252 (its 5 undefined bytes as Latin-1)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    text = "".join(bytes([b]).decode("cp1252", errors="strict") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                   else chr(b) for b in bad)
    return text, exc.end


def _mark(exc: UnicodeError) -> tuple[str, int]:
    """Each offending byte as a marker (`undecodable` finds them, `visible` shows them)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(_FALLBACK, _cp1252_fallback)
codecs.register_error(_MARK, _mark)


class Line(NamedTuple):
    """A physical line (its ending kept) and its 1-based number; `cut` if it was longer than the
    limit, and `text` is then only its start."""

    number: int
    text: str
    cut: bool = False


def physical_lines(text: io.TextIOBase, limit: int) -> Iterator[Line]:
    r"""Every line of `text` (ending in \n, \r\n or \r), numbered; a line of more than `limit`
    characters (ending included) comes cut, the rest of it read and dropped."""
    number, skip_lf = 0, False
    while chunk := text.readline(limit + 1):
        if skip_lf and chunk == "\n":  # the \n of a cut line's \r\n: not a line
            skip_lf = False
            continue
        number += 1
        if len(chunk) <= limit:
            skip_lf = False
            yield Line(number, chunk)
            continue
        tail = chunk
        while not tail.endswith(("\n", "\r")) and (more := text.readline(limit)):
            tail = more
        skip_lf = tail.endswith("\r")
        yield Line(number, chunk[:limit], cut=True)


def undecodable(text: str) -> bool:
    """True if `text` holds bytes its encoding could not decode."""
    return _MARKED.search(text) is not None


def visible(text: str) -> str:
    r"""`text` with each undecodable byte shown as \xNN."""
    return _MARKED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def open_text(binary: BinaryIO, encoding: str | None) -> tuple[io.TextIOWrapper, str]:
    """A text stream over `binary` (lines keep their endings, for the csv module) and the
    encoding used ("utf-8", "utf-16", "cp1252" or the configured one)."""
    head = _read_up_to(binary, SNIFF_BYTES)
    stream = io.BufferedReader(_Chain(head, binary), buffer_size=SNIFF_BYTES)
    if encoding:
        return io.TextIOWrapper(stream, encoding=encoding, errors=_MARK, newline=""), encoding
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.TextIOWrapper(stream, encoding="utf-16", errors=_MARK, newline=""), "utf-16"
    if head.startswith(codecs.BOM_UTF8) or _is_utf8(head):
        return io.TextIOWrapper(stream, encoding="utf-8-sig", errors=_FALLBACK, newline=""), "utf-8"
    return io.TextIOWrapper(stream, encoding="cp1252", errors=_FALLBACK, newline=""), "cp1252"


def check_encoding(encoding: str) -> str | None:
    """None if Python knows `encoding`, else why not."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"unknown encoding {encoding!r}"
    return None


def _is_utf8(head: bytes) -> bool:
    """True if `head` is valid UTF-8, allowing a sequence cut at the end of the sample."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _read_up_to(binary: BinaryIO, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = binary.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Chain(io.RawIOBase):
    """`head` (bytes already read) followed by the rest of `rest`; closing closes `rest`."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._rest.readinto(buffer)

    def close(self) -> None:
        self._rest.close()
        super().close()
