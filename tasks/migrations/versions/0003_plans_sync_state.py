"""Saved batch plans (imports) and the export sync state (change tracking).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.add_column(sa.Column("plan_position", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("plan", LongText))
    op.create_table(
        "hb_sync_state",
        sa.Column("profile", sa.String(100), primary_key=True),
        sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.Integer, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hb_sync_state")
    with op.batch_alter_table("hb_tasks") as batch:
        batch.drop_column("plan")
        batch.drop_column("plan_position")
