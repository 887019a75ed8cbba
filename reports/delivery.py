"""The wording of deliveries: action-log lines and the `tasks show` line of an export file's upload."""

from __future__ import annotations

from datetime import datetime

from core.clock import as_utc
from tasks.stores.uploads import ExportUpload, UploadStatus


def delivered(status: int, seconds: float, connection: str, attempt: int) -> str:
    """The outcome of a successful upload: "delivered: HTTP 201 in 0.4 s (...)"."""
    return f"delivered: HTTP {status} in {seconds:.2f} s (connection {connection}, attempt {attempt})"


def failed(reason: str, connection: str, attempt: int, of: int, next_at: datetime | None,
           task_id: int) -> str:
    """A failed attempt, and what happens next: another attempt at `next_at`, or none (None)."""
    then = (f"next attempt at {_utc(next_at)}" if next_at is not None
            else f"giving up; `heartbeat tasks deliver {task_id}` tries again")
    return f"delivery failed: {reason} (connection {connection}, attempt {attempt} of {of}); {then}"


def interrupted(attempt: int) -> str:
    """A claim found that the process making the previous attempt died before recording it."""
    return (f"delivery attempt {attempt} did not finish: its process is gone; the file may have been "
            "received, so the next upload carries the same Idempotency-Key")


def retried(connection: str) -> str:
    """`heartbeat tasks deliver ID`."""
    return f"delivery to connection {connection} tried again by hand"


def summary(delivery: ExportUpload, max_attempts: int | None) -> str:
    """The delivery line of `tasks show`."""
    of = f" of {max_attempts}" if max_attempts else ""
    if delivery.status is UploadStatus.DELIVERED:
        return f"{delivery.outcome} at {_utc(delivery.delivered_at)}"
    if delivery.status is UploadStatus.FAILED:
        return (f"failed after {delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}: "
                f"{delivery.outcome}; `heartbeat tasks deliver {delivery.task_id}` tries again")
    if delivery.lease_until is not None:
        return f"pending: attempt {delivery.attempts}{of} in progress ({delivery.owner})"
    last = f"; last: {delivery.outcome}" if delivery.outcome else ""
    return f"pending: attempt {delivery.attempts + 1}{of} at {_utc(delivery.next_at)}{last}"


def _utc(value: datetime | None) -> str:
    value = as_utc(value)
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "-"
