"""Per-tool authorization (RELIABILITY.md §5 item 26): a principal without the grant for a tool,
a scope in `tool_scopes` or a view's `require_scopes`, neither lists nor calls it; one with the
grant does both. Through the real HTTP front in process, API keys and JWTs, both eras.
"""

from __future__ import annotations

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from tests.conftest import make_gateway
from tests.gateway.authed import http_front

PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"
ADMIN = "admin-key-0123456789abcdef"
PLAIN = "plain-key-0123456789abcdef"
CONFIG = f"""
auth:
  api_keys:
    admin: {{key: "{ADMIN}", scopes: [admin]}}
    plain: {{key: "{PLAIN}"}}
  jwt: {{issuer: "{ISSUER}", audience: {AUDIENCE}, public_key: "${{JWT_PUBLIC_KEY}}"}}
views:
  echo-writers:
    principals: ["jwt:*"]
    require_scopes: {{"echo_slow_count": [write]}}
tool_scopes:
  "r_*": [admin]
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""


def jwt(*scopes: str) -> str:
    return PAIR.create_token(subject="someone", issuer=ISSUER, audience=AUDIENCE, scopes=list(scopes))


async def lists_and_calls(
    credential: str, era: str, tool: str, arguments: dict[str, object]
) -> tuple[bool, bool]:
    """(whether `tool` is listed, whether calling it runs) for the holder of `credential`."""
    gateway = make_gateway(CONFIG, environ={"JWT_PUBLIC_KEY": PAIR.public_key})
    async with http_front(gateway) as front, front.client(auth=credential, mode=era) as client:
        listed = tool in {t.name for t in await client.list_tools()}
        result = await client.call_tool_mcp(tool, arguments)
    if result.is_error:
        assert result.content[0].text == f"Unknown tool: '{tool}'"  # type: ignore[union-attr]
    return listed, not result.is_error


@pytest.mark.asyncio
class TestToolScopes:
    async def test_without_the_scope_a_tool_is_neither_listed_nor_callable(self, era: str) -> None:
        assert await lists_and_calls(PLAIN, era, "r_shape", {"name": "x"}) == (False, False)

    async def test_with_the_scope_it_is_both(self, era: str) -> None:
        assert await lists_and_calls(ADMIN, era, "r_shape", {"name": "x"}) == (True, True)


@pytest.mark.asyncio
class TestViewRequiredScopes:
    async def test_a_jwt_without_the_scope_neither_lists_nor_calls_the_tool(self, era: str) -> None:
        assert await lists_and_calls(jwt("read"), era, "echo_slow_count", {"n": 1}) == (False, False)

    async def test_a_jwt_with_the_scope_does_both(self, era: str) -> None:
        assert await lists_and_calls(jwt("write"), era, "echo_slow_count", {"n": 1}) == (True, True)

    async def test_the_other_tools_of_the_view_stay_usable_without_it(self, era: str) -> None:
        assert await lists_and_calls(jwt("read"), era, "echo_echo", {"text": "x"}) == (True, True)
