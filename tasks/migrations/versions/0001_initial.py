"""Initial state schema: tasks, queued items, action log, profile bookkeeping.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hb_tasks",
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
        sa.Column("options", sa.Text),
        sa.Column("batch_size", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False, server_default="0")
          for c in ("total", "pending", "processed", "skipped", "cancelled", "error", "handled_upto",
                    "batches")],
        sa.Column("work_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("export_path", sa.String(1000)),
        sa.Column("export_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_until", Timestamp),
    )
    op.create_index("ix_hb_tasks_status_scheduled", "hb_tasks", ["status", "scheduled_at"])
    op.create_index("ix_hb_tasks_profile_status", "hb_tasks", ["profile", "status"])
    op.create_index("ix_hb_tasks_finished", "hb_tasks", ["finished_at"])
    op.create_table(
        "hb_items",
        sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("combination_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reference", sa.String(64)),
        sa.Column("name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32)),
        sa.Column("detail", sa.Text),
    )
    op.create_table(
        "hb_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, nullable=False),
        sa.Column("logged_at", Timestamp, nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("message", LongText, nullable=False),
    )
    op.create_index("ix_hb_log_task", "hb_log", ["task_id", "id"])
    op.create_table(
        "hb_profiles",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("schedule", sa.String(200)),
        sa.Column("next_slot", Timestamp),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("hb_profiles", "hb_log", "hb_items", "hb_tasks"):
        op.drop_table(table)
