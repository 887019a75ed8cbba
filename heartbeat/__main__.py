"""`python -m heartbeat` is the `heartbeat` command."""

from heartbeat.cli import main

main()
