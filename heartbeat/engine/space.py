"""Free space where Heartbeat writes: the data directory (the SQLite state database, default
export directory) and every export profile's target directory.

A full disk is an outage, not a verdict (heartbeat.engine.runner retries the batch; docs/reliability.md);
this module warns before it happens: a watched directory with less than `[heartbeat] min_free_mb`
free (100 MB by default) gets a warning, for `heartbeat status` and the daemon's log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from profiles.base import exports_dir
from reports.export_file import free_bytes

MB = 1024 * 1024


@dataclass(frozen=True)
class SpaceWarning:
    """A watched directory with less free space than the threshold (bytes)."""

    path: str
    free: int
    threshold: int

    def __str__(self) -> str:
        return (f"{self.path}: {self.free / MB:.1f} MB free, under the warning threshold of "
                f"{self.threshold / MB:g} MB ([heartbeat] min_free_mb)")

    def to_json(self) -> dict:
        return {"path": self.path, "free_bytes": self.free, "threshold_bytes": self.threshold,
                "message": str(self)}


def watched(config: Config) -> list[Path]:
    """The data directory and every export profile's directory, each once, in that order."""
    paths = [config.data_dir] + [exports_dir(p, config) for p in config.profiles if p.kind == "export"]
    return list(dict.fromkeys(paths))


def warnings(config: Config, free: Callable[[Path], int | None] = free_bytes) -> list[SpaceWarning]:
    """A warning for each watched directory with less than `min_free_mb` free (none when the
    threshold is 0). A directory not created yet is judged by its nearest existing parent."""
    threshold = int(config.min_free_mb * MB)
    out = []
    for path in watched(config):
        left = free(path)
        if left is not None and left < threshold:
            out.append(SpaceWarning(str(path), left, threshold))
    return out
