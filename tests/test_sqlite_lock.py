"""The SQLite daemon lock ('<state file>.lock'): one daemon per state file, and a pid in the file
only while a daemon holds it."""

from __future__ import annotations

import fcntl
import subprocess

import pytest
from structlog.testing import capture_logs

from core.errors import AlreadyRunning
from heartbeat.daemon import release_lock, sqlite_lock


def _exited() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_clean_exit_leaves_no_pid_in_the_lock_file(tmp_path):
    lock = sqlite_lock(f"sqlite:///{tmp_path / 'state.db'}")
    assert (tmp_path / "state.db.lock").read_text().startswith("pid ")
    release_lock(lock)
    assert (tmp_path / "state.db.lock").read_text() == ""
    release_lock(sqlite_lock(f"sqlite:///{tmp_path / 'state.db'}"))  # and the next daemon may start


def test_a_dead_daemons_pid_is_recognised_as_stale_and_replaced(tmp_path):
    gone = _exited()
    (tmp_path / "state.db.lock").write_text(f"pid {gone}")  # a daemon killed hard left it behind
    with capture_logs() as logs:
        lock = sqlite_lock(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert [(e["event"], e["pid"]) for e in logs] == [("daemon.stale_lock", gone)]
        assert (tmp_path / "state.db.lock").read_text() != f"pid {gone}"
    finally:
        release_lock(lock)


def test_a_held_lock_naming_a_dead_pid_does_not_call_it_running(tmp_path):
    gone = _exited()
    path = tmp_path / "state.db.lock"
    path.write_text(f"pid {gone}")
    with open(path) as holder:  # held by some other process the dead daemon left behind
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(AlreadyRunning) as refused:
            sqlite_lock(f"sqlite:///{tmp_path / 'state.db'}")
    assert f"(pid {gone}) is no longer running" in str(refused.value)
    assert "is already running" not in str(refused.value)


def test_server_databases_take_no_lock_file():
    assert sqlite_lock("mysql+pymysql://root@127.0.0.1/heartbeat") is None
    release_lock(None)
