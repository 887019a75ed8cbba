"""Maintenance tasks record what they find: one row per bad pattern found on a checked record.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hb_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("pattern", sa.String(64), nullable=False),
        sa.Column("record", sa.String(255), nullable=False),
        sa.Column("fixed", sa.Boolean, nullable=False),
    )
    op.create_index("ix_hb_findings_task_pattern", "hb_findings", ["task_id", "pattern", "position"])


def downgrade() -> None:
    op.drop_index("ix_hb_findings_task_pattern", "hb_findings")
    op.drop_table("hb_findings")
