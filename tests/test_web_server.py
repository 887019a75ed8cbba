"""`heartbeat web` and `heartbeat run` with `[web] listen` as real processes on 127.0.0.1: the API's
downloads are the CLI's bytes, an exposed address without a password is refused, SIGTERM stops
cleanly, and a 1,000,000-row report streams without the server's memory growing."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from heartbeat.web.auth import MIN_PASSWORD
from tasks.models import QueueEntry
from tests.helpers import make_store
from tests.processes import HEARTBEAT, hb, make_project, show, start_daemon, wait_for
from tests.web import PASSWORD_HASH, TOKEN

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_web(project: Path, **keys: str) -> None:
    config = project / "heartbeat.toml"
    config.write_text(config.read_text() + "\n[web]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items()))


def start_web(project: Path, listen: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HEARTBEAT_API_TOKEN": TOKEN}
    return subprocess.Popen([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "web", *args,
                             "--listen", listen], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def get(url: str, token: str | None = TOKEN):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers
    except OSError:
        return None, b"", {}


def answering(base: str) -> bool:
    return get(base + "/login", token=None)[0] == 200


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


@pytest.fixture
def project(tmp_path):
    project = make_project(tmp_path / "project", f"sqlite:///{tmp_path / 'project' / 'data' / 'state.db'}")
    hb(project, "demo", "init", "--products", "300")
    return project


def test_hash_password_reads_stdin_and_prints_only_the_hash(project):
    out = subprocess.run([*HEARTBEAT, "web", "hash-password"], input="a long enough password\n",
                         capture_output=True, text=True, cwd=project, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    assert len(out.stdout.splitlines()) == 1 and out.stdout.startswith("$argon2id$")
    short = subprocess.run([*HEARTBEAT, "web", "hash-password"], input="short\n", capture_output=True,
                           text=True, cwd=project, timeout=60)
    assert short.returncode == 1 and short.stdout == ""
    assert short.stderr == (f"heartbeat: the password must have at least {MIN_PASSWORD} characters "
                            "(it has 5)\n")


def test_an_exposed_address_without_a_password_is_refused(project):
    process = start_web(project, f"0.0.0.0:{free_port()}")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "Traceback" not in err
    assert err.startswith("heartbeat: refusing to listen on 0.0.0.0 without a password")


def test_run_refuses_an_exposed_page_without_a_password_before_starting(project):
    with_web(project, listen=f"0.0.0.0:{free_port()}")
    out = hb(project, "run", check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("heartbeat: refusing to listen on 0.0.0.0 without a password")
    assert '"daemon.started"' not in out.stderr


def test_a_busy_port_and_a_bad_listen_value_are_one_line(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = start_web(project, f"127.0.0.1:{port}")
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == f"heartbeat: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    with_web(project, listen="localhost")
    bad = hb(project, "web", check=False)
    assert bad.returncode == 2 and bad.stderr.strip().endswith(
        "heartbeat.toml: web.listen: must be HOST:PORT (e.g. 127.0.0.1:8080), got 'localhost'")


def host_status(port: int, host: str, path: str = "/api/tasks") -> int:
    """The status of a GET with this Host header (urllib sets its own)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host, "Authorization": f"Bearer {TOKEN}"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_page_without_a_password_answers_only_its_own_host_names(project):
    """DNS rebinding: rebind.example resolving to 127.0.0.1 must not reach a page with no password."""
    config = project / "heartbeat.toml"
    config.write_text(config.read_text() + '\n[web]\nallowed_hosts = ["heartbeat.example"]\n')
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_web(project, f"127.0.0.1:{port}")
    try:
        wait_for(lambda: answering(base) or process.poll() is not None, "heartbeat web to answer")
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "heartbeat.example"):
            assert host_status(port, host) == 200, host
        for host in (f"rebind.example:{port}", "rebind.example"):
            assert host_status(port, host) == 421, host
            assert host_status(port, host, "/") == 421
    finally:
        assert stop(process)[0] == 0


def test_web_serves_the_cli_bytes_and_stops_on_sigterm(project):
    hb(project, "profiles", "run", "demo-export")
    hb(project, "tick", "--until-idle")
    with_web(project, password_hash=PASSWORD_HASH)
    base = f"http://127.0.0.1:{free_port()}"
    process = start_web(project, base.removeprefix("http://"))
    try:
        wait_for(lambda: answering(base) or process.poll() is not None, "heartbeat web to answer")
        assert get(base + "/api/tasks", token="wrong")[0] == 401
        status, body, _ = get(base + "/api/tasks")
        assert status == 200 and json.loads(body) == json.loads(hb(project, "tasks", "list", "--json").stdout)
        for what in ("log", "report", "export-file"):
            cli = subprocess.run([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "tasks", what,
                                  "1"], capture_output=True, cwd=project, timeout=60).stdout
            status, body, headers = get(f"{base}/api/tasks/1/{what}")
            assert status == 200 and body == cli and len(cli) > 300, what
            assert headers["Content-Disposition"].startswith("attachment; filename=task-1-")
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert get(base + "/login", token=None)[0] is None  # nobody listens any more


def test_run_serves_the_page_beside_the_heartbeat_and_stops_both_on_sigterm(project):
    port = free_port()
    with_web(project, listen=f"127.0.0.1:{port}", password_hash=PASSWORD_HASH)
    hb(project, "profiles", "run", "demo-export")
    daemon = start_daemon(project)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answering(base) or daemon.poll() is not None, "the daemon's page to answer")
        assert get(base + "/api/tasks")[0] == 401  # the daemon got no token: its API takes sessions only
        wait_for(lambda: show(project, 1)["status"] == "completed",
                 "the heartbeat to complete the task while the page is served")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert '"event": "web.stopped"' in err and '"event": "daemon.stopped"' in err
    assert get(base + "/login", token=None)[0] is None


def vm_hwm_kb(pid: int) -> int:
    """The process's peak resident memory so far (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_million_row_report_streams_without_the_server_growing(tmp_path):
    project = make_project(tmp_path / "big", f"sqlite:///{tmp_path / 'big' / 'data' / 'state.db'}")
    store = make_store(f"sqlite:///{tmp_path / 'big' / 'data' / 'state.db'}")
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    task = store.create(SimpleNamespace(name="catalogue", kind="export", batch_size=1000), "manual", now, now)
    rows = 1_000_000
    entries = (QueueEntry(i, 0, f"REF-{i}", f"Product number {i}") for i in range(1, rows + 1))
    store.start(task.id, now, "test:1:1", None, lambda: entries, lambda _t: None, timedelta(minutes=5))
    store.engine.dispose()
    base = f"http://127.0.0.1:{free_port()}"
    process = start_web(project, base.removeprefix("http://"))
    try:
        wait_for(lambda: answering(base) or process.poll() is not None, "heartbeat web to answer")
        get(f"{base}/api/tasks/{task.id}")  # warm: the store and its queries are loaded
        before = vm_hwm_kb(process.pid)
        request = urllib.request.Request(f"{base}/api/tasks/{task.id}/report")
        request.add_header("Authorization", f"Bearer {TOKEN}")
        size = lines = 0
        with urllib.request.urlopen(request, timeout=300) as answer:
            assert answer.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in answer.headers
            while chunk := answer.read(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
        grown = vm_hwm_kb(process.pid) - before
        print(f"report: {size} bytes; server peak memory grew by {grown} kB (from {before} kB)")
    finally:
        stop(process)
    assert lines == rows + 1
    assert size > 50_000_000
    assert grown < 40_000, f"the server's peak memory grew by {grown} kB while sending {size} bytes"
