"""Change tracking remembers a digest per exported field, so the report can say what changed.

`hb_sync_state.fields` holds export_format.signature() of what was last sent (NULL for rows written
before this revision: their next change is reported without the fields).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hb_sync_state") as batch:
        batch.add_column(sa.Column("fields", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hb_sync_state") as batch:
        batch.drop_column("fields")
