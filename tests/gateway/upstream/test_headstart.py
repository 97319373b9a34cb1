"""Head starts (`gateway.upstream.links.headstart`): a stdio backend started before the gateway
is built serves the first session to it, started exactly as the gateway would start it, and no
process outlives the command.

Real child processes (tests/fakes/stateful.py over stdio).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, get_default_environment
from mcp.shared.exceptions import MCPError

import gateway.upstream.links.stdio as stdio_link
from gateway.cli import EXIT_OK, EXIT_PROBLEMS, main
from gateway.config import parse_config
from gateway.upstream.caller import PLAIN_CALLERS
from gateway.upstream.links import headstart
from tests.conftest import ROOT, connected, make_gateway
from tests.gateway.upstream.stdio_spawns import spawns

CONFIG = f"""
backends:
  st:
    command: [python, -m, tests.fakes.stateful]
    cwd: {ROOT}
    session: pooled
    env: {{GIVEN: "from-the-config"}}
"""


def launch_of(config_text: str, name: str = "st") -> headstart.Launch:
    config = parse_config(config_text, environ={})
    return headstart.launch_for(config.backends[name], base_dir=ROOT, namespace=config.namespace_of(name))


def test_a_head_start_is_launched_as_the_gateway_launches_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TEST_LEAK", "must-not-leak")
    monkeypatch.setenv("SHELL", "() { function }")  # the SDK skips exported shell functions
    launch = launch_of(CONFIG)
    assert tuple(DEFAULT_INHERITED_ENV_VARS) == headstart.INHERITED_ENV
    assert launch.environment() == get_default_environment() | {
        "MCP_TOOL_PREFIX": "st_",
        "GIVEN": "from-the-config",
    }
    link = make_gateway(CONFIG).fleet.backends["st"].link
    assert isinstance(link, stdio_link.StdioLink)
    parameters = link.parameters
    assert (parameters.command, parameters.args, parameters.cwd) == (
        sys.executable,
        ["-m", "tests.fakes.stateful"],
        str(ROOT),
    )
    assert parameters.env == dict(launch.env) and link.launch == launch


@pytest.mark.asyncio
async def test_the_first_session_takes_the_running_process(monkeypatch: pytest.MonkeyPatch) -> None:
    started = spawns(monkeypatch)
    gateway = make_gateway(CONFIG)
    gateway.fleet.list_as(PLAIN_CALLERS[1])  # as `gateway call` does: one client, a plain one
    async with headstart.head_starts([launch_of(CONFIG)]), connected(gateway) as client:
        result = await client.call_tool("st_env", {"name": "GIVEN"})
        assert result.structured_content == {"result": "from-the-config"}
        assert (await client.call_tool("st_env", {"name": "GATEWAY_TEST_LEAK"})).structured_content == {
            "result": None
        }
        sessions = gateway.fleet.backends["st"].open_sessions()
    assert started == [], "the gateway's listing and the client's call share the head-started process"
    assert len(sessions) == 1


@pytest.mark.asyncio
async def test_a_head_start_no_session_takes_ends_with_the_command() -> None:
    launch = launch_of(CONFIG)
    async with headstart.head_starts([launch]):
        process = headstart._waiting[launch]
        assert process.returncode is None
    assert process.returncode is not None
    assert headstart.take(launch) is None


@pytest.mark.asyncio
async def test_an_adopted_process_ends_when_its_session_does() -> None:
    launch = launch_of(CONFIG)
    async with headstart.head_starts([launch]):
        process = headstart.take(launch)
        assert process is not None
        async with headstart.adopt(process) as (read, write):
            assert (read, write) != (None, None)
        assert process.returncode is not None


@pytest.mark.asyncio
async def test_a_backend_that_dies_ends_the_session_cleanly() -> None:
    """The process exits under the session: the session's stream ends instead of hanging."""
    gateway = make_gateway(CONFIG)
    gateway.fleet.list_as(PLAIN_CALLERS[1])
    async with headstart.head_starts([launch_of(CONFIG)]), connected(gateway) as client:
        with pytest.raises(MCPError, match="the session closed before it answered"):
            await client.call_tool("st_crash", {})
        again = await client.call_tool("st_env", {"name": "GIVEN"})
        assert again.structured_content == {"result": "from-the-config"}


def test_gateway_call_on_a_stdio_backend_starts_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gateway call` lists and calls through the head-started process: the SDK starts none."""
    started = spawns(monkeypatch)
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG)
    assert main(["call", "st_env", "--args", '{"name": "GIVEN"}', "--config", str(config)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["structuredContent"] == {"result": "from-the-config"}
    assert started == []


def test_a_backend_that_cannot_start_is_reported_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No head start for a program that is not there: the link tries and says why, as it always did."""
    config = tmp_path / "gateway.yaml"
    config.write_text("backends:\n  x:\n    command: [no-such-program-here, --flag]\n")
    assert main(["call", "x_tool", "--config", str(config)]) == EXIT_PROBLEMS
    printed = capsys.readouterr()
    assert "Unknown tool: 'x_tool'" in printed.out
    assert "backend x unavailable: backend 'x': command not found" in printed.err
