"""Who did what (issue 27): named web users with roles, their API tokens and login sessions, the
audit trail, and `retry_of` on a task queued to redo another's error items.

Secrets are stored hashed: passwords with argon2id, tokens and session ids with SHA-256 (they are
long random strings, so a fast hash is enough and lets a request find its row by the hash).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("hb_tasks") as batch:
        batch.add_column(sa.Column("retry_of", sa.Integer))
    op.create_table(
        "hb_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "hb_tokens",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp),
        sa.UniqueConstraint("user_name", "label", name="uq_hb_tokens_user_label"),
    )
    op.create_table(
        "hb_sessions",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen", Timestamp, nullable=False),
        sa.Column("address", sa.String(64)),
    )
    op.create_index("ix_hb_sessions_user", "hb_sessions", ["user_name"])
    op.create_table(
        "hb_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hb_audit_at", "hb_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_hb_audit_at", "hb_audit")
    op.drop_table("hb_audit")
    op.drop_index("ix_hb_sessions_user", "hb_sessions")
    op.drop_table("hb_sessions")
    op.drop_table("hb_tokens")
    op.drop_table("hb_users")
    with op.batch_alter_table("hb_tasks") as batch:
        batch.drop_column("retry_of")
