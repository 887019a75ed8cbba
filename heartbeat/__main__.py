"""`python -m heartbeat` is the `heartbeat` command."""

from heartbeat.cli.main import main

main()
