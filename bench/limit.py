"""The limit: one task done with plain DBAPI and the same reads and writes, batch by batch.

    python -m bench.limit '<spec as JSON>'

runs in a fresh process (as the product's `heartbeat tick --until-idle` does): creates the task,
builds its queue, then runs one transaction per batch until done, and prints a JSON line with its
own phase timings. `Runner` is also what each python-rq job of the peer runs (bench/peer.py).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench import rawwork
from bench.rawstate import RawState
from bench.sql import connect
from connectors.platform import export_format as fmt
from reports import export_file


@dataclass
class Spec:
    kind: str  # export | import
    state_url: str
    shop_url: str
    batch_size: int
    export_dir: str  # where export files go
    feed_path: str | None = None  # import
    profile: str = "bench-export"
    connection: str = "shop"

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Runner:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.state = RawState(connect(spec.state_url, state=True))
        self.shop = connect(spec.shop_url, state=False)
        self.at = datetime.now()  # the shop's local time: which specific prices are current (as the product)

    def create_and_start(self) -> tuple[int, int, float]:
        """A new task with its queue built: (task id, items, seconds the start took)."""
        s, now = self.spec, utcnow()
        task_id = self.state.create(s.profile, s.kind, s.batch_size, now)
        started = time.perf_counter()
        if s.kind == "export":
            entries, path = rawwork.queue(self.shop), f"{s.export_dir}/{s.profile}-task-{task_id}.json"
        else:
            entries, path = rawwork.feed_queue(s.feed_path), None
        total = self.state.start(task_id, entries, path, s.batch_size, utcnow(),
                                 duplicates=s.kind == "import")
        return task_id, total, time.perf_counter() - started

    def run_batch(self, task_id: int) -> bool:
        """One batch in one transaction; True when it was the task's last."""
        started, now, db = time.perf_counter(), utcnow(), self.state.db
        db.begin()
        try:
            task = self.state.lock(task_id)
            items = self.state.pending_items(task)
            if not items:
                db.rollback()
                return True
            last = len(items) >= task.pending
            export_bytes = None
            if self.spec.kind == "export":
                known = self.state.sync_state(task.profile, [i[1] for i in items])
                outcomes, records = rawwork.export_batch(self.shop, items, self.at)
                export_bytes = _append(task, list(records.values()), last, self.spec.connection)
                sent = {pid: hashlib.sha256(r.encode()).hexdigest() for pid, r in records.items()}
                self.state.record_sync(task, sent, set(known), now)
            else:
                outcomes = rawwork.import_batch(self.shop, items, now)
            self.state.commit_batch(task, outcomes, time.perf_counter() - started, now, export_bytes, last)
        except BaseException:
            db.rollback()
            raise
        return last

    def close(self) -> None:
        self.state.db.close()
        self.shop.close()


def _append(task, records: list[str], last: bool, connection: str) -> int:
    """Write the batch's bytes at the committed offset and fsync, with the product's own writer
    (plain OS calls: nothing of the framework the limit leaves out)."""
    data = b""
    if not task.export_bytes:
        created = task.created_at if isinstance(task.created_at, datetime) else \
            datetime.fromisoformat(task.created_at)
        data = fmt.file_head(task_id=task.id, profile=task.profile, connection=connection,
                             created_at=created.replace(tzinfo=UTC)).encode()
    if records:
        text = fmt.SEPARATOR.join(records)
        data += (text if task.processed == 0 else fmt.SEPARATOR + text).encode()
    if last:
        data += fmt.FILE_TAIL.encode()
    return export_file.append(task.export_path, task.export_bytes, data)  # the same durable write


def main(argv: list[str]) -> int:
    spec = Spec(**json.loads(argv[0]))
    runner = Runner(spec)
    task_id, total, queue_s = runner.create_and_start()
    started, batches = time.perf_counter(), 0
    while True:
        batches += 1
        if runner.run_batch(task_id):
            break
    runner.close()
    print(json.dumps({"task_id": task_id, "total": total, "queue_s": queue_s,
                      "batches_s": time.perf_counter() - started, "batches": batches}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
