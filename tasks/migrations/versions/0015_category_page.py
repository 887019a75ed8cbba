"""Reserved for issue 26 (the category mapping page): row versions for If-Match.

Empty until that work lands: the chain of revisions stays linear while branches are built side by side.

Revision ID: 0015
Revises: 0014
"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
