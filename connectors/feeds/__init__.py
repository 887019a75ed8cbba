"""Feed connectors: CSV and JSON product feeds from a file or an http(s) URL, streamed.

`open_feed(options, name)` builds a feed from a connection's options; `feed.rows()` yields
`FeedRow(line, fields, error)` with canonical field names (`FIELDS`), values as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.feeds.base import FIELDS, Feed, FeedRow
from connectors.feeds.csv_feed import CsvFeed
from connectors.feeds.json_feed import JsonFeed
from connectors.feeds.source import TIMEOUT, Source, safe_location
from core.errors import ConnectorError

TYPES = ("csv", "json")


def open_feed(options: Mapping[str, Any], name: str, *, base_dir: Path | None = None,
              local: str | Path | None = None) -> Feed:
    """The feed a connection's options describe; nothing is read yet (see `Feed.check`).

    Options: `url` (http, https or file) or `path` (relative ones against `base_dir`, else the
    working directory); `type` "csv" or "json" (default: from the extension, csv unless .json);
    for CSV `delimiter`, `quotechar`, `encoding`, `mapping` ({"Their header" = "field"}).
    `local` is a fetched copy to read instead (connectors/feeds/download.py); messages still name
    the feed's own location. Raises ConnectorError for options that cannot work (unknown type,
    encoding or field).
    """
    location = options.get("url") or options.get("path")
    if not location:
        raise ConnectorError(f"feed {name}: no `url` or `path` given")
    source = Source(str(location), name, base_dir=base_dir, timeout=options.get("timeout") or TIMEOUT)
    if local is not None:
        source = source.local_copy(Path(local))
    kind = options.get("type") or ("json" if source.suffix == ".json" else "csv")
    if kind == "json":
        return JsonFeed(name, source)
    if kind == "csv":
        return CsvFeed(name, source, delimiter=options.get("delimiter"),
                       quotechar=options.get("quotechar"), encoding=options.get("encoding"),
                       mapping=options.get("mapping"))
    raise ConnectorError(f"feed {name}: unknown type {kind!r} (expected {' or '.join(TYPES)})")


__all__ = ["FIELDS", "CsvFeed", "Feed", "FeedRow", "JsonFeed", "Source", "open_feed", "safe_location"]
