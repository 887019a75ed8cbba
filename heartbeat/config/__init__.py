"""Floor 0 of heartbeat/: the TOML configuration read and checked (loader.py) and the profiles' cron
schedules (schedule.py). Everything else in heartbeat/ stands on it; it imports nothing of heartbeat/."""
