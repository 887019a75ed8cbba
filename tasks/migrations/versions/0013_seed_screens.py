"""The seeds' screens (issue 25): a profile can be paused.

`hb_profiles.paused_at` is set while a profile is paused (the schedule step then creates no slot)
and `paused_by` says who paused it (cli, web, api). Kept in the state database so a pause survives
restarts and every daemon on the database sees it.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("hb_profiles") as batch:
        batch.add_column(sa.Column("paused_at", Timestamp))
        batch.add_column(sa.Column("paused_by", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("hb_profiles") as batch:
        batch.drop_column("paused_by")
        batch.drop_column("paused_at")
