"""The notification outbox: deliveries written in the same transaction as the status change.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hb_notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("task", LongText, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_attempt_at", Timestamp),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", Timestamp),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hb_notifications_due", "hb_notifications", ["status", "next_attempt_at"])
    op.create_index("ix_hb_notifications_task", "hb_notifications", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_hb_notifications_task", "hb_notifications")
    op.drop_index("ix_hb_notifications_due", "hb_notifications")
    op.drop_table("hb_notifications")
