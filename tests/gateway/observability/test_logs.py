"""Log lines on stderr: with `--log-format json` every line is JSON, the libraries' included, and
no line shows an MCP session id at INFO."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import fastmcp
import pytest
from fastmcp.utilities.logging import configure_logging as fastmcp_configure_logging
from mcp.shared.exceptions import MCPError

from gateway.observability.logs import configure
from tests.conftest import make_gateway
from tests.gateway.authed import OPS_KEY, OPS_ONLY, http_front

KEY = OPS_KEY
CONFIG = (
    OPS_ONLY
    + """
backends:
  echo: {module: tests.fakes.echo}
"""
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`configure` changes the whole process's logging: put back what it found."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (list(logger.handlers), logger.propagate, logger.level)
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    log_enabled = fastmcp.settings.log_enabled
    yield
    fastmcp.settings.log_enabled = log_enabled
    logging.captureWarnings(False)
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def json_lines(err: str) -> list[dict[str, str]]:
    """Every line of stderr, parsed (a line that is not JSON fails the test, naming it)."""
    lines = []
    for line in err.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line on stderr: {line!r}")
    return lines


@pytest.mark.asyncio
async def test_an_auth_failure_and_a_new_session_log_only_json_lines_without_the_session_id(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Regression: FastMCP's rich handler printed `Auth error returned` as text, and the SDK logged
    `Created new transport with session ID: ...` at INFO."""
    configure("info", "json")
    async with http_front(make_gateway(CONFIG)) as front:
        with pytest.raises(MCPError):
            async with front.client(auth="wrong-key-0123456789abcdef", mode="legacy") as refused:
                await refused.list_tools()
        async with front.client(auth=KEY, mode="legacy") as client:
            await client.list_tools()
            session_id = client.transport.get_session_id()
    lines = json_lines(capfd.readouterr().err)
    assert session_id and not [line for line in lines if session_id in json.dumps(line)]
    assert any(line["logger"].startswith("fastmcp") and "invalid_token" in line["message"] for line in lines)


def test_library_loggers_print_through_the_one_handler_at_the_gateways_level(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """FastMCP's own handlers are gone: its records follow `--log-level` and the format."""
    configure("warning", "json")
    library = logging.getLogger("fastmcp.server.auth.middleware")
    library.info("below the gateway's level")
    library.warning("at the gateway's level")
    lines = json_lines(capfd.readouterr().err)
    assert [line["message"] for line in lines] == ["at the gateway's level"]
    assert logging.getLogger("fastmcp").handlers == [] and logging.getLogger("fastmcp").propagate


def test_fastmcp_cannot_install_its_handlers_again_later(capfd: pytest.CaptureFixture[str]) -> None:
    """`run_stdio_async(log_level=...)` reconfigures FastMCP's logging; after `configure` it is a no-op."""
    configure("info", "json")
    fastmcp_configure_logging("DEBUG")
    logging.getLogger("fastmcp.server").warning("still one JSON line")
    assert [line["message"] for line in json_lines(capfd.readouterr().err)] == ["still one JSON line"]


def test_a_session_id_in_a_library_line_above_info_is_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    """A session id the SDK logs at WARNING or above (a crashed session) is not shown either."""
    configure("debug", "json")
    session_id = "0123456789abcdef0123456789abcdef"
    logging.getLogger("mcp.server.streamable_http_manager").error("Session %s crashed", session_id)
    logging.getLogger("mcp.server.sse").debug(f"Parsed session ID: {session_id}")
    messages = [line["message"] for line in json_lines(capfd.readouterr().err)]
    assert messages and not [m for m in messages if session_id in m]
    assert "Session <session id> crashed" in messages
