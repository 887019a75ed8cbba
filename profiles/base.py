"""The contract every kind of profile fulfils.

A Worker is made once per profile per process and reused across ticks (it may hold connections).
The heartbeat asks it for a task's queue when the task starts, and for the outcome of each item of
a batch; it never touches the state database itself.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from heartbeat.config import Config, Profile
from heartbeat.errors import FatalTaskError
from reports.action_log import EMPTY_SOURCE
from tasks.models import Item, Outcome, QueueEntry, Task


@dataclass
class Processed:
    """A batch's results: one outcome per item, in order, and the export records it produced."""

    outcomes: list[Outcome]
    records: list[str] = field(default_factory=list)


class Worker(ABC):
    has_export_file = False

    def __init__(self, profile: Profile, config: Config):
        self.profile, self.config = profile, config

    @abstractmethod
    def build_queue(self) -> Iterable[QueueEntry]:
        """The items of a new task, streamed. Raises FatalTaskError when the task cannot start."""

    @abstractmethod
    def process(self, task: Task, items: list[Item]) -> Processed:
        """Handle a batch. A failing item becomes an `error` outcome; only a failure of the whole
        batch (e.g. a lost connection) raises."""

    def export_path(self, task: Task) -> str | None:
        return None

    @property
    def source_name(self) -> str:
        return self.profile.source

    def close(self) -> None:
        """Release connections; the worker is not used afterwards."""
        return None


_CRASH_ON = os.environ.get("HEARTBEAT_TEST_CRASH_ON_PRODUCT", "")


def crash_hook(product_id: int) -> None:
    """Test hook (docs/reliability.md): with HEARTBEAT_TEST_CRASH_ON_PRODUCT=ID in the environment,
    the process dies the hard way when it reaches that product, like a segfault in a driver would."""
    if _CRASH_ON and int(_CRASH_ON) == product_id:
        os._exit(70)


def non_empty(entries: Iterable[QueueEntry], allow_empty: bool) -> Iterator[QueueEntry]:
    """Pass entries through, but refuse an empty source (the seed's "No available items to grab")
    unless the profile allows it: an empty shop or feed more often means something broke."""
    it = iter(entries)
    first = next(it, None)
    if first is None:
        if allow_empty:
            return
        raise FatalTaskError(EMPTY_SOURCE)
    yield first
    yield from it


def exports_dir(profile: Profile, config: Config) -> Path:
    """Where a profile's export files go: its target directory connection, else <data_dir>/exports."""
    if profile.target:
        return Path(config.connections[profile.target].options["path"])
    return config.data_dir / "exports"
