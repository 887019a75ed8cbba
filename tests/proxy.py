"""A TCP forwarder on 127.0.0.1 whose connections a test can cut, to play a database outage."""

from __future__ import annotations

import socket
import threading


class Proxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.budget: int | None = None  # bytes towards the server before the next outage
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()  # the "server" is down: connection reset
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._socks |= {client, server}
            for a, b, counted in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, counted), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        try:
            while data := src.recv(65536):
                if counted and self.budget is not None:
                    self.budget -= len(data)
                    if self.budget <= 0:
                        self.budget = None
                        self.down()  # mid-statement: this request never reaches the server
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self) -> None:
        """Cut every open connection and refuse new ones."""
        self.up = False
        with self._lock:
            socks, self._socks = self._socks, set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def down_after(self, n_bytes: int) -> None:
        """Go down once n_bytes more have been sent towards the server (lands mid-transaction)."""
        self.budget = n_bytes

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.down()
        self.listener.close()
