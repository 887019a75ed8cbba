"""Run a command and report its wall time and its own peak RSS: `python -S launch.py OUT CMD...`.

Why a launcher: Linux charges a child, at exec, with the peak RSS of the memory it was forked
from, so a child of the (big) bench process would report at least the bench's own size. This
small process (no site, a few MB) forks the command instead, and its `os.wait4` gets the peak
of the command alone. Standard library only; writes {"seconds", "returncode", "maxrss_kb",
"cpu_s"} to OUT (cpu_s: user + system time of the command).
"""

import json
import os
import sys
import time


def main() -> None:
    out, cmd = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    with open(out, "w") as f:
        json.dump({"seconds": seconds, "returncode": os.waitstatus_to_exitcode(status),
                   "maxrss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime}, f)


main()
