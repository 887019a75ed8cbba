"""Export delivery: the state of uploading a finished export file to the platform (an http target).

One row per export task whose file is to be delivered: its status (pending, delivered, failed), the
attempts made, when the next one is due, the lease of the process making one, and the outcome of the
last (HTTP status, duration, the file's SHA-256, the outcome line).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hb_deliveries",
        sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", Timestamp),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_until", Timestamp),
        sa.Column("sha256", sa.String(64)),
        sa.Column("http_status", sa.Integer),
        sa.Column("seconds", sa.Float),
        sa.Column("outcome", sa.Text),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("delivered_at", Timestamp),
    )
    op.create_index("ix_hb_deliveries_status_next", "hb_deliveries", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_hb_deliveries_status_next", "hb_deliveries")
    op.drop_table("hb_deliveries")
