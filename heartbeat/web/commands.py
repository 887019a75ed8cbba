"""`heartbeat web [--listen HOST:PORT]` and `heartbeat web hash-password`.

The web stack (uvicorn, Starlette, Jinja2, argon2) is imported by these commands only: every other
command starts without it."""

from __future__ import annotations

import sys

import click

from heartbeat.ops import logs

DEFAULT_LISTEN = "127.0.0.1:8080"


@click.group(invoke_without_command=True)
@click.option("--listen", metavar="HOST:PORT",
              help=f"Address to serve on (default: [web] listen, else {DEFAULT_LISTEN}).")
@click.pass_context
def web(ctx, listen):
    """Serve the Task Manager page and its JSON API (/api/) until SIGTERM/SIGINT (docs/web.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from heartbeat.web import server

    app = ctx.obj
    logs.configure(app.config.log_format, app.config.log_level)
    sys.exit(server.serve(app, listen or app.config.web.listen or DEFAULT_LISTEN))


@web.command("hash-password")
def hash_password():
    """Print the hash of a password for [web] password_hash (the password is read from standard
    input when it is not a terminal, else prompted for twice)."""
    from heartbeat.web import auth

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    click.echo(auth.hash_password(password))
