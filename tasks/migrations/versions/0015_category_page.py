"""Issue 26 (the category mapping page): row versions for If-Match, and the page's rules.

`hb_category_rows` holds one line per row of the mapping table with the table's version counter at
its last write; a removed row stays as a tombstone (`deleted`), so the highest version is the
table's version and a stale edit of a removed row is told apart from an unknown row. Existing
rows start at version 1. `hb_category_rules` holds the category rules written on the page, in
order, tried after the config file's [[category_rules]].

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
    op.create_table(
        "hb_category_rules",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("column_name", sa.String(64), nullable=False),
        sa.Column("category_id", sa.String(64), nullable=False),
        sa.Column("connection", sa.String(100)),
        sa.Column("reference_prefix", sa.String(255)),
        sa.Column("name_contains", sa.String(255)),
        sa.Column("manufacturer_contains", sa.String(255)),
        sa.Column("shop_category", sa.Integer),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.execute("INSERT INTO hb_category_rows (row_id, version, deleted, updated_at) "
               "SELECT DISTINCT row_id, 1, 0, CURRENT_TIMESTAMP FROM hb_category_map")


def downgrade() -> None:
    op.drop_table("hb_category_rules")
    op.drop_table("hb_category_rows")
