"""Reserved for issue 23 (never wrong): what the export guard, waiting manual work or retries need.

Empty until that work lands: the chain of revisions stays linear while branches are built side by side.

Revision ID: 0012
Revises: 0011
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
