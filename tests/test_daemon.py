"""The real `heartbeat run` as a subprocess, on a copy of the example config, with real signals."""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests.processes import DEADLINE, hb, make_project, show, start_daemon, wait_for

pytestmark = pytest.mark.slow  # every test here runs the real daemon


@pytest.fixture
def project(tmp_path, db_url):
    return make_project(tmp_path, db_url)










def test_sigterm_lets_the_batch_finish_and_exits_0(project):
    hb(project, "demo", "init", "--products", "20000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    daemon = start_daemon(project)
    wait_for(lambda: show(project, task_id)["progress"]["processed"] > 0, "a first batch")
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=DEADLINE)
    assert daemon.returncode == 0, err
    task = show(project, task_id)
    p = task["progress"]
    assert p["total"] == 20000
    assert p["processed"] % 500 == 0 or task["status"] == "completed"  # whole batches only
    assert p["total"] == p["pending"] + p["processed"] + p["skipped"] + p["cancelled"] + p["error"]
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert events[0] == "daemon.started" and "daemon.stopping" in events and events[-1] == "daemon.stopped"


def test_daemon_completes_a_demo_export_and_resumes_after_restart(project):
    hb(project, "demo", "init", "--products", "3000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    daemon = start_daemon(project)
    wait_for(lambda: show(project, task_id)["progress"]["processed"] > 0, "a first batch")
    daemon.send_signal(signal.SIGTERM)
    daemon.communicate(timeout=DEADLINE)
    daemon = start_daemon(project)
    try:
        done = wait_for(lambda: (t := show(project, task_id))["status"] == "completed" and t, "completion")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=DEADLINE)
    assert done["progress"]["processed"] == 3000
    out = project / "export.json"
    hb(project, "tasks", "export-file", str(task_id), "-o", str(out))
    ids = [p["id_product"] for p in json.loads(out.read_text())["products"]]
    assert ids == sorted(set(ids)) and len(ids) == 3000


def test_second_daemon_on_one_sqlite_state_file_is_refused(tmp_path):
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    hb(project, "demo", "init", "--products", "10")
    lock = project / "state.db.lock"
    first = start_daemon(project)
    try:
        wait_for(lambda: lock.exists() and "pid" in lock.read_text(), "the first daemon's lock")
        second = hb(project, "run", check=False)
        assert second.returncode == 1
        assert "another heartbeat daemon" in second.stderr and len(second.stderr.splitlines()) == 1
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=DEADLINE)
    assert first.returncode == 0
    assert lock.read_text() == ""  # a clean exit leaves no pid behind


def test_kill_from_another_process_while_the_daemon_runs_the_task(project):
    hb(project, "demo", "init", "--products", "30000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    daemon = start_daemon(project)
    try:
        wait_for(lambda: show(project, task_id)["progress"]["processed"] >= 1000, "a few batches")
        killed = hb(project, "tasks", "kill", str(task_id))
        assert killed.stdout.startswith(f"task {task_id} killed: ")
        at_kill = show(project, task_id)
        # the daemon keeps ticking: a new task of the same profile starts, proving ticks after the kill
        later = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
        wait_for(lambda: show(project, later)["progress"]["processed"] > 0, "a tick after the kill")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=DEADLINE)
    assert daemon.returncode == 0, err
    task = show(project, task_id)
    p = task["progress"]
    assert task["status"] == "killed"
    assert p == at_kill["progress"]  # nothing processed after the kill
    assert p["processed"] % 500 == 0  # whole batches only: never half a batch
    assert p["cancelled"] == 30000 - p["processed"] and p["pending"] == 0
    assert "Traceback" not in err


def test_usage_errors_are_one_line_from_the_real_command(tmp_path):
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    result = hb(project, "tasks", "list", "--status", "done", check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("heartbeat: Invalid value for '--status'")


def test_output_file_has_ordinary_permissions(tmp_path):
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    hb(project, "demo", "init", "--products", "5")
    task_id = hb(project, "profiles", "run", "demo-export").stdout.split()[-1]
    hb(project, "tick")
    out = tmp_path / "log.txt"
    hb(project, "tasks", "log", task_id, "-o", str(out))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    missing = hb(project, "tasks", "log", task_id, "-o", str(tmp_path / "nope" / "x.txt"), check=False)
    assert missing.returncode == 1 and "directory" in missing.stderr and ".x.txt." not in missing.stderr
