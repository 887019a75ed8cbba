"""`heartbeat web user ...`: named users of the web page and API, their roles, tokens and sessions
(docs/web.md, "Users and roles"). Thin commands over heartbeat.services.users.UserManager, acting
as the person at the terminal (the OS user, recorded in the audit trail). Passwords are read from
standard input (prompted twice on a terminal); a new token is printed once, alone on the last line
of standard output."""

from __future__ import annotations

import sys

import click

from core.actor import Role
from heartbeat.cli.output import json_option, print_json

ROLES = click.Choice([r.name for r in Role])


def _password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def user():
    """Named users of the page and API: viewer, operator or admin (docs/web.md)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=ROLES, required=True,
              help="viewer reads; operator also acts; admin also manages.")
@click.pass_obj
def user_add(app, name, role):
    """Add user NAME with a role; the password is read from standard input (12+ characters)."""
    added = app.users.add(name, role, _password(), app.tasks.actor)
    click.echo(f"user {added.name} added ({added.role})")


@user.command("list")
@json_option()
@click.pass_obj
def user_list(app, as_json):
    """The users, their roles and their tokens' labels."""
    rows = [(u, app.users.tokens(u.name)) for u in app.users.list()]
    if as_json:
        print_json([{**u.to_json(), "tokens": [t.label for t in tokens]} for u, tokens in rows])
        return
    if not rows:
        click.echo("no users (the [web] password_hash, if set, logs in as admin)")
    for u, tokens in rows:
        click.echo(f"{u.name:<20} {u.role:<9} tokens: {', '.join(t.label for t in tokens) or '-'}")


@user.command("remove")
@click.argument("name")
@click.pass_obj
def user_remove(app, name):
    """Remove user NAME with their tokens and sessions."""
    app.users.remove(name, app.tasks.actor)
    click.echo(f"user {name} removed")


@user.command("passwd")
@click.argument("name")
@click.pass_obj
def user_passwd(app, name):
    """A new password for NAME (from standard input); their sessions end."""
    ended = app.users.passwd(name, _password(), app.tasks.actor)
    click.echo(f"password of {name} changed; {ended} sessions ended")


@user.command("role")
@click.argument("name")
@click.argument("role", type=ROLES)
@click.pass_obj
def user_role(app, name, role):
    """Give NAME another role; their sessions end."""
    ended = app.users.set_role(name, role, app.tasks.actor)
    click.echo(f"user {name} is now {role}; {ended} sessions ended")


@user.command("logout")
@click.argument("name")
@click.pass_obj
def user_logout(app, name):
    """End every login session of NAME (their tokens keep working: revoke those)."""
    ended = app.users.logout(name, app.tasks.actor)
    click.echo(f"{ended} sessions of {name} ended")


@user.command("token")
@click.argument("name")
@click.option("--label", help="A name for the token (default: token-1, token-2...).")
@click.pass_obj
def user_token(app, name, label):
    """A new API token acting as NAME, printed once (only its hash is kept), alone on the last line."""
    token, secret = app.users.new_token(name, app.tasks.actor, label)
    click.echo(f"token {token.label} of {name} (shown once; send it as Authorization: Bearer <token>):",
               err=True)
    click.echo(secret)


@user.command("tokens")
@click.argument("name")
@json_option()
@click.pass_obj
def user_tokens(app, name, as_json):
    """NAME's tokens: label, made, last used (never the tokens themselves)."""
    tokens = app.users.tokens(name)
    if as_json:
        print_json([t.to_json() for t in tokens])
        return
    for t in tokens:
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if t.last_used_at else "never used"
        click.echo(f"{t.label:<20} made {t.created_at:%Y-%m-%d %H:%M} UTC, {used}")


@user.command("revoke")
@click.argument("name")
@click.argument("label")
@click.pass_obj
def user_revoke(app, name, label):
    """Revoke NAME's token LABEL: it stops working at once."""
    app.users.revoke(name, label, app.tasks.actor)
    click.echo(f"token {label} of {name} revoked")
