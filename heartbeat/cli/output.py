"""What a command prints with `--json`: the one option and the one printer every CLI module uses, so
the flag and the format (indented by 2, non-ASCII text written as is) are the same everywhere."""

from __future__ import annotations

import json

import click

TABLE = "Print JSON instead of a table."


def json_option(help_text: str = TABLE):
    """The `--json` flag, given to the command as `as_json`; `help_text` says what it prints instead."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def print_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
