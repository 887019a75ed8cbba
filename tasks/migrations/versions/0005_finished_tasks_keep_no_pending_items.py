"""A finished task keeps no pending item: those an error left pending become cancelled.

Until this revision a task that ended in error kept its pending items pending forever. Now they are
cancelled when it ends (tasks.rows.transition), with the detail "task ended in error: <message>";
this does the same for the tasks that ended before. Counters follow their items.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FINISHED = ("missed", "completed", "killed", "error")


def upgrade() -> None:
    conn = op.get_bind()
    ended = conn.execute(sa.text(
        "SELECT id, status, message, total FROM hb_tasks WHERE pending > 0 AND status IN :finished"
    ).bindparams(sa.bindparam("finished", expanding=True)), {"finished": list(FINISHED)}).all()
    for task_id, status, message, total in ended:
        detail = f"task ended in {status}" + (f": {message}" if message else "")
        cancelled = conn.execute(sa.text(
            "UPDATE hb_items SET status = 'cancelled', detail = :detail "
            "WHERE task_id = :id AND status = 'pending'"), {"detail": detail, "id": task_id}).rowcount
        conn.execute(sa.text(
            "UPDATE hb_tasks SET cancelled = cancelled + :n, pending = pending - :n, handled_upto = :total "
            "WHERE id = :id"), {"n": cancelled, "total": total, "id": task_id})


def downgrade() -> None:
    pass  # which items were pending is not kept; cancelled is what they should have been
