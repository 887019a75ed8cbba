"""systemd's notify protocol, spoken to a real AF_UNIX datagram socket; and the shipped unit file."""

from __future__ import annotations

import configparser
import os
import socket
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from heartbeat.ops.systemd import Notifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def listener():
    """A datagram socket bound to a short path (socket paths must fit in 108 bytes)."""
    directory = tempfile.mkdtemp(prefix="hb-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(directory, "notify"))
    sock.settimeout(5)
    yield sock
    sock.close()
    os.unlink(os.path.join(directory, "notify"))
    os.rmdir(directory)


def received(sock: socket.socket) -> list[str]:
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        return out


def test_without_notify_socket_nothing_is_sent():
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    notifier.ready("x")
    notifier.watchdog()
    notifier.stopping()


def test_ready_once_watchdog_status_and_stopping(listener):
    env = {"NOTIFY_SOCKET": listener.getsockname(), "WATCHDOG_USEC": "4000000"}
    notifier = Notifier.from_env(env)
    assert notifier.watchdog_seconds == 4.0
    notifier.ready("first tick at 09:00:00 UTC")
    notifier.ready("again")
    notifier.watchdog()
    notifier.status("last tick 09:00:01 UTC:\n1 batch")
    notifier.stopping("stopping")
    assert received(listener) == ["READY=1\nSTATUS=first tick at 09:00:00 UTC", "WATCHDOG=1",
                                  "STATUS=last tick 09:00:01 UTC: 1 batch", "STOPPING=1\nSTATUS=stopping"]


def test_no_watchdog_ping_unless_systemd_watches_this_process(listener):
    address = listener.getsockname()
    for env in ({"NOTIFY_SOCKET": address},
                {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)}):
        Notifier.from_env(env).watchdog()
    assert received(listener) == []


def test_an_abstract_socket_name_is_understood():
    name = f"hb-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready("up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_a_listener_that_stops_reading_never_blocks_the_sender(listener):
    notifier = Notifier.from_env({"NOTIFY_SOCKET": listener.getsockname(), "WATCHDOG_USEC": "1000000"})
    sender = threading.Thread(target=lambda: [notifier.watchdog() for _ in range(5000)], daemon=True)
    sender.start()
    sender.join(30)
    assert not sender.is_alive()  # messages past a full queue are dropped, not waited for
    assert received(listener)[0] == "WATCHDOG=1"


def test_a_vanished_socket_ends_notifying_without_an_error(tmp_path):
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    notifier.ready("up")
    assert not notifier.enabled


def test_the_shipped_unit_is_a_notify_service_with_a_watchdog_and_its_own_user():
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "contrib" / "systemd" / "heartbeat.service")
    service = unit["Service"]
    assert service["Type"] == "notify" and service["ExecStart"].endswith("/heartbeat run")
    assert service["WatchdogSec"] and service["User"] == "heartbeat" and service["KillSignal"] == "SIGTERM"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
