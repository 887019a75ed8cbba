"""Bytes to text for CSV feeds, streamed, with encoding detection.

Without a configured encoding: a UTF-16 byte-order mark means UTF-16, a UTF-8 one UTF-8; otherwise
the whole file decides, read once before the rows (streaming, `scan`): it is UTF-8 when its valid
multi-byte UTF-8 sequences outnumber its invalid bytes, else cp1252 (Windows Western, what Excel
writes on most European systems). One bad byte in a UTF-8 file therefore costs its line only, never
turns every accent of the file into mojibake ("Ã©"); a cp1252 file has no multi-byte sequence, or
few (its letter pairs that happen to form one), beside its many invalid bytes.
A configured encoding is applied strictly, and so are UTF-8 and UTF-16: an undecodable byte makes its
physical line unreadable (`undecodable`), and only that line: the bytes are marked, never guessed.
cp1252's five undefined bytes (0x81 0x8D 0x8F 0x90 0x9D) become the C1 control characters of the
same number, which the field checks refuse (core.fields.control_characters).

Lines are read one physical line at a time (`physical_lines`), each cut to a limit, so a file
without line breaks cannot fill the memory.
"""

from __future__ import annotations

import codecs
import io
import re
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

SNIFF_BYTES = 64 * 1024  # the read buffer, and what is looked at for a byte-order mark
SPOOL_BYTES = 8 * 1024 * 1024  # a stream that cannot seek (a download) is copied: in memory up to this
_ESCAPED = re.compile(r"[\udc80-\udcff]")  # an invalid byte, as surrogateescape decodes it
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


class Decision(NamedTuple):
    """The encoding a file is read with, and why (for the log)."""

    encoding: str
    why: str


class Counts(NamedTuple):
    """What `scan` found: valid multi-byte UTF-8 sequences, and bytes that are not UTF-8."""

    multibyte: int
    invalid: int


def open_text(binary: BinaryIO, encoding: str | None) -> tuple[io.TextIOWrapper, Decision]:
    """A text stream over `binary` (lines keep their endings, for the csv module) and the encoding
    used ("utf-8", "utf-16", "cp1252" or the configured one) with why. Without a configured
    encoding, the whole of `binary` is read once first (`scan`), then read again from its start."""
    if encoding:
        head = _read_up_to(binary, SNIFF_BYTES)
        return _wrap(_Chain(head, binary), encoding, _MARK), Decision(encoding, "configured")
    raw, head = _rewindable(binary)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _wrap(raw, "utf-16", _MARK), Decision("utf-16", "UTF-16 byte-order mark")
    if head.startswith(codecs.BOM_UTF8):
        return _wrap(raw, "utf-8-sig", _MARK), Decision("utf-8", "UTF-8 byte-order mark")
    decision = decide(raw.counts)
    if decision.encoding == "utf-8":
        return _wrap(raw, "utf-8", _MARK), decision
    return _wrap(raw, "cp1252", _FALLBACK), decision


def decide(counts: Counts) -> Decision:
    """UTF-8 when valid multi-byte sequences outnumber invalid bytes (SPEC), else cp1252."""
    found = f"{counts.multibyte} multi-byte UTF-8 sequences, {counts.invalid} invalid bytes"
    if counts.multibyte > counts.invalid:
        return Decision("utf-8", f"{found} in the whole file")
    if counts.invalid == 0:
        return Decision("cp1252", "plain ASCII (read the same in UTF-8)")
    return Decision("cp1252", f"not UTF-8: {found} in the whole file")


def scan(chunks) -> Counts:
    """Count the valid multi-byte UTF-8 sequences and the invalid bytes of the byte `chunks` (a
    sequence cut between two chunks is joined, as a streaming decoder does)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    multibyte = invalid = 0
    for chunk in chunks:
        multibyte, invalid = _add(decoder.decode(chunk), multibyte, invalid)
    return Counts(*_add(decoder.decode(b"", final=True), multibyte, invalid))


def _add(text: str, multibyte: int, invalid: int) -> tuple[int, int]:
    if text.isascii():
        return multibyte, invalid
    bad = len(_ESCAPED.findall(text))
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))  # the escapes are not ASCII either
    return multibyte + non_ascii - bad, invalid + bad


def _wrap(raw: io.RawIOBase, encoding: str, errors: str) -> io.TextIOWrapper:
    stream = io.BufferedReader(raw, buffer_size=SNIFF_BYTES)
    return io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")


def _rewindable(binary: BinaryIO) -> tuple[_Rewound, bytes]:
    """`binary` scanned to its end and given back from its start (a stream that cannot seek is
    copied to a spooled temporary file while scanned), and its first bytes."""
    if binary.seekable():
        start = binary.tell()
        counts = scan(iter(lambda: binary.read(SNIFF_BYTES), b""))
        binary.seek(start)
        head = binary.read(4)
        binary.seek(start)
        return _Rewound(binary, counts), head
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed with the text)

    def copied():
        while chunk := binary.read(SNIFF_BYTES):
            copy.write(chunk)
            yield chunk
    counts = scan(copied())
    copy.seek(0)
    head = copy.read(4)
    copy.seek(0)
    return _Rewound(copy, counts, also_close=binary), head


def check_encoding(encoding: str) -> str | None:
    """None if Python knows `encoding`, else why not."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"unknown encoding {encoding!r}"
    return None


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


class _Rewound(_Chain):
    """A scanned stream read again from its start, with what `scan` counted; closing closes it
    (and the stream it was copied from, if any)."""

    def __init__(self, stream: BinaryIO, counts: Counts, also_close: BinaryIO | None = None):
        super().__init__(b"", stream)
        self.counts, self._also = counts, also_close

    def close(self) -> None:
        if self._also is not None:
            self._also.close()
        super().close()
