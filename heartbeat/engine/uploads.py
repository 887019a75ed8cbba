"""Delivering finished export files to http targets: the due attempts of each heartbeat, and by hand.

Policy (one place): each heartbeat makes at most one attempt per due delivery, each bounded by its
connection's timeouts, and goes on. An attempt that fails in a way that may pass (no answer, a
timeout, HTTP 5xx, 408, 409, 425, 429, a missing auth variable) is tried again after
retry_delay x 2^(attempt - 1) seconds, at most max_retry_delay (and at least what a Retry-After
asks, within that cap), up to max_attempts. After the last one, or at once for an answer that would
not change (other 4xx, a redirect, a missing file), the delivery is failed: the task stays completed
with its file, and `heartbeat tasks deliver ID` tries again with a fresh count of attempts.

An upload is at least once: a process that dies after the target received the file but before the
outcome was recorded leaves the attempt unrecorded, and the next attempt uploads the same bytes
again with the same Idempotency-Key (connectors.platform.delivery), which the receiver must honour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog

from connectors.platform.delivery import HttpTarget, Sent, upload
from core.clock import Clock
from core.config import Config
from core.errors import ProfileNotFound, Refused
from profiles.base import delivery_target
from reports import delivery as wording
from tasks.leases import busy, owner_gone
from tasks.states import TaskStatus
from tasks.store import TaskStore
from tasks.stores.uploads import ExportUpload, UploadStatus

log = structlog.get_logger("heartbeat")
# how long an attempt is ours before a process on another host may take it over (on this host, a
# dead process is noticed at once: tasks.leases.owner_gone)
LEASE = timedelta(hours=1)
DEFAULTS = {"max_attempts": 8, "retry_delay": 60.0, "max_retry_delay": 3600.0}


def retry_delay(attempt: int, first: float, cap: float, asked: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
    delay = min(first * 2 ** min(attempt - 1, 60), cap)
    return min(max(delay, asked or 0.0), cap)


class Uploader:
    """Attempts deliveries as process `owner`; `env` holds the auth variables (default os.environ)."""

    def __init__(self, config: Config, store: TaskStore, clock: Clock, owner: str,
                 env: Mapping[str, str] | None = None):
        self.config, self.store, self.clock, self.owner = config, store, clock, owner
        self.env = os.environ if env is None else env

    def due(self, now: datetime) -> list[int]:
        """Task ids whose delivery has an attempt due at `now`. None without an http connection in
        the config: nothing could be delivered, so a tick does not ask the database."""
        if not any(c.type == "http" for c in self.config.connections.values()):
            return []
        return self.store.deliveries.due(now)

    def attempt(self, task_id: int) -> ExportUpload | None:
        """One attempt of task_id's due delivery: claimed, uploaded, recorded. None when it is not
        ours to attempt (not due, gone, or another process is attempting it)."""
        claimed = self.store.deliveries.claim(task_id, self.owner, self.clock.now(), LEASE)
        if claimed is None:
            return None
        if claimed.interrupted:
            self.store.note(task_id, self.clock.now(), wording.interrupted(claimed.attempts - 1), "warning")
            log.warning("delivery.interrupted", task_id=task_id, connection=claimed.connection)
        conn = self.config.connections.get(claimed.connection)
        task = self.store.get(task_id)
        if conn is None or conn.type != "http":
            sent = Sent(error=f"connection {claimed.connection!r} is no longer configured as an http "
                              "connection", retryable=False)
        elif not task.export_path or not task.export_bytes:
            sent = Sent(error=f"task {task_id} has no export file", retryable=False)
        else:
            sent = upload(HttpTarget.from_connection(conn), task_id, task.export_path, task.export_bytes,
                          self.env, self.clock.monotonic)
        return self._record(claimed, sent, {**DEFAULTS, **(conn.options if conn is not None else {})})

    def _record(self, claimed: ExportUpload, sent: Sent, options: Mapping) -> ExportUpload | None:
        at, attempt, name, task_id = self.clock.now(), claimed.attempts, claimed.connection, claimed.task_id
        of = options["max_attempts"]
        bound = log.bind(task_id=task_id, connection=name, attempt=attempt)
        if sent.delivered:
            line = wording.delivered(sent.status, sent.seconds, name, attempt)
            bound.info("delivery.delivered", status=sent.status, seconds=round(sent.seconds, 3))
            return self.store.deliveries.record(
                task_id, self.owner, at, UploadStatus.DELIVERED, next_at=None, http_status=sent.status,
                seconds=sent.seconds, sha256=sent.sha256, outcome=line, line=line)
        next_at = None
        if sent.retryable and attempt < of:
            delay = retry_delay(attempt, options["retry_delay"], options["max_retry_delay"], sent.retry_after)
            next_at = at + timedelta(seconds=delay)
        status = UploadStatus.PENDING if next_at is not None else UploadStatus.FAILED
        bound.warning("delivery.failed", reason=sent.error, status=sent.status, gave_up=next_at is None)
        line = wording.failed(sent.error or "", name, attempt, of, next_at, task_id)
        return self.store.deliveries.record(
            task_id, self.owner, at, status, next_at=next_at, http_status=sent.status, seconds=sent.seconds,
            sha256=sent.sha256, outcome=sent.error or "", line=line,
            level="warning" if next_at is not None else "error")

    def retry(self, task_id: int) -> ExportUpload:
        """`heartbeat tasks deliver ID`: make the delivery due now (a failed one gets a fresh count
        of attempts; a completed export task of a profile that now delivers over http gets one) and
        attempt it at once, in this process. Refused when there is nothing to deliver, it was
        delivered already, or another process is attempting it right now."""
        task = self.store.get(task_id)
        if task.kind != "export":
            article = "an" if task.kind[:1] in "aeiou" else "a"
            raise Refused(f"task {task_id} is {article} {task.kind} task; only export files are delivered")
        if task.status is not TaskStatus.COMPLETED:
            raise Refused(f"task {task_id} is {task.status.value}; only a completed export task's file is "
                          "delivered")
        if not task.export_bytes:
            raise Refused(f"task {task_id} has no export file (its source was empty); nothing to deliver")
        current = self.store.deliveries.get(task_id)
        if current is not None and current.owner not in (None, self.owner) and self._attempting(current):
            raise Refused(f"task {task_id}'s delivery is being attempted by another process right now; "
                          f"see `heartbeat tasks show {task_id}`")
        connection = current.connection if current is not None else self._target(task.profile, task_id)
        self.store.deliveries.reopen(task_id, connection, self.clock.now(), wording.retried(connection))
        done = self.attempt(task_id)
        if done is None:
            raise Refused(f"task {task_id}'s delivery is being attempted by another process right now; "
                          f"see `heartbeat tasks show {task_id}`")
        return done

    def _attempting(self, delivery: ExportUpload) -> bool:
        """True while the process holding the delivery's lease is alive (tasks.leases)."""
        now = self.clock.now()
        return busy(delivery.lease_until, now) and not owner_gone(delivery.owner, delivery.lease_until, now)

    def _target(self, profile_name: str, task_id: int) -> str:
        try:
            profile = self.config.profile(profile_name)
        except ProfileNotFound:
            raise Refused(f"task {task_id}'s profile {profile_name!r} is no longer configured") from None
        target = delivery_target(profile, self.config)
        if target is None:
            raise Refused(f"profile {profile_name}'s target is not an http connection; its export files "
                          "are not delivered")
        return target

    def max_attempts(self, delivery: ExportUpload) -> int | None:
        conn = self.config.connections.get(delivery.connection)
        return conn.options.get("max_attempts") if conn is not None and conn.type == "http" else None
