"""Real `heartbeat` processes for the tests: a project on a copy of the example config, the CLI run
as a subprocess, the daemon started in the background, and the same with test hooks installed
(tests/hooks.py) for crash tests. Waiting is by polling what the real process shows, never by
timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


HEARTBEAT = [sys.executable, "-m", "heartbeat"]


DEADLINE = 300  # seconds a real process gets before the test gives up on it: a guard against hangs only


def make_project(tmp_path: Path, db_url: str, interval: float = 1) -> Path:
    """A copy of config.example.toml in tmp_path, with a short interval and the state DB at db_url."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace("interval = 5 ", f"interval = {interval} ").replace('schedule = "* * * * *"', "")
    text = text.replace('url = "sqlite:///data/state.db"', f'url = "{db_url}"')
    text = text.replace('path = "connectors/', f'path = "{ROOT}/connectors/')  # the shipped sample feed
    assert f"interval = {interval} " in text
    (tmp_path / "heartbeat.toml").write_text(text)
    return tmp_path


def hb(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), *args],
                          capture_output=True, text=True, cwd=project, check=check, timeout=DEADLINE)


def show(project: Path, task_id: int) -> dict:
    return json.loads(hb(project, "tasks", "show", str(task_id), "--json").stdout)


def wait_for(predicate, what: str, every: float = 0.2):
    """Poll the real process's visible state until `predicate` holds (not a timed assertion)."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting for {what}")


def start_daemon(project: Path) -> subprocess.Popen:
    return subprocess.Popen([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "run"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


HOOKED = [sys.executable, "-m", "tests.hooks"]


def hooked_env(**hooks: object) -> dict[str, str]:
    """The environment for a process run through tests.hooks: HB_HOOK_<NAME>=value for each hook."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update({f"HB_HOOK_{name.upper()}": str(value) for name, value in hooks.items()})
    return env


def start_hooked_daemon(project: Path, **hooks: object) -> subprocess.Popen:
    """`heartbeat run` with test hooks (tests/hooks.py)."""
    return subprocess.Popen([*HOOKED, "--config", str(project / "heartbeat.toml"), "run"], cwd=project,
                            env=hooked_env(**hooks), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_hooked(project: Path, *args: str, **hooks: object) -> subprocess.CompletedProcess:
    """A `heartbeat` command with test hooks, to its end."""
    return subprocess.run([*HOOKED, "--config", str(project / "heartbeat.toml"), *args], cwd=project,
                          env=hooked_env(**hooks), capture_output=True, text=True, timeout=DEADLINE)


def alive(pid: int) -> bool:
    """True while process `pid` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def handled_upto(state_url: str, task_id: int) -> int:
    """How far the task's committed batches reach (its items handled, in queue order)."""
    engine = sa.create_engine(state_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT handled_upto FROM hb_tasks WHERE id = :id"),
                                {"id": task_id}).scalar_one()
    finally:
        engine.dispose()


def committed_since(state_url: str, task_id: int, handled: int):
    """A poll (for wait_for) of the state database: true once a batch of the task committed past
    `handled` (by the daemon, or by a sacrificial child of it: a record the process leaves, which no
    poll can miss), or once the task has ended."""
    engine = sa.create_engine(state_url)
    query = sa.text("SELECT status, handled_upto FROM hb_tasks WHERE id = :id")

    def poll():
        with engine.connect() as conn:
            status, upto = conn.execute(query, {"id": task_id}).one()
        return status not in ("pending", "running") or upto > handled

    return poll


def kill_mid_batches(project: Path, state_url: str, task_id: int, kills: int, rng) -> int:
    """Start the daemon and SIGKILL it once it works on the task, `kills` times or until the task is
    no longer running. Each kill waits, by polling the state database, for a batch this daemon
    committed (so it owns the task); then a random moment of up to 20 ms lets the kill land anywhere
    in its next batch or between two. Returns the kills that struck a daemon owning the still
    running task: each of them makes the next owner log a restart."""
    landed = 0
    for _ in range(kills):
        if show(project, task_id)["status"] not in ("pending", "running"):
            break
        before = handled_upto(state_url, task_id)
        daemon = start_daemon(project)
        try:
            wait_for(committed_since(state_url, task_id, before), "a batch the daemon committed", every=0.01)
            time.sleep(rng.uniform(0, 0.02))
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.communicate(timeout=DEADLINE)
        landed += show(project, task_id)["status"] == "running"
    return landed
