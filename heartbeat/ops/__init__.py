"""Floor 2 of heartbeat/, beside services/: running the daemon in production. presence.py (the
daemon registry), systemd.py (notify protocol), metrics.py and metrics_server.py (Prometheus,
/livez, /readyz), status.py (`heartbeat status`), logs.py (structlog set-up)."""
