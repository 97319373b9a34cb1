"""What an operator sees of a running gateway: /metrics, JSON log lines, and one request id
shared by the response, the audit record and the logs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from tests.conftest import free_port
from tests.e2e.support import INITIALIZE, MCP_HEADERS, gateway_command, running

pytestmark = pytest.mark.e2e


def test_metrics_json_logs_and_the_request_id(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"audit:\n  sink: {audit}\nbackends:\n  echo:\n    module: tests.fakes.echo\n"
        "  gone:\n    command: [/nonexistent/server]\n    optional: true\n"
    )
    port = free_port()
    log = tmp_path / "gateway.log"
    base = f"http://127.0.0.1:{port}"
    with (
        running(
            gateway_command(
                config, "run", "--port", str(port), "--log-format", "json", "--log-level", "info"
            ),
            log=log,
            ready_url=f"{base}/readyz",
            expect_status=200,
        ),
        httpx2.Client(base_url=base, headers=MCP_HEADERS, timeout=10) as http,
    ):
        init = http.post("/mcp", json=INITIALIZE)
        session = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo_echo", "arguments": {"text": "watched"}},
        }
        answer = http.post("/mcp", json=call, headers={**session, "x-request-id": "lb-7f3a.1"})
        unnamed = http.post("/mcp", json={**call, "id": 3}, headers=session)
        metrics = http.get("/metrics")
    assert answer.status_code == 200 and "watched" in answer.text
    assert answer.headers["x-request-id"] == "lb-7f3a.1"
    generated = unnamed.headers["x-request-id"]
    assert generated and generated != "lb-7f3a.1"

    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [r["request_id"] for r in records] == ["lb-7f3a.1", generated]
    assert all(r["tool"] == "echo_echo" and r["outcome"] == "ok" for r in records)

    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert (
        'mcp_gateway_calls_total{backend="echo",method="tools/call",outcome="ok",tool="echo_echo"} 2.0'
        in text
    )
    assert 'mcp_gateway_backend_up{backend="gone"} 0.0' in text
    assert "mcp_gateway_call_duration_seconds_bucket" in text

    parsed = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]  # every line
    assert parsed and all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    assert any(p["logger"].startswith("gateway") and "gone" in p["message"] for p in parsed)
