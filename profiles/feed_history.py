"""What an import profile knows of its feed across tasks: the bytes each task read, and whether a
new feed is the one the last import read.

Each task's feed is fetched once, before its queue is built and outside any state-database
transaction, into `<data_dir>/feeds/<profile>/task-<id>.<ext>` (a file feed is copied too, so the
task reads exactly the bytes that were fingerprinted), and described next to it (`task-<id>.json`:
digest, HTTP validators, the import that read those bytes and its rows, the profile's settings).
A feed is "unchanged" when its bytes and the settings that read it are those of the last completed
import, and that import had no error item (an error may have been fixed in the shop since).
Only the files of the current task, of the last completed task and of the import that read its
bytes are kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connectors.feeds.download import MAX_BYTES, Fetched, fetch
from connectors.feeds.source import Source
from core.errors import SourceUnchanged
from tasks.models import Task


@dataclass(frozen=True)
class TaskFeed:
    """A task's fetched feed: `since` is the import it is compared with (None: the profile has
    none), `baseline` that import's rows (None: unknown, so no row check)."""

    task_id: int | None
    fetched: Fetched
    since: int | None
    baseline: int | None


def fingerprint(settings: dict[str, Any]) -> str:
    """A short digest of the settings that decide what a feed's rows do to the shop."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FeedHistory:
    def __init__(self, folder: Path, profile: str, settings: str):
        self.folder, self.profile, self.settings = folder, profile, settings

    def fetch(self, source: Source, options: dict[str, Any], task: Task | None,
              previous: Task | None) -> TaskFeed:
        """The feed's bytes for `task`; raises SourceUnchanged when they need no import (not for a
        task queued with --force), ConnectorError when they cannot be had."""
        last = Fetched.load(self._meta(previous.id)) if previous is not None else None
        if last is not None and last.settings != self.settings:
            last = None  # read with other settings: no comparison, no conditional download
        name = f"task-{task.id}" if task is not None else "check"
        fetched = fetch(source, self.folder / f"{name}{source.suffix or '.feed'}", last,
                        max_bytes=options.get("max_bytes") or MAX_BYTES,
                        attempts=1 + options.get("retries", 2), retry_delay=options.get("retry_delay", 2.0),
                        copy_files=True)
        since = (last.task if last is not None and last.task else previous.id) if previous else None
        forced = task is not None and task.options.get("force")
        same = last is not None and (fetched.not_modified or last.sha256 == fetched.sha256)
        if same and not forced and previous is not None and not previous.progress.error:
            if task is not None and not task.options.get("dry_run"):
                self._save(replace(last, path=fetched.path, not_modified=False), task.id, previous)
            raise SourceUnchanged(f"feed unchanged since task #{since}: nothing to import (run `heartbeat "
                                  f"profiles run {self.profile} --force` to import it anyway)")
        baseline = None
        if last is not None and last.rows is not None:
            baseline = last.rows
        elif previous is not None and previous.progress.total:
            baseline = previous.progress.total
        return TaskFeed(task.id if task is not None else None, fetched, since, baseline)

    def record(self, feed: TaskFeed, rows: int, previous: Task | None) -> None:
        """The import of `feed` queued `rows` rows: describe it for the next task to compare with."""
        if feed.task_id is not None:
            fetched = replace(feed.fetched, task=feed.task_id, rows=rows, not_modified=False,
                              settings=self.settings)
            self._save(fetched, feed.task_id, previous)

    def _save(self, fetched: Fetched, task_id: int, previous: Task | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fetched.save(self._meta(task_id))
        keep = {f"task-{task_id}", f"task-{fetched.task}", Path(fetched.path).stem}
        if previous is not None:
            keep.add(f"task-{previous.id}")
        for path in self.folder.iterdir():
            if path.name.split(".", 1)[0] not in keep:
                path.unlink(missing_ok=True)

    def _meta(self, task_id: int) -> Path:
        return self.folder / f"task-{task_id}.json"
