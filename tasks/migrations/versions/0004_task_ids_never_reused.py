"""Task ids are never reused: AUTOINCREMENT on SQLite's hb_tasks.

SQLite gives a new row the highest rowid + 1, so deleting the newest task handed its id to the next
one (whose report could then say "unchanged since task #3" about itself). With AUTOINCREMENT it
keeps the highest id ever used in sqlite_sequence. SQLite cannot add AUTOINCREMENT to a table, so the
table is rebuilt (rows, ids and indexes kept), and the sequence starts at the highest task id any
row still names (a task deleted before this upgrade may live on in the sync state or, had a crash
left them, in items or log lines), so none of those ids is handed out again.

MySQL/MariaDB: nothing to do. AUTO_INCREMENT never reuses an id, and InnoDB keeps its counter across
a server restart since MariaDB 10.2.4 and MySQL 8.0 (before, it restarted at the highest id + 1).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# every column that names a task id
TASK_IDS = (("hb_tasks", "id"), ("hb_items", "task_id"), ("hb_log", "task_id"),
            ("hb_sync_state", "task_id"))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    with op.batch_alter_table("hb_tasks", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}):
        pass
    highest = max(conn.exec_driver_sql(f"SELECT COALESCE(MAX({column}), 0) FROM {table}").scalar()
                  for table, column in TASK_IDS)
    conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'hb_tasks'")
    conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('hb_tasks', :seq)"),
                 {"seq": highest})


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("hb_tasks", recreate="always",
                              table_kwargs={"sqlite_autoincrement": False}):
        pass
