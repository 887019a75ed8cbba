"""`heartbeat audit list`: who did what, newest first (docs/task-manager.md, "Who did what")."""

from __future__ import annotations

from datetime import datetime

import click

from core.clock import as_utc
from core.errors import Refused
from heartbeat.cli.output import json_option, print_json


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise Refused(f"--since: expected an ISO 8601 time like 2026-12-07T09:00:00Z, got {text!r}") from None


@click.group()
def audit():
    """The audit trail: every change, by whom, via what and from where."""


@audit.command("list")
@click.option("--since", metavar="ISO8601", help="Only entries at or after this time (UTC unless it says).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1, max=100000),
              help="At most this many entries, newest first.")
@json_option("Print JSON instead of lines.")
@click.pass_obj
def audit_list(app, since, limit, as_json):
    """Entries newest first: when, who (via, from where), action, target, detail."""
    try:
        when = _since(since)
    except Refused as exc:
        raise click.BadParameter(str(exc).partition(": ")[2], param_hint="--since") from None
    entries = app.tasks.audit.list(limit, since=when)
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    for e in entries:
        where = ", ".join(p for p in (e.via, e.address) if p)
        detail = f"  {e.detail}" if e.detail else ""
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.actor} ({where})  {e.action} {e.target}{detail}")
