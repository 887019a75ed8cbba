"""A maintenance fix's undo file: the rows it changed, whole before and after, one per line.

Laid out and written like an export file (reports/export_file.py: appended with each batch at the
committed offset, so a crash never leaves a change in it twice): `{"format": "heartbeat-undo/1",
"task": {...}, "changes": [` then one change per line, then `]}`. Each change is
{"position": the item it fixed, "table", "key", "before", "after"} (integrity.rows images).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from reports import export_file
from tasks.models import Task


def lines(effects: Iterable[tuple[int, object]]) -> list[str]:
    """The undo-file records of a batch's applied effects ((position, [change dicts]); effects of
    another shape, such as change-tracking rows, have no undo line)."""
    return [json.dumps({"position": position, **change}, ensure_ascii=False, separators=(",", ":"))
            for position, data in effects if isinstance(data, list) for change in data]


def changes(task: Task) -> list[dict]:
    """Every change the committed part of `task`'s undo file holds, in the order they were made."""
    if not task.export_bytes:
        return []
    return json.loads(b"".join(export_file.read(task)))["changes"]
