"""A task's files as HTTP downloads: the very streams the CLI writes (TaskManager.log, report,
export_file, result_text), sent in chunks as they are read, so a million-row report needs no more
memory than ten rows. The verb runs before the first byte: an unknown task or a refusal becomes an
error status, never a truncated file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.responses import StreamingResponse

from heartbeat.services.tasks import TaskManager

CHUNK = 64 * 1024
# what -> (file name suffix, media type)
FILES = {
    "log": ("log.txt", "text/plain; charset=utf-8"),
    "report": ("report.csv", "text/csv; charset=utf-8"),
    "export-file": ("export.json", "application/json"),
    "result": ("result.json", "application/json"),
}


def filename(task_id: int, what: str) -> str:
    return f"task-{task_id}-{FILES[what][0]}"


def download(tasks: TaskManager, task_id: int, what: str) -> StreamingResponse:
    """The response streaming task `task_id`'s `what` (a key of FILES) as an attachment."""
    source: Iterable[str | bytes] = {
        "log": tasks.log,
        "report": tasks.report,
        "export-file": tasks.export_file,
        "result": lambda i: [tasks.result_text(i)],
    }[what](task_id)
    return StreamingResponse(chunked(source), media_type=FILES[what][1], headers={
        "Content-Disposition": f"attachment; filename={filename(task_id, what)}",
        "Cache-Control": "no-store",
    })


def chunked(parts: Iterable[str | bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The parts as UTF-8 bytes joined into chunks of about `size` (a line at a time would cost a
    thread hop per line in the server)."""
    buffer: list[bytes] = []
    held = 0
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        buffer.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)
