"""The HTTP front as a real process: health, readiness, the DNS-rebinding guard, no credential passthrough."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import INITIALIZE as INIT
from tests.e2e.support import MCP_HEADERS, gateway_command, running, ts_client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("front")
    backend_port, gateway_port, dead_port = free_port(), free_port(), free_port()
    config = work / "gateway.yaml"
    config.write_text(
        f"""
backends:
  rec:
    url: http://127.0.0.1:{backend_port}/mcp
  echo:
    command: [python, -m, tests.fakes.echo]
    cwd: {ROOT}
  gone:
    url: http://127.0.0.1:{dead_port}/mcp
    optional: true
    connect_timeout: 2s
"""
    )
    recorder = [PYTHON, "-m", "tests.fakes.recorder", "--transport", "http", "--port", str(backend_port)]
    with (
        running(recorder, log=work / "recorder.log", ready_url=f"http://127.0.0.1:{backend_port}/mcp"),
        running(
            gateway_command(config, "run", "--port", str(gateway_port)),
            log=work / "gateway.log",
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ),
    ):
        yield f"http://127.0.0.1:{gateway_port}"


def test_healthz_answers_while_the_process_serves(gateway_url: str) -> None:
    response = httpx2.get(f"{gateway_url}/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_every_backend_and_ignores_optional_ones(gateway_url: str) -> None:
    response = httpx2.get(f"{gateway_url}/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["backends"]["rec"]["state"] == "ready"
    assert body["backends"]["echo"]["kind"] == "stdio"
    assert body["backends"]["gone"]["state"] == "failed" and body["backends"]["gone"]["optional"] is True
    assert "connection refused" in body["backends"]["gone"]["error"]


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_a_foreign_origin_is_refused(gateway_url: str, origin: str) -> None:
    response = httpx2.post(f"{gateway_url}/mcp", json=INIT, headers={**MCP_HEADERS, "origin": origin})
    assert response.status_code == 403


def test_a_foreign_host_is_refused(gateway_url: str) -> None:
    response = httpx2.post(f"{gateway_url}/mcp", json=INIT, headers={**MCP_HEADERS, "host": "evil.example"})
    assert response.status_code in (403, 421)


def test_a_request_without_origin_is_served(gateway_url: str) -> None:
    response = httpx2.post(f"{gateway_url}/mcp", json=INIT, headers=MCP_HEADERS)
    assert response.status_code == 200


def test_the_clients_authorization_header_never_reaches_a_backend(gateway_url: str, tmp_path: Path) -> None:
    secret = "client-secret-token-1234"
    result = ts_client(
        {
            "target": {
                "url": f"{gateway_url}/mcp",
                "headers": {"Authorization": f"Bearer {secret}", "Cookie": f"session={secret}"},
            },
            "steps": [{"op": "callTool", "name": "rec_headers"}],
        }
    )
    received = result["steps"][0]["structuredContent"]
    assert "authorization" not in {k.lower() for k in received}
    assert "cookie" not in {k.lower() for k in received}
    assert secret not in json.dumps(result)
