"""A sacrificial child process: run one piece of work in a fork and tell how it ended.

Crash recovery (tasks.recovery) hands a suspect item to such a child, so that a death it brings on
(a driver's segfault, the kernel's OOM killer, an exit deep in a library) ends the child, not the
daemon, and the daemon sees it. The daemon itself being killed must never count against the item:
the child asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), and ignores SIGINT and
SIGTERM (a Ctrl-C reaches the whole process group; the daemon decides when to stop).

Since the child ignores the signals, the daemon tells it when a stop is wanted: `run` polls
`should_stop` while it waits and then writes to a pipe the child reads, and `work` asks its
`stopping()` at each point where it may end early (between two suspect items).

The child is a fork of the daemon: it shares nothing with it once running, but starts with copies
of its open connections, which it must never use nor close (SQLAlchemy's and SQLite's rule for fork):
`work` opens its own, and the child ends with os._exit, so no finaliser touches the copies.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_POLL = 0.05  # seconds between two looks at `should_stop` while a child works
# A fork copies only the thread that forks. A background thread of the daemon (the notification
# sender) holds this lock while it touches a lock a child could need (a log stream's, the state
# database's connection pool), and a fork waits for it: no child starts with such a lock held by a
# thread it does not have. Network waits happen outside it, so a fork waits milliseconds at most.
FORK_GUARD = threading.Lock()


@dataclass(frozen=True)
class ChildEnd:
    """How a child ended: the JSON object `work` returned (None when it died before returning one)
    and, in words, how the process ended ("exit 70", "killed by SIGSEGV", "timed out after 120 s")."""

    message: dict | None
    how: str

    @property
    def died(self) -> bool:
        return self.message is None


def run(work: Callable[[Callable[[], bool]], dict], timeout: float,
        should_stop: Callable[[], bool] | None = None) -> ChildEnd:
    """Run `work(stopping)` in a child process and wait for it, at most `timeout` seconds (then it
    is killed and counts as dead). `work` returns a JSON-able dict; an exception it lets escape is
    printed by the child and the child dies with exit status 1. `stopping()`, in the child, is true
    once `should_stop()` was true in the parent (already at the fork, or at a look since)."""
    sys.stdout.flush()
    sys.stderr.flush()  # or the child would write the parent's buffered lines a second time
    parent = os.getpid()
    read_end, write_end = os.pipe()
    stop_read, stop_write = os.pipe()
    told = _tell_stop(should_stop, stop_write)  # a stop wanted already: the child knows from the start
    with FORK_GUARD:
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        os.close(stop_write)
        _child(parent, lambda: work(lambda: bool(select.select([stop_read], [], [], 0)[0])), write_end)
    os.close(write_end)
    os.close(stop_read)
    try:
        look = None if told or should_stop is None else lambda: _tell_stop(should_stop, stop_write)
        data, timed_out = _read_all(read_end, timeout, look)
    finally:
        os.close(read_end)
        os.close(stop_write)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return ChildEnd(None, f"did not finish within {timeout:.0f} s")
    how = _how(status)
    if how != "exit 0" or not data:
        return ChildEnd(None, how)
    return ChildEnd(json.loads(data), how)


def _tell_stop(should_stop: Callable[[], bool] | None, fd: int) -> bool:
    """If `should_stop()`, tell the child (a byte it never reads: its end stays readable); returns
    whether it was told."""
    if should_stop is None or not should_stop():
        return False
    try:
        os.write(fd, b"s")
    except BrokenPipeError:  # the child has just ended: nothing to tell
        pass
    return True


def _child(parent: int, work: Callable[[], dict], out: int) -> None:
    code = 1
    try:
        _die_with(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        data = json.dumps(work()).encode()
        while data:
            data = data[os.write(out, data):]
        code = 0
    except BaseException:  # a bug in `work`: print it, and die as a crash would
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; if the parent is already gone, go."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child may outlive a killed daemon
        pass
    if os.getppid() != parent:
        os._exit(1)


def _read_all(fd: int, timeout: float, look: Callable[[], bool] | None) -> tuple[bytes, bool]:
    """Everything written to the pipe until the child closes it (exits); (data, timed out).
    `look()` is called every STOP_POLL seconds until it returns true."""
    chunks, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        if not select.select([fd], [], [], left if look is None else min(left, STOP_POLL))[0]:
            if look is not None and look():
                look = None
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"
