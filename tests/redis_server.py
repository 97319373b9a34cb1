"""A real redis-server for the tests: started on a free loopback port, with nothing saved to disk.

    with redis_server(tmp_path) as redis:
        redis.url        # redis://127.0.0.1:<port>/0 (with the password, if one was asked for)
        redis.kill()     # an outage; redis.start() brings a fresh one back on the same port

Nothing is skipped when redis-server is missing: the tests fail saying how to install it (CI does,
in `.ci/run`).
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.e2e.support import Proc

STARTUP_DEADLINE = 20.0
MISSING = (
    "redis-server is not installed; the Redis rate-limit tests need it "
    "(apt-get install redis-server; CI installs it in .ci/run)"
)


class RedisServer:
    """One redis-server process (restartable on the same port)."""

    def __init__(self, directory: Path, *, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError(MISSING)
        self.binary = binary
        self.directory = directory
        self.password = password
        self.port = free_port()
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.starts += 1
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = Proc(args, log=self.directory / f"redis-{self.starts}.log", cwd=self.directory)
        self._wait_for_ping()

    def kill(self) -> None:
        """Kill the server without warning (an outage)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.stop()
            self.proc = None

    def _wait_for_ping(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        delay = 0.01
        while time.monotonic() < deadline:
            if self.proc.popen.poll() is not None:
                raise AssertionError(
                    f"redis-server exited with {self.proc.popen.returncode}:\n{self.proc.output()}"
                )
            if self._answers_ping():
                return
            time.sleep(delay)  # polling for readiness, not waiting a fixed time
            delay = min(delay * 2, 0.2)
        raise AssertionError(
            f"redis-server did not answer PING within {STARTUP_DEADLINE}s:\n{self.proc.output()}"
        )

    def _answers_ping(self) -> bool:
        command = b"PING\r\n" if not self.password else f"AUTH {self.password}\r\nPING\r\n".encode()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall(command)
                return b"+PONG" in _read_lines(conn, 2 if self.password else 1)
        except OSError:
            return False


def _read_lines(conn: socket.socket, count: int) -> bytes:
    data = b""
    while data.count(b"\r\n") < count:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def redis_server(directory: Path, *, password: str | None = None) -> Iterator[RedisServer]:
    """A running redis-server for the duration of the block."""
    server = RedisServer(directory, password=password)
    server.start()
    try:
        yield server
    finally:
        server.kill()
