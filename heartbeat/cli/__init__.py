"""Floor 3 of heartbeat/, a front door: the `heartbeat` command (main.py), its text views (views.py),
live progress bars (progress.py) and the notification commands (notify.py)."""
