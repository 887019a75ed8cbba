"""Category mapping: the mapping table, platform taxonomies and per-product overrides.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hb_category_columns",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("taxonomy_file", sa.String(255)),
        sa.Column("taxonomy_version", sa.String(100)),
        sa.Column("taxonomy_loaded_at", Timestamp),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "hb_taxonomy",
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("category_id", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(1000), nullable=False),
    )
    op.create_table(
        "hb_category_map",
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("category_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_hb_category_map_column", "hb_category_map", ["column_name", "category_id"])
    op.create_table(
        "hb_category_overrides",
        sa.Column("connection", sa.String(100), primary_key=True),
        sa.Column("id_product", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("category_id", sa.String(64), nullable=False),
        sa.Column("set_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hb_category_overrides")
    op.drop_index("ix_hb_category_map_column", "hb_category_map")
    op.drop_table("hb_category_map")
    op.drop_table("hb_taxonomy")
    op.drop_table("hb_category_columns")
