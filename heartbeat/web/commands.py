"""`heartbeat web [--listen HOST:PORT]` and `heartbeat web hash-password`."""

from __future__ import annotations

import sys

import click

from heartbeat import logs
from heartbeat.web import auth, server


@click.group(invoke_without_command=True)
@click.option("--listen", metavar="HOST:PORT",
              help=f"Address to serve on (default: [web] listen, else {server.DEFAULT_LISTEN}).")
@click.pass_context
def web(ctx, listen):
    """Serve the Task Manager page and its JSON API (/api/) until SIGTERM/SIGINT (docs/web.md)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.obj
    logs.configure(app.config.log_format, app.config.log_level)
    sys.exit(server.serve(app, listen or app.config.web.listen or server.DEFAULT_LISTEN))


@web.command("hash-password")
def hash_password():
    """Print the hash of a password for [web] password_hash (the password is read from standard
    input when it is not a terminal, else prompted for twice)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    click.echo(auth.hash_password(password))
