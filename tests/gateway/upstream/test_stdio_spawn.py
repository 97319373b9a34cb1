"""What a stdio backend is started with (RELIABILITY.md §5 item 31): the command, arguments,
working directory and environment of its config, whatever the requests say; of the gateway's own
environment only the SDK's small safe set reaches it.

Real child processes (tests/fakes/stateful.py over stdio); the SDK's `stdio_client` is wrapped
to record what each spawn was given.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

import mcp_types
import pytest

from tests.conftest import ROOT, connected, make_gateway
from tests.gateway.upstream.stdio_spawns import spawns

CONFIG = f"""
backends:
  st:
    command: [python, -m, tests.fakes.stateful]
    cwd: {ROOT}
    mode: legacy
    env: {{GIVEN: "from-the-config"}}
"""
HOSTILE_META = {
    "command": "/bin/sh",
    "args": ["-c", "touch /tmp/pwned"],
    "env": {"LD_PRELOAD": "/tmp/evil.so"},
    "cwd": "/",
}


async def env_of(client: Any, name: str) -> Any:
    """The backend's `env(name)` tool, called with a `_meta` that asks for another process."""
    params = mcp_types.CallToolRequestParams.model_validate(
        {"name": "st_env", "arguments": {"name": name}, "_meta": HOSTILE_META}
    )
    result = await client.session.send_request(
        mcp_types.CallToolRequest(params=params), mcp_types.CallToolResult
    )
    assert isinstance(result.structured_content, dict)
    return result.structured_content.get("result")


@pytest.mark.asyncio
async def test_every_spawn_uses_the_config_and_only_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TEST_LEAK", "must-not-leak")
    spawned = spawns(monkeypatch)
    gateway = make_gateway(CONFIG)
    async with connected(gateway, mode="legacy") as client:
        seen = [await env_of(client, name) for name in ("GATEWAY_TEST_LEAK", "GIVEN")]
    assert seen == [None, "from-the-config"]
    assert len(spawned) >= 2, "the gateway's own listing session, and the client's own process"
    for parameters in spawned:
        assert parameters.command == sys.executable
        assert parameters.args == ["-m", "tests.fakes.stateful"]
        assert parameters.cwd == str(ROOT)
        assert parameters.env == {"MCP_TOOL_PREFIX": "st_", "GIVEN": "from-the-config"}


def test_child_processes_are_started_in_one_place_from_the_config() -> None:
    """`StdioServerParameters` is built only by `StdioLink`, and `StdioLink` only by the link
    factory, from a backend's config; a head start's `Launch` only by `launch_for` (from a
    backend's config too), which is also the only place a process is opened directly: no
    request-time path names a program."""
    built: dict[str, list[str]] = {
        "StdioServerParameters": [],
        "StdioLink": [],
        "Launch": [],
        "open_process": [],
        "Popen": [],
        "create_subprocess_exec": [],
    }
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in built:
                built[name].append(str(path.relative_to(ROOT)))
    assert built == {
        "StdioServerParameters": ["gateway/upstream/links/stdio.py"],
        "StdioLink": ["gateway/upstream/links/factory.py"],
        "Launch": ["gateway/upstream/links/headstart.py"],
        "open_process": ["gateway/upstream/links/headstart.py"],
        "Popen": [],
        "create_subprocess_exec": [],
    }
