"""The peer: the same task run as python-rq jobs, one job per batch.

    python -m bench.peer '<spec as JSON>' REDIS_URL

In a fresh process: build the queue (as the limit does), enqueue one job per
batch on a queue of its own on a local Redis, then run them with rq's `SimpleWorker` in burst mode in
that same process (no fork per job). Each job is `batch_job`: the limit's transaction for one batch,
on connections the worker process keeps between jobs (a module-level cache, as rq apps usually
hold their database connections). rq settings are its defaults (job results kept 500 s, etc.).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

from bench.limit import Runner, Spec

_runners: dict[str, Runner] = {}


def unavailable(redis_url: str) -> str | None:
    """None when rq is installed and Redis answers at `redis_url`, else why not."""
    try:
        import redis
        import rq  # noqa: F401
    except ImportError as exc:
        return f"python-rq is not installed ({exc.name}); pip install -e '.[bench]'"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any client error means: no Redis to talk to
        return f"Redis not reachable at {redis_url}: {str(exc).splitlines()[0]}"
    return None


def batch_job(spec_json: str, task_id: int) -> bool:
    """One batch of the task (what the limit does per batch). True when it was the last."""
    runner = _runners.get(spec_json)
    if runner is None:
        runner = _runners[spec_json] = Runner(Spec(**json.loads(spec_json)))
    return runner.run_batch(task_id)


def main(argv: list[str]) -> int:
    from redis import Redis
    from rq import Queue, SimpleWorker

    spec_json, redis_url = argv
    spec = Spec(**json.loads(spec_json))
    enqueuer = Runner(spec)
    task_id, total, queue_s = enqueuer.create_and_start()
    enqueuer.close()

    started = time.perf_counter()
    redis = Redis.from_url(redis_url)
    queue = Queue(f"hb-bench-{uuid.uuid4().hex[:10]}", connection=redis)
    batches = max(1, -(-total // spec.batch_size))
    jobs = [queue.enqueue("bench.peer.batch_job", spec_json, task_id) for _ in range(batches)]
    worker = SimpleWorker([queue], connection=redis)
    worker.work(burst=True, logging_level="WARNING")
    batches_s = time.perf_counter() - started
    failed = queue.failed_job_registry.count
    for job in jobs:
        if job.is_failed:
            result = job.latest_result()
            print(f"job {job.id} failed:\n{getattr(result, 'exc_string', '')}", file=sys.stderr)
            break

    for job in jobs:  # leave the shared Redis as we found it
        job.delete()
    queue.delete(delete_jobs=True)
    export = spec.kind == "export" and os.path.exists(enqueuer.path)
    size = os.path.getsize(enqueuer.path) if export else 0
    print(json.dumps({"task_id": task_id, "total": total, "queue_s": queue_s, "batches_s": batches_s,
                      "batches": batches, "failed_jobs": failed,
                      "export_path": enqueuer.path if export else None, "export_bytes": size}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
