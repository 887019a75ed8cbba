"""Operations with real processes: `heartbeat run` speaks systemd's notify protocol to a real
NOTIFY_SOCKET and serves its metrics over HTTP; two daemons with different host ids on one MariaDB,
one killed while idle: the other takes its task over and logs the restart."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import DEADLINE, HEARTBEAT, hb, make_project, show, wait_for

pytestmark = pytest.mark.slow  # real daemons


def configure(project: Path, name: str, heartbeat: str = "", extra: str = "") -> Path:
    """A copy of the project's config with keys added to [heartbeat] and tables appended."""
    text = (project / "heartbeat.toml").read_text()
    text = text.replace("[heartbeat]\n", f"[heartbeat]\n{heartbeat}\n", 1)
    path = project / name
    path.write_text(text + "\n" + extra + "\n")
    return path


def daemon(project: Path, config: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([*HEARTBEAT, "--config", str(config), "run"], cwd=project,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=DEADLINE)[1]


def status_of(project: Path, config: Path) -> tuple[int, dict]:
    r = subprocess.run([*HEARTBEAT, "--config", str(config), "status", "--json"], cwd=project,
                       capture_output=True, text=True, timeout=DEADLINE)
    return r.returncode, json.loads(r.stdout)


class Listener(threading.Thread):
    """A NOTIFY_SOCKET read by a thread of its own, as systemd reads it at once: the daemon never
    blocks on a full socket and drops what does not fit (heartbeat/ops/systemd.py), so a test that
    stopped reading while it waited for something else could miss STOPPING=1."""

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages: queue.Queue[str] = queue.Queue()

    def run(self) -> None:
        try:
            while True:
                self.messages.put(self.sock.recv(4096).decode())
        except OSError:  # closed
            pass

    def next(self) -> str:
        return self.messages.get(timeout=DEADLINE)

    def close(self) -> None:
        self.sock.close()


def test_run_speaks_the_notify_protocol_and_serves_metrics(tmp_path, db_url):
    project = make_project(tmp_path, db_url)
    hb(project, "demo", "init", "--products", "100")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = configure(project, "ops.toml", extra=f'[metrics]\nlisten = "127.0.0.1:{port}"')
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    short = tempfile.mkdtemp(prefix="hb-")  # a socket path must fit in 108 bytes
    listener = Listener(os.path.join(short, "notify"))
    listener.start()
    run = daemon(project, config, NOTIFY_SOCKET=os.path.join(short, "notify"), WATCHDOG_USEC="10000000")
    try:
        first = listener.next().split("\n")
        assert first[0] == "READY=1" and first[1].startswith("STATUS=first tick at ")
        code, report = status_of(project, config)  # READY=1 came once the tick was recorded
        assert report["last_tick"] is not None and code == 0, report["problems"]
        got = set()
        while not {"WATCHDOG=1", "STATUS"} <= got:
            got |= {line.split("=")[0] if line.startswith("STATUS=") else line
                    for line in listener.next().split("\n")}
        wait_for(lambda: show(project, task_id)["status"] == "completed", "the export")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        [processed] = [s.value for s in families["heartbeat_items"].samples
                       if s.labels == {"profile": "demo-export", "outcome": "processed"}]
        assert processed == 100
        assert [s.value for s in families["heartbeat_daemons"].samples if s.labels["state"] == "alive"] == [1]
        run.send_signal(signal.SIGTERM)
        while (message := listener.next()).startswith(("WATCHDOG", "STATUS")):
            pass
        assert message.split("\n")[0] == "STOPPING=1"
        err = run.communicate(timeout=DEADLINE)[1]
        assert run.returncode == 0, err
    finally:
        stop(run)
        listener.close()
    code, report = status_of(project, config)
    assert [d["state"] for d in report["daemons"]] == ["stopped"]


def test_two_hosts_on_one_mariadb_one_killed_while_idle_the_other_logs_the_restart(tmp_path, mariadb_url):
    project = make_project(tmp_path, mariadb_url)
    hb(project, "demo", "init", "--products", "1500")
    slow = configure(project, "host-a.toml", "dead_after = 3", "").read_text().replace("interval = 1 ",
                                                                                          "interval = 3600 ")
    (project / "host-a.toml").write_text(slow)  # one tick at start, then idle for an hour
    fast = configure(project, "host-b.toml", "dead_after = 3")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    a = daemon(project, project / "host-a.toml", HEARTBEAT_HOST_ID="host-a")
    try:
        wait_for(lambda: show(project, task_id)["progress"]["processed"] == 500, "host-a's first batch")
        a.send_signal(signal.SIGKILL)  # idle: its next tick is an hour away
        a.communicate(timeout=DEADLINE)

        def a_is_dead():
            _, report = status_of(project, fast)
            return [d["state"] for d in report["daemons"] if d["host"] == "host-a"] == ["dead"]

        wait_for(a_is_dead, "host-a to be seen dead", every=0.5)
        b = daemon(project, fast, HEARTBEAT_HOST_ID="host-b")
        try:
            wait_for(lambda: show(project, task_id)["status"] == "completed", "host-b to finish the task")
            code, report = status_of(project, fast)
        finally:
            stop(b)
    finally:
        stop(a)
    log = hb(project, "tasks", "log", str(task_id)).stdout
    assert "process restarted: processor no longer exists; resuming at item 501 of 1500" in log
    assert show(project, task_id)["progress"]["processed"] == 1500
    assert code == 0 and {(d["host"], d["state"]) for d in report["daemons"]} == {("host-a", "dead"),
                                                                               ("host-b", "alive")}
