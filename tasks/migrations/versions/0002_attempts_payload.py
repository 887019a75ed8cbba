"""Attempt records for crash detection; item payloads for imports.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        for name in ("attempt_position", "attempt_end", "restarts", "suspect_until"):
            batch.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("hb_items") as batch:
        batch.add_column(sa.Column("payload", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("hb_items") as batch:
        batch.drop_column("payload")
    with op.batch_alter_table("hb_tasks") as batch:
        for name in ("attempt_position", "attempt_end", "restarts", "suspect_until"):
            batch.drop_column(name)
