"""The statements every batch runs, compiled once per database (core.driver.Prepared)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import driver
from tasks import tables as t
from tasks.models import Item, Task
from tasks.states import ItemStatus

ITEM = t.items.c


class Statements:
    def __init__(self, dialect):
        p = sa.bindparam
        self.pending_items = driver.Prepared(
            sa.select(ITEM.position, ITEM.product_id, ITEM.combination_id, ITEM.reference, ITEM.name,
                      ITEM.payload, ITEM.detail)
            .where(ITEM.task_id == p("task_id"), ITEM.position > p("after"), ITEM.position <= p("end"))
            .order_by(ITEM.position), dialect)
        sync = t.sync_state.c
        self.sync_state = driver.Prepared(
            sa.select(sync.product_id, sync.hash, sync.task_id, sync.fields)
            .where(sync.profile == p("profile"), sync.product_id.in_(p("ids", expanding=True))), dialect)
        self.mark_items = driver.Prepared(  # only pending items: outcomes are final (tasks.states)
            t.items.update()
            .where(ITEM.task_id == p("task_id"), ITEM.position.in_(p("positions", expanding=True)),
                   ITEM.status == ItemStatus.PENDING.value)
            .values(status=p("status"), action=p("action"), detail=p("detail")), dialect)

    def pending(self, conn: Connection, task: Task, end: int) -> list[Item]:
        """The task's unhandled items up to position `end`, in position order."""
        found = self.pending_items.rows(conn, task_id=task.id, after=task.handled_upto, end=end)
        return list(map(Item._make, found))
