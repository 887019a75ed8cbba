"""The daemon registry: one row per heartbeat process (and cron tick), refreshed while it lives; and
per-profile totals counted at each batch commit (items by outcome, the batch duration histogram),
which pruning history never lowers. Totals start from the tasks already recorded.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BUCKETS = ("le_0_1", "le_0_25", "le_0_5", "le_1", "le_2_5", "le_5", "le_10", "le_30", "le_60", "le_120",
           "le_300")


def upgrade() -> None:
    op.create_table(
        "hb_daemons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("config_path", sa.String(1000), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("last_tick", Timestamp),
        sa.Column("stopped_at", Timestamp),
        sa.Column("doing", sa.String(255)),
    )
    op.create_index("ix_hb_daemons_owner", "hb_daemons", ["owner"])
    op.create_index("ix_hb_daemons_last_seen", "hb_daemons", ["last_seen"])
    op.create_table(
        "hb_profile_totals",
        sa.Column("profile", sa.String(100), primary_key=True),
        sa.Column("processed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("skipped", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("batches", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("batch_seconds", sa.Float, nullable=False, server_default="0"),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in BUCKETS),
    )
    # items handled before this upgrade count too (their batches' durations are not known one by one)
    op.execute("INSERT INTO hb_profile_totals (profile, processed, skipped, error) "
               "SELECT profile, SUM(processed), SUM(skipped), SUM(error) FROM hb_tasks GROUP BY profile")


def downgrade() -> None:
    op.drop_table("hb_profile_totals")
    op.drop_index("ix_hb_daemons_last_seen", "hb_daemons")
    op.drop_index("ix_hb_daemons_owner", "hb_daemons")
    op.drop_table("hb_daemons")
