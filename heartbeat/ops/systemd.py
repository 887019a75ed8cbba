"""systemd's notify protocol (sd_notify(3)), spoken directly: one datagram per message to the
AF_UNIX socket named by $NOTIFY_SOCKET ("@name" is in the abstract namespace). Without it (not run
by systemd with Type=notify) every call does nothing.

`heartbeat run` sends READY=1 once its first tick is recorded in the registry, WATCHDOG=1 from the
tick loop (at each tick and before each batch: a hung loop stops pinging and systemd restarts it
after WatchdogSec), STATUS=<one line> after each tick, and STOPPING=1 when asked to stop.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger("heartbeat")


class Notifier:
    def __init__(self, address: str | None, watchdog_seconds: float | None = None):
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self.watchdog_seconds = watchdog_seconds  # systemd's WatchdogSec, when it watches us
        self._sock: socket.socket | None = None
        self._ready = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        """From $NOTIFY_SOCKET and $WATCHDOG_USEC (ignored when $WATCHDOG_PID names another process)."""
        env = os.environ if env is None else env
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        return cls(env.get("NOTIFY_SOCKET") or None, int(usec) / 1e6 if watched else None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> None:
        """One datagram of `lines`, never waiting: when the listener's queue is full the message
        is dropped (the tick loop must never block on systemd). Any other failure (the socket is
        gone) is logged once and ends notifying; nothing of our work depends on it."""
        if self.address is None:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except BlockingIOError:
            log.debug("systemd.notify_dropped", message=lines[0])
        except OSError as exc:
            log.warning("systemd.notify_failed", reason=exc.strerror or str(exc), socket=self.address)
            self.address = None

    def ready(self, status: str) -> None:
        """READY=1 (once) with a STATUS line."""
        if not self._ready:
            self._ready = True
            self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> None:
        if self.watchdog_seconds is not None:
            self.send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self.send(f"STATUS={_one_line(text)}")

    def stopping(self, status: str = "stopping") -> None:
        self.send("STOPPING=1", f"STATUS={_one_line(status)}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(text: str) -> str:
    return " ".join(text.split())
