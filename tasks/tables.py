"""The state database's tables (SQLAlchemy Core). Alembic migrations in tasks/migrations create them.

Layout, chosen for the queries the heartbeat makes:
- hb_tasks: one row per task with its counters; `handled_upto` is the last handled queue position, so a
  batch is a primary-key range scan and a resume starts at `handled_upto + 1`.
- hb_items: the queue, primary key (task_id, position); positions start at 1.
- hb_log: the action log, read back in id order per task.
- hb_sync_state: per export profile and product, the hash of what was last sent.
- hb_profiles: per-profile bookkeeping (next cron slot, paused or not) and the row locked while a task of the
  profile starts, so two daemons cannot start two tasks of one profile.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# MySQL's DATETIME drops fractions unless asked; durations and ordering need them.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
HugeText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

tasks = sa.Table(
    "hb_tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("triggered_by", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("scheduled_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp),
    sa.Column("finished_at", Timestamp),
    sa.Column("message", sa.Text),
    sa.Column("options", sa.Text),  # JSON: per-run options such as {"full": true}
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("pending", sa.Integer, nullable=False, default=0),
    sa.Column("processed", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("cancelled", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Integer, nullable=False, default=0),
    sa.Column("handled_upto", sa.Integer, nullable=False, default=0),
    sa.Column("batches", sa.Integer, nullable=False, default=0),
    sa.Column("work_seconds", sa.Float, nullable=False, default=0.0),
    sa.Column("export_path", sa.String(1000)),
    sa.Column("export_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("owner", sa.String(200)),
    sa.Column("lease_until", Timestamp),
    # the batch an owner is working on, recorded before the work: after a crash the next owner
    # knows where it died (see TaskStore.claim)
    sa.Column("attempt_position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempt_end", sa.Integer, nullable=False, server_default="0"),
    sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("suspect_until", sa.Integer, nullable=False, server_default="0"),
    sa.Column("culprit_until", sa.Integer, nullable=False, server_default="0"),
    # a batch with effects outside this database (shop writes) is planned and saved first, so a
    # redo after a crash applies the same plan and reports the same outcomes (see heartbeat.engine.beat)
    sa.Column("plan_position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("plan", HugeText),
    sa.Column("retry_of", sa.Integer),  # the task whose error items this one redoes (migration 0014)
    # a step (start or batch) that failed unexpectedly: how many heartbeats in a row, and how
    # ("position: reason"); the task ends in error after STEP_FAILURES_ALLOWED (migration 0012)
    sa.Column("step_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("step_failure", sa.String(500)),
    sa.Index("ix_hb_tasks_status_scheduled", "status", "scheduled_at"),
    sa.Index("ix_hb_tasks_profile_status", "profile", "status"),
    sa.Index("ix_hb_tasks_finished", "finished_at"),
    # ids are never reused, even after the newest task is deleted: a report's "unchanged since task
    # #3" must not come to name a later task. MySQL/MariaDB's AUTO_INCREMENT already never reuses
    # one (InnoDB keeps its counter across restarts since MariaDB 10.2.4 / MySQL 8.0); SQLite needs
    # AUTOINCREMENT (migration 0004)
    sqlite_autoincrement=True,
)

items = sa.Table(
    "hb_items",
    metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product_id", sa.Integer, nullable=False),
    sa.Column("combination_id", sa.Integer, nullable=False, default=0),
    sa.Column("reference", sa.String(64)),
    sa.Column("name", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32)),
    sa.Column("detail", sa.Text),
    sa.Column("payload", sa.Text),  # the source row an import item was queued from (JSON)
)

log = sa.Table(
    "hb_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, nullable=False),
    sa.Column("logged_at", Timestamp, nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("message", LongText, nullable=False),
    sa.Index("ix_hb_log_task", "task_id", "id"),
)

findings = sa.Table(  # what a maintenance task found: one row per bad pattern on a checked record
    "hb_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # the item checked (0: the task as a whole)
    sa.Column("pattern", sa.String(64), nullable=False),
    sa.Column("record", sa.String(255), nullable=False),  # the record as the result's examples name it
    sa.Column("fixed", sa.Boolean, nullable=False),
    sa.Index("ix_hb_findings_task_pattern", "task_id", "pattern", "position"),
)

sync_state = sa.Table(  # what an export profile last sent of each product: skip it while unchanged
    "hb_sync_state",
    metadata,
    sa.Column("profile", sa.String(100), primary_key=True),
    sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("task_id", sa.Integer, nullable=False),
    sa.Column("sent_at", Timestamp, nullable=False),
    sa.Column("fields", sa.Text),  # a digest per exported field: what changed (export_format.signature)
)

profiles = sa.Table(
    "hb_profiles",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("schedule", sa.String(200)),
    sa.Column("next_slot", Timestamp),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("paused_at", Timestamp),  # set while the profile is paused: no schedule slots (0013)
    sa.Column("paused_by", sa.String(100)),  # who paused it: cli, web, api
)

# -- category mapping (docs/categories.md) ------------------------------------------------------------
# A column is a connection (its shop's categories) or a platform (its taxonomy, when one is loaded).
category_columns = sa.Table(
    "hb_category_columns",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("taxonomy_file", sa.String(255)),  # the file the taxonomy was loaded from, if any
    sa.Column("taxonomy_version", sa.String(100)),
    sa.Column("taxonomy_loaded_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
)

taxonomy = sa.Table(
    "hb_taxonomy",
    metadata,
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("category_id", sa.String(64), primary_key=True),
    sa.Column("path", sa.String(1000), nullable=False),
)

# the mapping table: a row is a set of categories that correspond, one cell per column at most
category_map = sa.Table(
    "hb_category_map",
    metadata,
    sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("category_id", sa.String(64), nullable=False),
    sa.Index("ix_hb_category_map_column", "column_name", "category_id"),
)

# a mapping row's version (the table's counter at its last write); a removed row stays, deleted, so
# the highest version is the table's (If-Match on the page's edits; migration 0015)
category_rows = sa.Table(
    "hb_category_rows",
    metadata,
    sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# the category rules written on the page, in order (after the config file's [[category_rules]])
category_rules = sa.Table(
    "hb_category_rules",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("column_name", sa.String(64), nullable=False),
    sa.Column("category_id", sa.String(64), nullable=False),
    sa.Column("connection", sa.String(100)),
    sa.Column("reference_prefix", sa.String(255)),
    sa.Column("name_contains", sa.String(255)),
    sa.Column("manufacturer_contains", sa.String(255)),
    sa.Column("shop_category", sa.Integer),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# per-product overrides: product P of connection C goes to category X of column K, whatever else says
category_overrides = sa.Table(
    "hb_category_overrides",
    metadata,
    sa.Column("connection", sa.String(100), primary_key=True),
    sa.Column("id_product", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("column_name", sa.String(64), primary_key=True),
    sa.Column("category_id", sa.String(64), nullable=False),
    sa.Column("set_at", Timestamp, nullable=False),
)

deliveries = sa.Table(  # an export file's upload to an http target (tasks/stores/uploads.py)
    "hb_deliveries",
    metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("connection", sa.String(100), nullable=False),  # the http connection it goes to
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # since created or retried by hand
    sa.Column("next_at", Timestamp),  # when a pending delivery is next attempted
    sa.Column("owner", sa.String(200)),  # the process making an attempt (with lease_until) ...
    sa.Column("lease_until", Timestamp),  # ... set from its claim to its record
    sa.Column("sha256", sa.String(64)),  # of the file, as last sent (the Idempotency-Key holds it)
    sa.Column("http_status", sa.Integer),  # of the last answer
    sa.Column("seconds", sa.Float),  # the last attempt's duration
    sa.Column("outcome", sa.Text),  # the last attempt's outcome line (no secret: see connectors.platform)
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("delivered_at", Timestamp),
    sa.Index("ix_hb_deliveries_status_next", "status", "next_at"),
)

# the outbox: one row per delivery a status change asks for (tasks/stores/outbox.py)
notifications = sa.Table(
    "hb_notifications",
    metadata,
    # the delivery id receivers see (X-Heartbeat-Delivery): never reused, like task ids
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, nullable=False),
    sa.Column("target", sa.String(100), nullable=False),  # the [[notify]] entry's name
    sa.Column("event", sa.String(32), nullable=False),  # task.<status>
    sa.Column("task", LongText, nullable=False),  # the task's --json object when its status changed
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("created_at", Timestamp, nullable=False),
    # when a pending delivery may be attempted next; an attempt moves it past its timeout first, so
    # a sender that dies mid-attempt leaves it to be tried again, and two senders never share it
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_attempt_at", Timestamp),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", Timestamp),
    sa.Index("ix_hb_notifications_due", "status", "next_attempt_at"),
    sa.Index("ix_hb_notifications_task", "task_id"),
    sqlite_autoincrement=True,
)

# -- daemon registry and cumulative batch totals (migration 0009) -----------------------------------

daemons = sa.Table(  # one row per `heartbeat run` or `heartbeat tick` process (tasks/stores/registry.py)
    "hb_daemons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(200), nullable=False),  # the owner id its tasks carry (tasks/leases.py)
    sa.Column("kind", sa.String(8), nullable=False),  # run | tick
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("config_path", sa.String(1000), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("last_seen", Timestamp, nullable=False),  # refreshed by a thread of its own
    sa.Column("last_tick", Timestamp),
    sa.Column("stopped_at", Timestamp),  # set by a clean exit
    sa.Column("doing", sa.String(255)),
    sa.Index("ix_hb_daemons_owner", "owner"),
    sa.Index("ix_hb_daemons_last_seen", "last_seen"),
)

# Batch duration histogram bucket bounds in seconds (tasks/stores/totals.py); +Inf is `batches`.
BATCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def bucket_column(bound: float) -> str:
    """The column counting the batches that took at most `bound` seconds: le_0_25 for 0.25."""
    return "le_" + f"{bound:g}".replace(".", "_")


profile_totals = sa.Table(  # per profile, counted at each batch commit; never lowered by pruning
    "hb_profile_totals",
    metadata,
    sa.Column("profile", sa.String(100), primary_key=True),
    sa.Column("processed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("skipped", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("error", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("batches", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("batch_seconds", sa.Float, nullable=False, server_default="0"),
    *(sa.Column(bucket_column(b), sa.BigInteger, nullable=False, server_default="0") for b in BATCH_BUCKETS),
)


# -- who did what (migration 0014, docs/web.md) -----------------------------------------------------

users = sa.Table(  # named users of the web page and API (tasks/stores/users.py)
    "hb_users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | operator | admin (core.actor.Role)
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

tokens = sa.Table(  # a user's API tokens: only their SHA-256 is kept, the token is shown once
    "hb_tokens",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.UniqueConstraint("user_name", "label", name="uq_hb_tokens_user_label"),
)

sessions = sa.Table(  # login sessions, so a logout (or a password change) ends them on the server
    "hb_sessions",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),  # SHA-256 of the id the cookie carries
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_seen", Timestamp, nullable=False),
    sa.Column("address", sa.String(64)),
    sa.Index("ix_hb_sessions_user", "user_name"),
)

audit = sa.Table(  # every state change: who, via what, from where, what, on which object
    "hb_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("via", sa.String(8), nullable=False),  # web | api | cli | daemon
    sa.Column("address", sa.String(64)),
    sa.Column("action", sa.String(64), nullable=False),  # task.kill, profile.run, user.add...
    sa.Column("target", sa.String(200), nullable=False),  # task:42, profile:NAME, user:NAME
    sa.Column("detail", sa.Text),
    sa.Index("ix_hb_audit_at", "at"),
    sqlite_autoincrement=True,
)
