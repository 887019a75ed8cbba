"""A feed fetched once per task: downloaded (http) or copied (a file) into the data directory, so
that every read of one task sees the same bytes and an import can tell a feed identical to the
last imported one.

`fetch(source, copy, previous)` returns a `Fetched`: where the bytes are, their SHA-256 and size,
and the HTTP validators (ETag, Last-Modified) to send next time. A download is conditional on the
previous copy's validators (If-None-Match / If-Modified-Since: a 304 means unchanged), limited in
size, and retried with back-off on what may pass (no answer, a broken download, HTTP 5xx or 429);
it is written to a temporary name and renamed when complete, so a copy is never partial.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from connectors.feeds.source import NotModified, Source
from core.errors import ConnectorError

MAX_BYTES = 1024 ** 3  # a feed larger than this is refused (connection option max_bytes)
ATTEMPTS = 3  # downloads tried before the task fails (connection option retries + 1)
RETRY_DELAY = 2.0  # seconds before the second attempt, doubled for each further one
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """A feed's bytes for one task: `path` holds them; `not_modified` when the server said the
    previous copy is still current (then `path`, `sha256` and `size` are the previous copy's).
    Once imported, the importer records the task that read these bytes and their rows."""

    path: str
    sha256: str
    size: int
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    task: int | None = None
    rows: int | None = None
    settings: str | None = None  # a digest of the importing profile's settings (profiles.feed_history)

    def save(self, meta: Path) -> None:
        """Write this description next to the copy (`meta`, JSON), atomically."""
        temporary = meta.with_name(meta.name + ".part")
        temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(temporary, meta)

    @classmethod
    def load(cls, meta: Path) -> Fetched | None:
        """A saved description, or None when there is none (or it is unreadable)."""
        try:
            return cls(**json.loads(meta.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


class TooLarge(ConnectorError):
    """A feed over its max_bytes: refused at once, never retried."""


def fetch(source: Source, copy: Path, previous: Fetched | None = None, *, max_bytes: int = MAX_BYTES,
          attempts: int = ATTEMPTS, retry_delay: float = RETRY_DELAY, copy_files: bool = False,
          sleep: Callable[[float], None] = time.sleep) -> Fetched:
    """The feed's bytes for one task: an http(s) source is downloaded to `copy`; a file is read in
    place, or copied to `copy` with `copy_files` (so a supplier replacing it meanwhile cannot
    change what the task reads). Raises ConnectorError naming the feed (too large, unreachable
    after `attempts`)."""
    if not source.is_http:
        assert source.path is not None
        with source.open() as stream:
            if not copy_files:
                digest, size = _digest(stream, None, max_bytes, source)
                return Fetched(str(source.path), digest, size)
            digest, size = _write(stream, copy, max_bytes, source)
        return Fetched(str(copy), digest, size)
    for attempt in range(1, attempts + 1):
        try:
            return _download(source, copy, previous, max_bytes)
        except TooLarge:
            raise
        except ConnectorError as exc:
            status = getattr(exc, "status", None)
            if attempt == attempts or not (status is None or status >= 500 or status == 429):
                raise
            sleep(retry_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _download(source: Source, copy: Path, previous: Fetched | None, max_bytes: int) -> Fetched:
    usable = previous is not None and Path(previous.path).is_file()
    validators = {}
    if usable and previous.etag:
        validators["If-None-Match"] = previous.etag
    if usable and previous.last_modified:
        validators["If-Modified-Since"] = previous.last_modified
    try:
        body, headers = source.get(validators)
    except NotModified:
        assert previous is not None
        return replace(previous, not_modified=True)
    with body:
        digest, size = _write(body, copy, max_bytes, source)
    return Fetched(str(copy), digest, size, headers.get("ETag"), headers.get("Last-Modified"))


def _write(stream, copy: Path, max_bytes: int, source: Source) -> tuple[str, int]:
    """`stream` into `copy`, whole or not at all (a temporary name renamed when complete)."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    temporary = copy.with_name(copy.name + ".part")
    try:
        with open(temporary, "wb") as out:
            digest, size = _digest(stream, out, max_bytes, source)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, copy)
    finally:
        temporary.unlink(missing_ok=True)
    return digest, size


def _digest(stream, out, max_bytes: int, source: Source) -> tuple[str, int]:
    """SHA-256 and size of `stream`, copied to `out` if given; refuses more than `max_bytes`."""
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"feed {source.feed_name}: {source.display} is larger than {max_bytes} bytes "
                           "(max_bytes); refused")
        sha.update(chunk)
        if out is not None:
            out.write(chunk)
    return sha.hexdigest(), size
