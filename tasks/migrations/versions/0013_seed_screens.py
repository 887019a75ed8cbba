"""Reserved for issue 25 (the seeds' screens): paused profiles and what the new pages need.

Empty until that work lands: the chain of revisions stays linear while branches are built side by side.

Revision ID: 0013
Revises: 0012
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
