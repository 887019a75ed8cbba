"""The JSON export file of an export task, written a batch at a time, exactly once.

Layout (connectors/platform/export_format.py, schema in export-file.schema.json): a head opening
the document, one product per line, a tail closing it. The task row records
how many bytes are committed; every append first truncates the file to that offset, so bytes written
by a batch that never committed (a crash) are dropped and the finished file is byte-identical to an
uninterrupted run's.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from connectors.platform.export_format import FILE_TAIL, SEPARATOR, file_head
from core.errors import DiskFull
from tasks.models import Task

FOOTER = FILE_TAIL.encode()


def header(task: Task, connection: str, entity: str = "products") -> bytes:
    return file_head(task_id=task.id, profile=task.profile, connection=connection,
                     created_at=task.created_at, entity=entity).encode()


def body(records: list[bytes] | list[str], first: bool) -> bytes:
    """Records (encoded lines, or text) as they follow what is already in the file."""
    if not records:
        return b""
    data = _SEPARATOR.join([r if isinstance(r, bytes) else r.encode() for r in records])
    return data if first else _SEPARATOR + data


_SEPARATOR = SEPARATOR.encode()


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def append(path: str | Path, committed: int, data: bytes) -> int:
    """Write `data` at the committed offset (dropping anything after it) and make it durable.
    Returns the new offset, to be committed with the batch. Raises DiskFull (an outage: the batch
    is retried) when the disk has no room for `data`; the next append drops what got written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, committed)
            os.lseek(fd, committed, os.SEEK_SET)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            drop_after(path, committed)  # what did fit is freed, so the free space shown is true
            raise DiskFull(path, len(data), free_bytes(path.parent)) from None
        raise
    return committed + len(data)


def drop_after(path: Path, committed: int) -> None:
    """Truncate the file to its committed length, if it exists (best effort)."""
    try:
        os.truncate(path, committed)
    except OSError:
        pass


def free_bytes(path: str | Path) -> int | None:
    """Bytes free for us on the filesystem holding `path` (or its nearest existing parent); None
    when that cannot be told."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def read(task: Task, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The committed part of a task's export file. A task still running (or one that stopped
    early) gets the footer added, so what is returned is always a valid JSON document."""
    if not task.export_path or task.export_bytes == 0:
        return
    left = task.export_bytes
    with open(task.export_path, "rb") as f:
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                raise OSError(f"{task.export_path} is shorter than its committed {task.export_bytes} bytes")
            left -= len(data)
            last = data
            yield data
    if not last.endswith(FOOTER):
        yield FOOTER


def remove(task: Task) -> None:
    if task.export_path:
        Path(task.export_path).unlink(missing_ok=True)


def remove_all(tasks: list[Task]) -> list[str]:
    """Remove the export files of deleted tasks; one that cannot be removed does not stop the
    others. Returns the problems, one line each."""
    problems = []
    for task in tasks:
        try:
            remove(task)
        except OSError as exc:
            problems.append(f"cannot remove {task.export_path}: {exc.strerror}")
    return problems
