"""A REST API behind the real `gateway run` HTTP front: the API sees the gateway's credentials
and nothing of the caller's request (its API key, its other headers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.conftest import free_port
from tests.e2e.support import gateway_command, running
from tests.fakes.rest_api import serve_api

pytestmark = pytest.mark.e2e

API_TOKEN = "api-token-0123456789"
CALLER_KEY = "caller-key-0123456789abcdef"


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])
async def test_the_api_sees_the_gateways_token_and_none_of_the_callers_headers(
    tmp_path: Path, mode: str
) -> None:
    port = free_port()
    with serve_api(token=API_TOKEN) as api:
        (tmp_path / "shop.json").write_text(json.dumps(api.document()))
        config = tmp_path / "gateway.yaml"
        config.write_text(
            "auth:\n  api_keys:\n    alice: {key: '${CALLER_KEY}'}\n"
            "backends:\n  shop:\n    openapi: {spec: shop.json, bearer_token: '${SHOP_TOKEN}'}\n"
        )
        env = {"CALLER_KEY": CALLER_KEY, "SHOP_TOKEN": API_TOKEN}
        with running(
            gateway_command(config, "run", "--port", str(port)),
            log=tmp_path / "g.log",
            env=env,
            ready_url=f"http://127.0.0.1:{port}/readyz",
            expect_status=200,
        ) as gateway:
            transport = StreamableHttpTransport(
                f"http://127.0.0.1:{port}/mcp", auth=CALLER_KEY, headers={"x-front-secret": "from-the-caller"}
            )
            async with Client(transport, mode=mode) as client:
                created = await client.call_tool("shop_createItem", {"name": "fig"})
                whoami = await client.call_tool("shop_whoami", {})
                refused = await client.call_tool("shop_echoAuth", {}, raise_on_error=False)
            log = gateway.output()
    assert created.structured_content == {"id": 3, "name": "fig"}
    assert whoami.structured_content == {"user": "gateway"}
    assert refused.is_error and "refusing ***" in refused.content[0].text
    calls = api.calls()
    assert [(c.method, c.path, c.body) for c in calls] == [
        ("POST", "/api/items", {"name": "fig"}),
        ("GET", "/api/me", None),
        ("GET", "/api/echo-auth", None),
    ]
    for call in calls:
        assert call.headers["authorization"] == f"Bearer {API_TOKEN}"
        assert "x-front-secret" not in call.headers
        assert CALLER_KEY not in json.dumps(call.headers)
    assert API_TOKEN not in log
