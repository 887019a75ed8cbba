"""Running a contestant as a fresh process: wall time from spawn to exit, and its own peak RSS.

The command runs under bench/launch.py, a tiny process that spawns it and takes its rusage with
`os.wait4` (see there why the bench cannot do that itself). Output goes to files, never to pipes,
so a chatty child cannot block.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: `python -m bench.x` children import from it
LAUNCHER = Path(__file__).resolve().with_name("launch.py")


@dataclass
class Timed:
    seconds: float
    returncode: int
    peak_rss_mb: float
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system time of the process itself (not of a database server)

    def check(self, what: str) -> Timed:
        """Self, or RuntimeError with the tail of stderr when the process failed."""
        if self.returncode != 0:
            lines = self.stderr.strip().splitlines() or ["(no output)"]
            tail = "\n".join(lines[-15:])
            raise RuntimeError(f"{what} exited {self.returncode}: {lines[-1]}\n{tail}")
        return self


def env() -> dict[str, str]:
    """The environment for children: ours, with the project importable."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
    e.pop("HEARTBEAT_CONFIG", None)
    return e


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def run(cmd: list[str], logdir: Path, name: str, timeout: float = 7200) -> Timed:
    """Run `cmd`, timed; stdout and stderr are kept in `logdir/name.{out,err}` and returned."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path, usage_path = (logdir / f"{name}.{ext}" for ext in ("out", "err", "usage"))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        launcher = subprocess.Popen([sys.executable, "-S", str(LAUNCHER), str(usage_path), *cmd],
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env(),
                                    cwd=ROOT, start_new_session=True)
        try:
            launcher.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
            raise RuntimeError(f"{' '.join(cmd[:4])}... still running after {timeout:.0f} s") from None
    if launcher.returncode != 0:
        raise RuntimeError(f"the launcher failed ({launcher.returncode}): {err_path.read_text()[-2000:]}")
    usage = json.loads(usage_path.read_text())
    return Timed(usage["seconds"], usage["returncode"], usage["maxrss_kb"] / 1024,  # KiB on Linux
                 out_path.read_text(errors="replace"), err_path.read_text(errors="replace"), usage["cpu_s"])
