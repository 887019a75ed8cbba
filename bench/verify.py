"""Checks that every contestant did the whole task, and the same task.

Read with plain SQL: the product's task row and its items counted by status (the limit and the
peer keep their own item table: `limit_state`), the body of the export file (everything after the
head, which names the task), and for imports the shop's resulting prices and quantities.
"""

from __future__ import annotations

import hashlib

from bench.limit import connect
from connectors.platform.export_format import format_decimal
from tasks.states import TaskStatus


class Incomplete(RuntimeError):
    pass


def task_state(state_url: str, task_id: int) -> dict:
    db = connect(state_url, state=True)
    try:
        db.cur.execute(db.sql("SELECT status, total, pending, processed, skipped, error, export_path, "
                              "export_bytes FROM hb_tasks WHERE id = ?"), (task_id,))
        row = db.cur.fetchone()
        if row is None:
            raise Incomplete(f"task {task_id} not found")
        keys = ("status", "total", "pending", "processed", "skipped", "error", "export_path", "export_bytes")
        state = dict(zip(keys, row, strict=True))
        db.cur.execute(db.sql("SELECT status, COUNT(*) FROM hb_items WHERE task_id = ? GROUP BY status"),
                       (task_id,))
        state["items"] = dict(db.cur.fetchall())
        return state
    finally:
        db.close()


def limit_state(state_url: str, info: dict) -> dict:
    """The limit's (or the peer's) task as `task_state` gives the product's: from its own item
    table (bench/limit.py) and what its process printed (the export file and its length)."""
    db = connect(state_url, state=True)
    try:
        db.cur.execute("SELECT status, COUNT(*) FROM limit_items GROUP BY status")
        items = dict(db.cur.fetchall())
    finally:
        db.close()
    counts = {s: items.get(s, 0) for s in ("pending", "processed", "skipped", "error")}
    return {"status": TaskStatus.RUNNING if counts["pending"] else TaskStatus.COMPLETED,
            "total": sum(items.values()), **counts, "export_path": info.get("export_path"),
            "export_bytes": info.get("export_bytes"), "items": {k: v for k, v in items.items() if v}}


def check_complete(state: dict, total: int, what: str) -> None:
    """Raise Incomplete unless the task completed with `total` items, none pending, and its
    counters equal to its items' counts."""
    counters = {k: state[k] for k in ("processed", "skipped", "error") if state[k]}
    if state["status"] != TaskStatus.COMPLETED or state["total"] != total or state["pending"] != 0 \
            or counters != state["items"]:
        raise Incomplete(f"{what} did not complete its task: {state}")


def export_digest(state: dict) -> str:
    """sha256 of the export file after its first line (the head naming the task)."""
    h = hashlib.sha256()
    with open(state["export_path"], "rb") as f:
        f.readline()
        left = state["export_bytes"] - f.tell()
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def shop_digest(shop_url: str) -> str:
    """sha256 of every product's price (both tables) and quantity, in id order."""
    db = connect(shop_url, state=False)
    try:
        db.cur.execute("SELECT p.id_product, p.price, ps.price, sa.quantity FROM ps_product p "
                       "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1 "
                       "LEFT JOIN ps_stock_available sa ON sa.id_product = p.id_product "
                       "AND sa.id_product_attribute = 0 AND sa.id_shop = 1 ORDER BY p.id_product")
        h = hashlib.sha256()
        for pid, price, shop_price, quantity in db.cur.fetchall():
            h.update(f"{pid};{format_decimal(price)};{format_decimal(shop_price)};{quantity}\n".encode())
        return h.hexdigest()
    finally:
        db.close()
