"""What an HTTP backend receives of its caller (RELIABILITY.md §5 item 24): never the client's
`Authorization` or `Cookie`, nor any other header of its request; its own credentials from the
config; the caller's name only where the config asks for it.

The gateway's real HTTP front in process; the backend (tests/fakes/recorder.py, which answers
with the headers it got) is a real streamable-HTTP app on a socket of 127.0.0.1, reached both by
the session's SDK transport and by the gateway's raw hop.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.app import Gateway
from tests.conftest import make_gateway
from tests.fakes import recorder
from tests.gateway.authed import http_front
from tests.serving import serving

KEY = "ops-key-0123456789abcdef"
BACKEND_TOKEN = "backend-own-token-0123456789"
COOKIE = "session=cookie-of-the-caller-0123456789"
CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{KEY}"}}
backends:
  rec:
    url: "${{RECORDER_URL}}"
    bearer_token: "${{BACKEND_TOKEN}}"
    headers: {{X-Backend-Tenant: "${{BACKEND_TENANT}}"}}
    forward_identity: {{header: X-Caller}}
  plain:
    url: "${{RECORDER_URL}}"
"""
CALLER_HEADERS = {
    "cookie": COOKIE,
    "x-forwarded-for": "203.0.113.7",
    "x-api-key": "caller-api-key-0123456789",
    "x-caller": "root",
}


async def received(era: str, tool: str) -> dict[str, Any]:
    """The headers the backend got for one call by `ops`, lower-cased."""
    async with serving(recorder.mcp.http_app()) as url:
        environ = {"BACKEND_TOKEN": BACKEND_TOKEN, "BACKEND_TENANT": "t-1", "RECORDER_URL": f"{url}/mcp"}
        return await _call(make_gateway(CONFIG, environ=environ), era, tool)


async def _call(gateway: Gateway, era: str, tool: str) -> dict[str, Any]:
    async with (
        http_front(gateway) as front,
        front.client(auth=KEY, mode=era, headers=CALLER_HEADERS) as client,
    ):
        result = await client.call_tool(tool, {})
    assert isinstance(result.structured_content, dict)
    return {k.lower(): v for k, v in result.structured_content.items()}


@pytest.mark.asyncio
class TestWhatABackendReceives:
    async def test_its_own_credentials_and_the_callers_name_never_the_callers(self, era: str) -> None:
        headers = await received(era, "rec_headers")
        assert headers["authorization"] == f"Bearer {BACKEND_TOKEN}"
        assert headers["x-backend-tenant"] == "t-1"
        assert headers["x-caller"] == "ops", "the verified name, not the caller's `X-Caller: root`"
        assert "cookie" not in headers and "x-forwarded-for" not in headers and "x-api-key" not in headers
        seen = json.dumps(headers)
        assert KEY not in seen and "cookie-of-the-caller" not in seen and "caller-api-key" not in seen

    async def test_without_configured_credentials_no_authorization_at_all(self, era: str) -> None:
        headers = await received(era, "plain_headers")
        assert "authorization" not in headers and "cookie" not in headers
        assert KEY not in json.dumps(headers)
