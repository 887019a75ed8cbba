"""Test hooks, installed from outside the product: `python -m tests.hooks ARGS` is `heartbeat ARGS`
with every kind of worker wrapped so that a test can make the process die or wait at a chosen spot.
Nothing in the product reads these variables (tests/processes.py sets them):

- HB_HOOK_CRASH_ON_PRODUCT=ID[,ID...]: a batch holding one of these products kills its process the
  hard way (exit 70), as a segfault in a driver would;
- HB_HOOK_RECORD_BATCHES=PATH: each batch a worker processes appends "pid first last" (its process
  and its first and last queue positions) to PATH, so a test can count the processes that did work;
- HB_HOOK_CRASH_AFTER_APPLY=1: the process dies right after a batch's shop writes, before the batch
  commits in the state database (exit 71);
- HB_HOOK_HOLD_ON_PRODUCT=ID with HB_HOOK_HOLD_FILE=PATH: a batch holding product ID writes the pid
  of the process handling it to PATH and then waits forever, so a test can kill the daemon at that
  very moment (a poll of PATH, not a timer, says when);
- HB_HOOK_HOLD_BEFORE_DELIVERY=PATH: the notification sender, about to attempt a delivery, writes
  its pid to PATH and waits forever (a test kills the daemon between a status change and its
  notification's delivery).
"""

from __future__ import annotations

import os
import time

import profiles
from heartbeat.cli.main import main
from heartbeat.engine import notify

CRASH_ON = {int(i) for i in (os.environ.get("HB_HOOK_CRASH_ON_PRODUCT") or "").split(",") if i}
RECORD = os.environ.get("HB_HOOK_RECORD_BATCHES")
CRASH_AFTER_APPLY = os.environ.get("HB_HOOK_CRASH_AFTER_APPLY") == "1"
HOLD_ON = int(os.environ.get("HB_HOOK_HOLD_ON_PRODUCT") or 0)
HOLD_FILE = os.environ.get("HB_HOOK_HOLD_FILE")
HOLD_BEFORE_DELIVERY = os.environ.get("HB_HOOK_HOLD_BEFORE_DELIVERY")


def _hold(path: str) -> None:
    """Write our pid to `path` (atomically), then wait forever."""
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    while True:
        time.sleep(3600)


def _hooked(kind: type) -> type:
    class Hooked(kind):
        def process(self, task, items, previous):
            ids = {item.product_id for item in items}
            if RECORD and items:
                with open(RECORD, "a") as f:  # one short append: whole even with other processes
                    f.write(f"{os.getpid()} {items[0].position} {items[-1].position}\n")
            if CRASH_ON & ids:
                os._exit(70)
            if HOLD_ON and HOLD_ON in ids and HOLD_FILE:
                _hold(HOLD_FILE)
            return super().process(task, items, previous)

        def apply(self, effects, at):
            super().apply(effects, at)
            if CRASH_AFTER_APPLY:
                os._exit(71)

    Hooked.__name__ = f"Hooked{kind.__name__}"
    return Hooked


_HOOKED: dict[str, type] = {}
_worker_class = profiles.worker_class


def _hooked_worker_class(kind: str) -> type:
    if kind not in _HOOKED:
        _HOOKED[kind] = _hooked(_worker_class(kind))
    return _HOOKED[kind]


profiles.worker_class = _hooked_worker_class  # worker_for looks it up at each call

if HOLD_BEFORE_DELIVERY:
    _attempt = notify.Sender.attempt

    def _held_attempt(self, delivery):
        _hold(HOLD_BEFORE_DELIVERY)
        return _attempt(self, delivery)

    notify.Sender.attempt = _held_attempt

if __name__ == "__main__":
    main()
