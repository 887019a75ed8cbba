"""Text views for the CLI: the tasks table, one task's details, the profiles table."""

from __future__ import annotations

from datetime import datetime

from heartbeat.clock import as_utc, iso
from tasks.models import Task


def local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A UTC time shown in the machine's local time zone (the table); '-' when unset."""
    value = as_utc(value)
    return value.astimezone().strftime(fmt) if value else "-"


def progress(task: Task) -> str:
    p = task.progress
    pct = f"{100 * (p.handled + p.cancelled) // p.total}%" if p.total else "-"
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
    rows = [[str(t.id), t.profile[:16], t.kind, t.status.value, progress(t), local(t.scheduled_at),
             local(t.started_at), local(t.finished_at)] for t in tasks]
    return table(header, rows)


def task_details(task: Task) -> str:
    p = task.progress
    fields = [
        ("Task", str(task.id)), ("Profile", task.profile), ("Kind", task.kind),
        ("Status", task.status.value), ("Trigger", task.trigger),
        ("Scheduled At", iso(task.scheduled_at) or "-"), ("Started At", iso(task.started_at) or "-"),
        ("Finished At", iso(task.finished_at) or "-"), ("Message", task.message or "-"),
        ("Progress", progress(task)), ("  Pending", str(p.pending)), ("  Processed", str(p.processed)),
        ("  Skipped", str(p.skipped)), ("  Cancelled", str(p.cancelled)), ("  Error", str(p.error)),
        ("Batches", f"{task.batches} of up to {task.batch_size} items"),
        ("Export File", task.export_path or "-"),
    ]
    return "\n".join(f"{k + ':':<14} {v}" for k, v in fields)


def profile_rows(app) -> list[dict]:
    """Profiles with their next run and the status of their last task, for list and --json."""
    from heartbeat import schedule
    from heartbeat.clock import utcnow

    rows = []
    for p in app.config.profiles:
        next_run = None
        if p.schedule and p.enabled:
            next_run = iso(schedule.first_slot(schedule.of_profile(p), utcnow()))
        last = app.store.last_task(p.name)
        rows.append({"name": p.name, "kind": p.kind, "source": p.source, "target": p.target,
                     "schedule": p.schedule, "enabled": p.enabled, "next_run": next_run,
                     "batch_size": p.batch_size, "last_task": last.id if last else None,
                     "last_status": last.status.value if last else None})
    return rows


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
