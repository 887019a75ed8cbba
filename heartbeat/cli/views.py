"""Text views for the CLI: the tasks table, one task's details, the profiles table."""

from __future__ import annotations

from datetime import datetime

from core.clock import as_utc, iso
from reports.action_log import plural
from tasks.models import Task


def local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A UTC time shown in the machine's local time zone (the table); '-' when unset."""
    value = as_utc(value)
    return value.astimezone().strftime(fmt) if value else "-"


def local_after(value: datetime | None, day_of: datetime) -> str:
    """Like `local`, but only the time when it falls on the same local day as `day_of` (keeps the
    table within 80 columns)."""
    if value is None:
        return "-"
    same_day = as_utc(value).astimezone().date() == as_utc(day_of).astimezone().date()
    return local(value, "%H:%M" if same_day else "%m-%d %H:%M")


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def progress(task: Task) -> str:
    """Handled (processed + skipped + error) of total, and that as a percentage."""
    p = task.progress
    pct = f"{100 * p.handled // p.total}%" if p.total else "-"
    return f"{p.handled}/{p.total} {pct}"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [" ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)


def tasks_table(tasks: list[Task]) -> str:
    if not tasks:
        return "no tasks"
    header = ["ID", "Profile", "Kind", "Status", "Progress", "Scheduled", "Started", "Finished"]
    rows = [[str(t.id), shorten(t.profile, 16), t.kind, t.status.value, progress(t),
             local(t.scheduled_at), local_after(t.started_at, t.scheduled_at),
             local_after(t.finished_at, t.scheduled_at)] for t in tasks]
    return table(header, rows)


def waiting_lines(tasks: list[Task]) -> list[str]:
    """Under the table: why each pending task that waits is waiting (its message)."""
    return [f"task {t.id} {t.message}" for t in tasks if t.status.value == "pending" and t.message]


def task_details(task: Task, delivery: str | None = None) -> str:
    """Every field of a task, times in UTC and local time, and the progress breakdown; `delivery`:
    the line of its export file's delivery, if it has one."""
    p = task.progress
    fields = [
        ("Task", str(task.id)), ("Profile", task.profile), ("Kind", task.kind),
        ("Status", task.status.value), ("Trigger", task.trigger), ("Created At", both(task.created_at)),
        ("Scheduled At", both(task.scheduled_at)), ("Started At", both(task.started_at)),
        ("Finished At", both(task.finished_at)), ("Message", task.message or "-"),
        ("Progress", progress(task)), ("  Pending", str(p.pending)), ("  Processed", str(p.processed)),
        ("  Skipped", str(p.skipped)), ("  Cancelled", str(p.cancelled)), ("  Error", str(p.error)),
        ("Batches", f"{task.batches} (up to {plural(task.batch_size, 'item')} each)"),
        ("Work Time", f"{task.work_seconds:.2f} s" + (f", {p.handled / task.work_seconds:.0f} items/s"
                                                      if task.work_seconds else "")),
        ("Processor", task.owner or "-"),
        ("Export File", task.export_path or ("-" if task.kind == "export" else "n/a")),
    ]
    if delivery is not None:
        fields.append(("Delivery", delivery))
    if task.options:
        fields.insert(5, ("Options", run_options(task)))
    return "\n".join(f"{k + ':':<14} {v}" for k, v in fields)


_OPTION_WORDS = {"full": "full", "dry_run": "dry run (nothing written to the shop)",
                 "force": "force (no suspicious-feed guard)"}


def run_options(task: Task) -> str:
    """The options a task was queued with, in words: "dry run (nothing written to the shop)"."""
    return ", ".join(_OPTION_WORDS.get(k, k) for k, v in task.options.items() if v) or "-"


def both(value: datetime | None) -> str:
    if value is None:
        return "-"
    return f"{iso(value)}  ({local(value, '%Y-%m-%d %H:%M:%S %Z')})"


def profiles_table(rows: list[dict]) -> str:
    if not rows:
        return "no profiles configured"
    header = ["Name", "Kind", "Schedule", "Next run", "Batch", "Last task"]
    body = [[r["name"], r["kind"], r["schedule"] or "-", local(_parse(r["next_run"])),
             str(r["batch_size"]), f"{r['last_task']} {r['last_status']}" if r["last_task"] else "-"]
            for r in rows]
    return table(header, body)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
