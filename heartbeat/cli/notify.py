"""`heartbeat notify list`: the notification deliveries of the outbox (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime

import click

from heartbeat.cli.output import json_option, print_json
from heartbeat.cli.views import local, shorten, table


@click.group()
def notify():
    """Notifications sent to the [[notify]] entries (webhooks, e-mail)."""


@notify.command("list")
@click.option("--problems", is_flag=True,
              help="Only those failing, given up, or waiting for a sender for over 5 minutes.")
@click.option("--task", "task_id", type=click.IntRange(1, 2 ** 31 - 1), help="Only those about this task.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option()
@click.pass_obj
def notify_list(app, problems, task_id, limit, as_json):
    """Deliveries newest first (with --problems: oldest first), with attempts and the last error."""
    if problems:
        rows = [d for d in app.tasks.notification_problems() if task_id in (None, d["task_id"])][:limit]
    else:
        rows = app.tasks.notifications(task_id=task_id, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no notifications" + (" with problems" if problems else ""))
        return
    header = ["ID", "Task", "Event", "Target", "Status", "Attempts", "Created", "Last error"]
    click.echo(table(header, [[str(d["id"]), str(d["task_id"]), d["event"], shorten(d["target"], 16),
                               d["status"], str(d["attempts"]), local(_time(d["created_at"])),
                               shorten(d["last_error"] or "-", 50)] for d in rows]))


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
