"""The wording of the action log: one function per kind of line, so every line reads alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from tasks.models import Item, Outcome, Task
from tasks.recovery import POISON_RESTARTS, Attempt


def empty_source(connection: str | None) -> str:
    """The seed's error for a source with nothing to queue, naming the connection read."""
    where = f" from connection {connection}" if connection else ""
    return f"could not grab data{where}, No available items to grab"


def started(total: int, batch_size: int) -> str:
    return f"task started: {plural(total, 'item')} queued, batch size {batch_size}"


def coalesced(missed: int, first: datetime) -> str:
    """A scheduled task that stands for slots missed while no heartbeat ran, the first at `first`."""
    were = "was" if missed == 1 else "were"
    return (f"{plural(missed, 'earlier slot')} since {first:%Y-%m-%d %H:%M} UTC {were} missed while no "
            "heartbeat ran; coalesced into this task")


def connection_back(failures: int) -> str:
    """A task's shop answers again after `failures` failed attempts (heartbeat.engine.runner's back-off)."""
    return f"connection back after {plural(failures, 'failed attempt')}"


def outage_over(what: str, failures: int) -> str:
    """A batch went through after `failures` attempts failed for want of `what`: "space" (a full
    disk) or "connection" (an unreachable shop)."""
    if what == "space":
        return f"space available again after {plural(failures, 'failed attempt')}"
    return connection_back(failures)


def missed(why: str) -> str:
    return f"missed: {why}"


def dry_run() -> str:
    return "dry run: every batch is planned and reported, nothing is written to the shop"


def nothing_to_do() -> str:
    """A task whose source had nothing to queue, where the profile allows that (allow_empty, or an
    incremental export of orders that finds no change)."""
    return "source is empty: nothing to do"


def restarted(attempt: Attempt, task: Task) -> str:
    """The previous processor of `task` is gone without releasing it (tasks.recovery)."""
    text = (f"process restarted: processor no longer exists; resuming at item {attempt.position} "
            f"of {task.progress.total}")
    if attempt.died_here:
        text += f"; it died while handling items {attempt.position} to {task.attempt_end}"
    if attempt.suspect:
        text += f"; redoing items up to {attempt.suspect_until} in a child process, halving what kills it"
    return text


def crashed(attempt: Attempt, item: Item | None, how: str, next_end: int) -> str:
    """The sacrificial process handling a suspect chunk died (tasks.recovery.crashed): alone, the
    item's `attempt.restarts` counts it; a chunk of several is halved, the next one ending at
    `next_end`."""
    if not attempt.alone:
        first = attempt.position
        nxt = f"item {first}" if next_end == first else f"items {first} to {next_end}"
        return (f"items {attempt.position} to {attempt.end}: their process died ({how}); one of them is "
                f"to blame: trying {nxt} next")
    what = f"item {attempt.position}"
    if item is not None:
        what += f" ({_product(item.product_id, item.reference)})"
    text = f"{what}: its process died ({how}), {attempt.restarts} of {POISON_RESTARTS} times"
    return text + ("; giving it up" if attempt.poisoned else "; trying it again alone")


def killed(reason: str, cancelled: int) -> str:
    return f"{reason}: {plural(cancelled, 'pending item')} cancelled"


def failed(reason: str, cancelled: int) -> str:
    """A task ended in error; its pending items, if any, were cancelled."""
    text = f"error: {reason}"
    return text + (f"; {plural(cancelled, 'pending item')} cancelled" if cancelled else "")


def redone(number: int, first: int, last: int, counts: Counter, seconds: float, left: int) -> str:
    """A heartbeat's redo of suspect items, in chunks (tasks.recovery): one line for all of them;
    `counts` by outcome, `left`: suspect items still to redo."""
    items = sum(counts.values())
    which = f"item {first}" if first == last else f"items {first} to {last}"
    text = (f"batch {number}: {which} of the interrupted batch, redone: {plural(items, 'item')} "
            f"in {seconds:.2f} s ({_rate(items, seconds)}): {_counts(counts)}")
    return text + (f"; {plural(left, 'suspect item')} left" if left else "; no suspect item left")


UNDONE = "undone:"  # how the line of an undone maintenance fix starts


def undone(rows: int) -> str:
    return f"{UNDONE} {plural(rows, 'row')} of the shop restored as they were before this fix"


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 row", "2 rows"; `many` for a plural of its own ("2 categories")."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many}" if many else f"{n} {word}{'es' if word.endswith('ch') else 's'}"


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


CHANGES_LOGGED = 10  # shop changes of a batch named in the action log; the report has them all


def changes(changed: list[tuple[Outcome, Item]]) -> list[str]:
    """The first CHANGES_LOGGED changes a batch made (or, in a dry run, would make), each named by
    the row's key: "DEMO-000012: price: 10.00 -> 12.00"; then how many more the report lists."""
    lines = [f"{item.reference or _product(outcome.product_id or item.product_id, None)}: {outcome.detail}"
             for outcome, item in changed[:CHANGES_LOGGED]]
    if len(changed) > CHANGES_LOGGED:
        lines.append(f"... and {plural(len(changed) - CHANGES_LOGGED, 'more change')} (see the report)")
    return lines


def item_error(position: int, product_id: int, reference: str | None, reason: str) -> str:
    return f"item {position} ({_product(product_id, reference)}): error: {reason}"


def _product(product_id: int, reference: str | None) -> str:
    return f"product {product_id}" if product_id else (reference or "no reference")


def render(line) -> str:
    """One stored log line as `heartbeat tasks log` prints it."""
    return f"{line.at:%Y-%m-%d %H:%M:%S} UTC  {line.level.upper():<7} {line.message}\n"


def summary(task: Task) -> str:
    """The closing line of a completed task; `task` is as it stands after its last batch."""
    work_seconds = task.work_seconds
    p = task.progress
    counts = Counter(processed=p.processed, skipped=p.skipped, error=p.error)
    return (f"completed: {plural(p.total, 'item')} ({_counts(counts)}) in "
            f"{plural(task.batches, 'batch')}, {work_seconds:.2f} s of work, "
            f"{_rate(p.handled, work_seconds)} on average")
