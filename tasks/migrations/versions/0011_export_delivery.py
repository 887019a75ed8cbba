"""Export delivery: the outcome of uploading a finished export file to the platform.

Revision ID: 0011
Revises: 0010
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the change that needs it


def downgrade() -> None:
    pass
