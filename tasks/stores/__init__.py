"""The state database's stores beside the task store: the category mapping (categories.py), export
uploads to an http target (uploads.py), the notification outbox (outbox.py), the daemon registry
(registry.py), whole-database counts (overview.py) and per-profile metric totals (totals.py)."""
