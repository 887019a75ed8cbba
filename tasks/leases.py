"""Who processes a running task, and whether that processor still exists.

A task's `owner` is the process that handled its last batch (it stays set between batches, so a
processor that dies, busy or idle, is noticed); its `lease_until` is set only while a batch is in
progress. An owner id is "host:pid:start", where start is the process's start time as the kernel
counts it, so a recycled pid is not mistaken for the process that died. The host is the host name,
or $HEARTBEAT_HOST_ID where several hosts share one name (containers) or tests play two hosts.

Whether an owner still exists: on this host, /proc says; on another host, the daemon registry
(tasks/stores/registry.py) says whether its process is alive, and a lease held by a batch in progress
still fences it until it expires (a batch is never taken from a daemon that might be alive).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from functools import cache


def _process_start(pid: int) -> str | None:
    """The kernel's start time of pid (Linux /proc), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def current_host() -> str:
    return os.environ.get("HEARTBEAT_HOST_ID") or socket.gethostname()


@cache
def current_owner() -> str:
    pid = os.getpid()
    return f"{current_host()}:{pid}:{_process_start(pid) or 0}"


def owner_gone(owner: str, lease_until: datetime | None, now: datetime,
               registered_dead: bool = False) -> bool:
    """True when `owner` is known to no longer exist: on this host, its process is gone; on another
    host, the registry calls it dead (`registered_dead`: dead or stopped) and it holds no lease,
    or it held a batch (a lease) that expired without being committed. An owner on another host
    that the registry does not know cannot be told from a live idle one, and is not called gone."""
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return _lease_expired(lease_until, now) or (registered_dead and not busy(lease_until, now))
    if host != current_host():
        return _lease_expired(lease_until, now) or (registered_dead and not busy(lease_until, now))
    if pid == os.getpid():
        return owner != current_owner()
    actual = _process_start(pid)
    if actual is None:
        return not _pid_exists(pid) or _lease_expired(lease_until, now)
    return actual != start


def busy(lease_until: datetime | None, now: datetime) -> bool:
    """A lease is held only while a batch is in progress (claim to commit)."""
    return lease_until is not None and lease_until > now


def _lease_expired(lease_until: datetime | None, now: datetime) -> bool:
    return lease_until is not None and lease_until <= now


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
