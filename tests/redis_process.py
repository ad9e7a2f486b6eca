"""A real redis-server on 127.0.0.1 for tests: started at a free port without persistence,
killed (SIGKILL) and restarted on the same port to test recovery."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A redis-server on 127.0.0.1 at a free port, without persistence."""

    def __init__(self, *extra: str, unix_socket: str | None = None) -> None:
        self.port = free_port()
        self.extra = list(extra)
        self.unix_socket = unix_socket
        self.process: subprocess.Popen[bytes] | None = None
        self._clients: list[redis.Redis] = []

    def start(self) -> None:
        if self.process is not None:  # A restart keeps its port.
            self._start_once()
            return
        for attempt in range(5):  # A parallel test may take the free port first.
            try:
                self._start_once()
                return
            except RuntimeError:
                if attempt == 4:
                    raise
                self.port = free_port()

    def _start_once(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--loglevel", "warning", *self.extra]
        if self.unix_socket:
            args += ["--unixsocket", self.unix_socket, "--unixsocketperm", "700"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    if not self.unix_socket or os.path.exists(self.unix_socket):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            time.sleep(0.01)
        self.kill()
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    @property
    def url(self) -> str:
        # A short back-off so the recovery tests need not wait a full second.
        return f"redis://127.0.0.1:{self.port}/0?backoff=0.05&timeout=0.5"

    def client(self, **kwargs: object) -> redis.Redis:
        # Closed by close_clients(): an unclosed redis-py client warns when the garbage
        # collector finds it, which would fail whichever later test happens to be running.
        c = redis.Redis(host="127.0.0.1", port=self.port, **kwargs)
        self._clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()


def started(*extra: str, unix_socket: str | None = None) -> Iterator[RedisProcess]:
    server = RedisProcess(*extra, unix_socket=unix_socket)
    server.start()
    try:
        yield server
    finally:
        server.close_clients()
        server.kill()
