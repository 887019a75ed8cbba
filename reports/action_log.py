"""The wording of the action log: one function per kind of line, so every line reads alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tasks.models import Outcome, Task

EMPTY_SOURCE = "could not grab data, No available items to grab"


def started(total: int, batch_size: int) -> str:
    return f"task started: {plural(total, 'item')} queued, batch size {batch_size}"


def restarted(resume_at: int, total: int) -> str:
    return f"process restarted: processor no longer exists; resuming at item {resume_at} of {total}"


def died_in_batch(attempt, attempt_end: int) -> str:
    """Appended to the restart line when the old processor died in the middle of a batch."""
    text = f"; it died while handling items {attempt.position} to {attempt_end}"
    if attempt.restarts > 1:
        text += f" ({attempt.restarts} times at item {attempt.position})"
    if attempt.suspect_until >= attempt.position:
        text += f"; handling items up to {attempt.suspect_until} one at a time"
    return text


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('ch') else 's'}"


def _rate(items: int, seconds: float) -> str:
    return f"{items / seconds:.0f} items/s" if seconds > 0 and items else "no items/s to speak of"


def _counts(counts: Counter) -> str:
    return (f"{counts['processed']} processed, {counts['skipped']} skipped, "
            f"{plural(counts['error'], 'error')}")


def batch(number: int, outcomes: Iterable[Outcome], seconds: float) -> str:
    outcomes = list(outcomes)
    counts = Counter(o.status.value for o in outcomes)
    return (f"batch {number}: {plural(len(outcomes), 'item')} in {seconds:.2f} s "
            f"({_rate(len(outcomes), seconds)}): {_counts(counts)}")


def item_error(position: int, product_id: int, reference: str | None, reason: str) -> str:
    what = f"product {product_id}" if product_id else (reference or "no reference")
    return f"item {position} ({what}): error: {reason}"


def render(line) -> str:
    """One stored log line as `heartbeat tasks log` prints it."""
    return f"{line.at:%Y-%m-%d %H:%M:%S} UTC  {line.level.upper():<7} {line.message}\n"


def summary(task: Task, work_seconds: float) -> str:
    """The closing line of a completed task; `task` is as it stands after its last batch."""
    p = task.progress
    counts = Counter(processed=p.processed, skipped=p.skipped, error=p.error)
    return (f"completed: {plural(p.total, 'item')} ({_counts(counts)}) in "
            f"{plural(task.batches, 'batch')}, {work_seconds:.2f} s of work, "
            f"{_rate(p.handled, work_seconds)} on average")
