"""Every link and every front: an SSE backend, the gateway served over stdio and over SSE,
CORS for browser clients, and the environment a stdio backend is given."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import gateway_command, running, ts_client

pytestmark = pytest.mark.e2e


def test_an_sse_backend_behind_an_sse_front(tmp_path: Path) -> None:
    backend_port, gateway_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(f"backends:\n  old:\n    url: http://127.0.0.1:{backend_port}/sse\n")
    backend = [PYTHON, "-m", "tests.fakes.echo", "--transport", "sse", "--port", str(backend_port)]
    with (
        running(backend, log=tmp_path / "b.log", ready_url=f"http://127.0.0.1:{backend_port}/health"),
        running(
            gateway_command(config, "run", "--transport", "sse", "--port", str(gateway_port)),
            log=tmp_path / "g.log",
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ),
    ):
        result = ts_client(
            {
                "target": {"url": f"http://127.0.0.1:{gateway_port}/sse"},
                "steps": [
                    {"op": "callTool", "name": "old_slow_count", "arguments": {"n": 2}, "progress": True},
                ],
            }
        )
    step = result["steps"][0]
    assert step["result"]["structuredContent"] == {"result": 2}
    # on the wire: both progress notifications, then the answer (what the SDK's callback sees
    # of them depends on how the reads fall: progress read together with its answer is dropped)
    assert [m.get("progress", "answer") for m in step["wire"]] == [1, 2, "answer"]
    assert [p["progress"] for p in step["progress"]] == [1, 2][: len(step["progress"])]


def test_the_gateway_over_stdio_for_desktop_clients(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"backends:\n  e:\n    module: tests.fakes.echo\n  st:\n    command: [python, -m, tests.fakes.stateful]\n    cwd: {ROOT}\n"
    )
    result = ts_client(
        {
            "target": {
                "command": PYTHON,
                "args": ["-m", "gateway", "run", "--transport", "stdio", "--config", str(config)],
                "cwd": str(ROOT),
            },
            "steps": [
                {"op": "listAll", "what": "tools"},
                {"op": "callTool", "name": "e_echo", "arguments": {"text": "hi"}},
                {"op": "callTool", "name": "st_increment"},
            ],
        }
    )
    names = {t["name"] for t in result["steps"][0]["tools"]}
    assert {"e_echo", "st_increment"} <= names
    assert result["steps"][1]["structuredContent"] == {"result": "hi"}
    assert result["steps"][2]["structuredContent"] == {"result": 1}


def test_cors_is_off_unless_configured_and_then_answers_allowed_origins(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "http:\n  cors:\n    allow_origins: [https://app.example]\nbackends:\n  e:\n    module: tests.fakes.echo\n"
    )
    with running(
        gateway_command(config, "run", "--port", str(port)),
        log=tmp_path / "g.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
    ):
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        }
        allowed = httpx2.options(
            f"http://127.0.0.1:{port}/mcp", headers={"origin": "https://app.example", **preflight}
        )
        refused = httpx2.options(
            f"http://127.0.0.1:{port}/mcp", headers={"origin": "https://evil.example", **preflight}
        )
    assert (
        allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://app.example"
    )
    assert "access-control-allow-origin" not in refused.headers


def test_a_stdio_backend_gets_only_a_safe_environment_and_what_its_config_gives(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"backends:\n  st:\n    command: [python, -m, tests.fakes.stateful]\n    cwd: {ROOT}\n"
        "    env:\n      GIVEN: ${GATEWAY_TEST_SECRET}\n"
    )
    port = free_port()
    env = {"GATEWAY_TEST_SECRET": "only-if-asked", "AWS_SECRET_ACCESS_KEY": "must-not-leak"}
    with running(
        gateway_command(config, "run", "--port", str(port)),
        log=tmp_path / "g.log",
        env=env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
    ):
        result = ts_client(
            {
                "target": {"url": f"http://127.0.0.1:{port}/mcp"},
                "steps": [
                    {"op": "callTool", "name": "st_env", "arguments": {"name": "AWS_SECRET_ACCESS_KEY"}},
                    {"op": "callTool", "name": "st_env", "arguments": {"name": "GIVEN"}},
                    {"op": "callTool", "name": "st_env", "arguments": {"name": "MCP_TOOL_PREFIX"}},
                ],
            }
        )
    leaked, given, prefix = (s.get("structuredContent", {}).get("result") for s in result["steps"])
    assert leaked is None and given == "only-if-asked" and prefix == "st_"
