"""Who owns a running task, and whether that owner still exists.

An owner id is "host:pid:start", where start is the process's start time as the kernel counts it, so
a recycled pid is not mistaken for the process that died. An owner on this host is gone when that
process is; an owner elsewhere is gone when its lease has expired (it renews the lease every batch).
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


@cache
def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or 0}"


def owner_alive(owner: str, lease_until: datetime | None, now: datetime) -> bool:
    """True while `owner` may still be working on its task."""
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return bool(lease_until and lease_until > now)
    if host != socket.gethostname():
        return bool(lease_until and lease_until > now)
    if pid == os.getpid():
        return owner == current_owner()
    actual = _process_start(pid)
    if actual is None:
        return _pid_exists(pid) and bool(lease_until and lease_until > now)
    return actual == start


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
