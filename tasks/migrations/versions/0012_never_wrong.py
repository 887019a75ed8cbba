"""Never wrong (issue 23): a step that fails the same way at every heartbeat is counted, so that
its task ends in error after STEP_FAILURES_ALLOWED tries instead of looping silently.

`step_failures` counts the heartbeats in a row at which the task's step (its start, or a batch)
failed with the same `step_failure` (the reason, at the same position); a different reason or
position starts the count again at 1.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.add_column(sa.Column("step_failures", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("step_failure", sa.String(500)))


def downgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.drop_column("step_failure")
        batch.drop_column("step_failures")
