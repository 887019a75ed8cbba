"""Crash recovery by halving: the range of suspect items known to hold the one that killed a
sacrificial process (tasks.recovery), kept across processes like the rest of an attempt.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.add_column(sa.Column("culprit_until", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.drop_column("culprit_until")
