"""The CLI side of the seeds' screens: `heartbeat connections list|check|stats`, `heartbeat profiles
pause|resume` and `heartbeat notify retry`. Each command is a few lines over one verb
(heartbeat.services); errors become one line and an exit code in heartbeat.cli.main."""

from __future__ import annotations

import sys

import click

from heartbeat.cli.output import json_option, print_json
from heartbeat.cli.views import shorten, table
from reports.action_log import plural

json_text = json_option("Print JSON instead of text.")


@click.group()
def connections():
    """Connections: shops, feeds, export directories and http targets (docs/web.md, Connections)."""


@connections.command("list")
@json_text
@click.pass_obj
def connections_list(app, as_json):
    """Each connection: name, type, where it points (no secrets) and the profiles using it."""
    rows = app.connections.list()
    if as_json:
        print_json(rows)
        return
    click.echo(table(["Name", "Type", "Location", "Profiles"],
                     [[r["name"], r["type"], shorten(r["location"], 70), ", ".join(r["profiles"]) or "-"]
                      for r in rows]))


@connections.command("check")
@click.argument("name")
@json_text
@click.pass_obj
def connections_check(app, name, as_json):
    """Connect to NAME now: exit 0 when it is reachable, 1 with the reason when it is not."""
    found = app.connections.check(name)
    if as_json:
        print_json(found)
    elif found["reachable"]:
        click.echo(f"{name}: reachable ({found['seconds']:.3f} s)")
    if not found["reachable"]:
        click.echo(f"heartbeat: {name}: not reachable: {found['error']}", err=True)
        sys.exit(1)


@connections.command("stats")
@click.argument("name")
@json_text
@click.pass_obj
def connections_stats(app, name, as_json):
    """The pending changes of each profile reading or writing NAME, counted now."""
    found = app.connections.stats(name)
    if as_json:
        print_json(found)
        return
    for p in found["profiles"]:
        if "new" in p:
            click.echo(f"{p['profile']} ({p['kind']}): " + ", ".join(
                f"{p[k]} {k}" for k in ("new", "changed", "deleted", "unchanged", "invalid")))
        elif p["kind"] == "import":
            rows = "no import yet" if p["rows"] is None else (
                f"last feed {plural(p['rows'], 'row')}, changed {p['changed_at'] or '?'}")
            click.echo(f"{p['profile']} (import): {rows}")
        else:
            click.echo(f"{p['profile']} ({p['kind']}): {p['why']}")
    if not found["profiles"]:
        click.echo(f"{name}: no profile uses it")


@click.command("pause")
@click.argument("name")
@json_text
@click.pass_obj
def profiles_pause(app, name, as_json):
    """Pause profile NAME: its schedule creates no tasks (none missed) until resumed; its running
    and pending tasks go on, and `profiles run` still works."""
    row = app.tasks.pause(name)
    if as_json:
        print_json(row)
    else:
        click.echo(f"profile {name} paused: its schedule creates no tasks")


@click.command("resume")
@click.argument("name")
@json_text
@click.pass_obj
def profiles_resume(app, name, as_json):
    """Resume profile NAME: its schedule goes on from its next slot."""
    row = app.tasks.resume(name)
    if as_json:
        print_json(row)
    else:
        after = f"; next run {row['next_run']}" if row["next_run"] else ""
        click.echo(f"profile {name} resumed{after}")


@click.command("retry")
@click.argument("delivery_id", type=click.IntRange(min=1))
@json_text
@click.pass_obj
def notify_retry(app, delivery_id, as_json):
    """Send notification DELIVERY_ID (given up or failing) again at the sender's next round."""
    row = app.settings.retry_notification(delivery_id)
    if as_json:
        print_json(row)
    else:
        click.echo(f"notification {delivery_id}: queued again for {row['target']}")
