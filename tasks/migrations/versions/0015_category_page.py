"""Issue 26 (the category mapping page): row versions for If-Match.

`hb_category_rows` holds one line per row of the mapping table with the table's version counter at
its last write; a removed row stays as a tombstone (`deleted`), so the highest version is the
table's version and a stale edit of a removed row is told apart from an unknown row. Existing
rows start at version 1.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hb_category_rows",
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.execute("INSERT INTO hb_category_rows (row_id, version, deleted, updated_at) "
               "SELECT DISTINCT row_id, 1, 0, CURRENT_TIMESTAMP FROM hb_category_map")


def downgrade() -> None:
    op.drop_table("hb_category_rows")
