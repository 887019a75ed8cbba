"""Reserved for issue 27 (who did what): users, sessions, tokens, the audit trail, retry_of.

Empty until that work lands: the chain of revisions stays linear while branches are built side by side.

Revision ID: 0014
Revises: 0013
"""

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
