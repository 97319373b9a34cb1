"""Real processes for end-to-end tests: start, wait until they answer, stop; the Node peers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from tests.conftest import PYTHON, ROOT

NODE_DIR = ROOT / "tests" / "node"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
STARTUP_DEADLINE = 60.0
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
"""A handshake-era `initialize` request, for tests that speak raw HTTP."""


class Proc:
    """A child process whose output is kept for the failure message."""

    def __init__(
        self, args: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT
    ):
        self.args = list(args)
        self.log = log
        self._file = log.open("wb")
        self.popen = subprocess.Popen(
            self.args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self._file.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._file.close()

    def kill(self) -> None:
        """Kill without warning (a crash)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


@contextmanager
def running(
    args: Sequence[str],
    *,
    log: Path,
    ready_url: str | None = None,
    env: dict[str, str] | None = None,
    expect_status: int | None = None,
) -> Iterator[Proc]:
    """Run a process for the duration of the block; with `ready_url`, wait until it answers."""
    proc = Proc(args, log=log, env=env)
    try:
        if ready_url is not None:
            wait_for_http(proc, ready_url, expect_status=expect_status)
        yield proc
    finally:
        proc.stop()


def wait_for_http(proc: Proc, url: str, *, expect_status: int | None = None) -> None:
    """Poll `url` until it answers (any HTTP status, or `expect_status`); fail with the process log."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    delay = 0.02
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.args} exited with {proc.popen.returncode}:\n{proc.output()}")
        try:
            response = httpx2.get(url, timeout=1.0)
            if expect_status is None or response.status_code == expect_status:
                return
        except httpx2.TransportError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise AssertionError(f"{url} did not answer within {STARTUP_DEADLINE}s:\n{proc.output()}")


def gateway_command(config: Path, *extra: str) -> list[str]:
    """The `gateway` command as a user runs it."""
    return [PYTHON, "-m", "gateway", *extra, "--config", str(config)]


def backend_command(name: str, *extra: str) -> list[str]:
    """`python -m backends.NAME ...`."""
    return [PYTHON, "-m", f"backends.{name}", *extra]


def ts_client(plan: dict[str, Any], *, timeout: float = 120.0) -> dict[str, Any]:
    """Drive a server with the official TypeScript SDK client (tests/node/client.mjs)."""
    if not NODE.exists():
        raise AssertionError("Node peers are not installed: run `make node` (make test does it)")
    done = subprocess.run(
        [str(NODE), str(NODE_DIR / "client.mjs"), json.dumps(plan)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise AssertionError(f"TS client failed ({done.returncode}):\n{done.stderr}\n{done.stdout}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if "connectError" in result:
        raise AssertionError(f"TS client could not connect: {result['connectError']}\n{done.stderr}")
    return result
