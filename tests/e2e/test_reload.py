"""Hot reload of a running gateway process: the file watch and SIGHUP, with a client connected
throughout that is told about every change and never reconnects."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client

from tests.conftest import ListChanged, free_port
from tests.e2e.support import gateway_command, running

pytestmark = pytest.mark.e2e

BASE = """
gateway:
  watch_interval: 100ms
backends:
  echo:
    module: tests.fakes.echo
"""
WITH_RICH = (
    BASE
    + """
  rich:
    module: tests.fakes.rich
    namespace: r
"""
)


def wait_for_log(path: Path, text: str, deadline: float = 15.0) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        log = path.read_text()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}:\n{path.read_text()}")


def test_the_file_watch_and_sighup_reload_without_dropping_the_client(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(BASE)
    port = free_port()
    log = tmp_path / "gateway.log"
    with running(
        gateway_command(config, "run", "--port", str(port)),
        log=log,
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
    ) as gateway:

        async def scenario() -> dict[str, Any]:
            watcher = ListChanged()
            async with Client(
                f"http://127.0.0.1:{port}/mcp", mode="legacy", message_handler=watcher
            ) as client:
                first = {t.name for t in await client.list_tools()}
                config.write_text(WITH_RICH)  # the watch sees it
                seen = await watcher.next_change(0)
                added = {t.name for t in await client.list_tools()}
                shaped = await client.call_tool("r_shape", {"name": "sq"})

                config.write_text(WITH_RICH + "  broken: {url: not-a-url, command: [x]}\n")
                gateway.popen.send_signal(signal.SIGHUP)
                refused = wait_for_log(log, "reload refused")
                still = (await client.call_tool("echo_echo", {"text": "still here"})).data
                kept = {t.name for t in await client.list_tools()}

                config.write_text(BASE)
                gateway.popen.send_signal(signal.SIGHUP)
                await watcher.next_change(seen)
                removed = {t.name for t in await client.list_tools()}
            return locals()

        seen = anyio.run(scenario)
    assert "echo_echo" in seen["first"] and not any(n.startswith("r_") for n in seen["first"])
    assert "r_shape" in seen["added"] and seen["shaped"].structured_content["name"] == "sq"
    assert "backends.broken" in seen["refused"]
    assert seen["still"] == "still here" and seen["kept"] == seen["added"]
    assert seen["removed"] == seen["first"]
