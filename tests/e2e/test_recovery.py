"""Backends fail and come back; the gateway keeps serving the rest and heals by itself.

Real processes: the gateway, a backend it reaches over HTTP that is killed and restarted on the
same port, an in-process backend that stays up, and clients that must never reconnect.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import PYTHON, ROOT, ListChanged, free_port
from tests.e2e.support import Proc, gateway_command, running, ts_client, wait_for_http

pytestmark = pytest.mark.e2e


def start_backend(port: int, log: Path) -> Proc:
    proc = Proc([PYTHON, "-m", "tests.fakes.faulty", "--port", str(port)], log=log)
    wait_for_http(proc, f"http://127.0.0.1:{port}/_counters")
    return proc


@pytest.fixture
def topology(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    marker = request.node.get_closest_marker("policy")
    health = (
        marker.args[0]
        if marker
        else "{interval: 200ms, timeout: 150ms, unhealthy_threshold: 2, healthy_threshold: 1}\n    unavailable_grace: 600ms"
    )
    backend_port, gateway_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"""
backends:
  f:
    url: http://127.0.0.1:{backend_port}/mcp
    mode: legacy            # handshake-era sessions: a restarted backend forgets them
    optional: true
    connect_timeout: 1s
    retry: {{connect_retries: 2}}
    health: {health}
  e:
    module: tests.fakes.echo
"""
    )
    state: dict[str, Any] = {"backend": start_backend(backend_port, tmp_path / "backend-1.log")}
    try:
        with running(
            gateway_command(config, "run", "--port", str(gateway_port)),
            log=tmp_path / "gateway.log",
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ) as gateway:
            state.update(
                url=f"http://127.0.0.1:{gateway_port}/mcp", port=backend_port, gateway=gateway, tmp=tmp_path
            )
            yield state
    finally:
        state["backend"].stop()  # the one running now: tests replace it when they restart it


async def _after_changes(
    client: Client[Any],
    watcher: ListChanged,
    seen: int,
    until: Callable[[set[str]], bool],
    within: float = 10,
) -> tuple[set[str], int]:
    """The tool names once a `list_changed` after the `seen`-th has announced a listing for
    which `until` holds, and how many changes had been announced then."""
    with anyio.fail_after(within):
        while True:
            await watcher.next_change(seen, within=within)
            seen = watcher.count
            names = {t.name for t in await client.list_tools()}
            if until(names):
                return names, seen


def test_a_backend_that_dies_leaves_after_the_grace_period_and_returns_when_it_comes_back(
    topology: dict[str, Any],
) -> None:
    async def scenario() -> dict[str, Any]:
        watcher = ListChanged()
        async with Client(topology["url"], mode="legacy", message_handler=watcher) as client:
            before = {t.name for t in await client.list_tools()}
            topology["backend"].kill()
            # During the grace period the tools stay listed, and calls fail fast and clearly.
            still = {t.name for t in await client.list_tools()}
            started = time.monotonic()
            try:
                await client.call_tool_mcp("f_work", {"tag": "x"})
                failed = "no error"
            except MCPError as error:
                failed = error.error.message
            fail_latency = time.monotonic() - started
            healthy_started = time.monotonic()
            echo = await client.call_tool("e_echo", {"text": "still here"})
            healthy_latency = time.monotonic() - healthy_started
            # (on a loaded machine another change may be announced first: wait for the one
            # that takes the dead backend's tools away, and then for the one that brings them back)
            gone, changes = await _after_changes(client, watcher, 0, lambda names: "f_work" not in names)
            topology["backend"] = start_backend(topology["port"], topology["tmp"] / "backend-2.log")
            back, _ = await _after_changes(client, watcher, changes, lambda names: "f_work" in names)
            after = await client.call_tool("f_work", {"tag": "y"})
        return locals()

    seen = anyio.run(scenario)
    assert "f_work" in seen["before"] and "f_work" in seen["still"]
    assert seen["failed"].startswith("backend 'f': ") and seen["fail_latency"] < 3.0
    assert seen["healthy_latency"] < 0.5
    assert seen["echo"].data == "still here"
    assert "f_work" not in seen["gone"] and "e_echo" in seen["gone"]
    assert "f_work" in seen["back"] and seen["after"].data == "done y"


@pytest.mark.policy("null   # the request itself must find that its session is gone")
def test_a_restarted_http_backend_gets_new_sessions_without_the_client_reconnecting(
    topology: dict[str, Any],
) -> None:
    async def scenario() -> list[str]:
        async with Client(topology["url"], mode="legacy") as client:
            first = (await client.call_tool("f_work", {"tag": "1"})).data
            topology["backend"].stop()
            topology["backend"] = start_backend(topology["port"], topology["tmp"] / "backend-3.log")
            second = (await client.call_tool("f_work", {"tag": "2"})).data
        return [first, second]

    assert anyio.run(scenario) == ["done 1", "done 2"]


def test_graceful_shutdown_finishes_calls_in_flight_and_reaps_children(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "gateway.yaml"
    marker = tmp_path / "started"
    config.write_text(
        f"backends:\n  st:\n    command: [python, -m, tests.fakes.stateful]\n    cwd: {ROOT}\n"
        f"    env: {{STATEFUL_MARKER: {marker}}}\n"
    )
    proc = Proc(gateway_command(config, "run", "--port", str(port)), log=tmp_path / "gateway.log")
    try:
        wait_for_http(proc, f"http://127.0.0.1:{port}/readyz", expect_status=200)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.popen.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "the stdio backend runs as a child of the gateway"
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(
                ts_client,
                {
                    "target": {"url": f"http://127.0.0.1:{port}/mcp"},
                    "steps": [
                        {
                            "op": "callTool",
                            "name": "st_wait_for_cancel",
                            "arguments": {"seconds": 1.5, "tag": "drain"},
                        }
                    ],
                },
            )
            deadline = time.monotonic() + 30
            while not marker.exists():  # the call has reached the backend
                assert time.monotonic() < deadline
                time.sleep(0.02)
            os.kill(proc.popen.pid, signal.SIGTERM)
            result = call.result(timeout=30)
        assert result["steps"][0]["structuredContent"] == {"result": "finished"}
        assert proc.popen.wait(timeout=20) == 0
        for child in children:
            assert (
                not Path(f"/proc/{child}").exists()
                or "zombie" in Path(f"/proc/{child}/status").read_text().lower()
            )
    finally:
        proc.stop()
