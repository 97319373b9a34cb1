"""Per-principal views, in process: what each API key and JWT lists, calls, reads and gets, in
both eras.

Driven through the gateway's real HTTP front (authentication included) on FastMCP's in-process
ASGI transport: no socket, no Node; and `Views` on its own, on a hand-built index.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair
from mcp.shared.exceptions import MCPError

from gateway.config.security import ViewConfig
from gateway.policies.views import Views
from gateway.principal import LOCAL, Principal
from gateway.routing.index import BackendView, RouteIndex
from gateway.upstream.catalog import Listing
from tests.conftest import make_gateway
from tests.gateway.authed import http_front

OPS = "ops-key-0123456789abcdef"  # no view: everything
ANALYST = "analyst-key-0123456789ab"  # view `echo-only`: the echo backend, minus slow_count
SCOPED = "scoped-key-0123456789abc"  # view `rich-readers`: rich, but its tools need a scope
CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{OPS}", scopes: [admin]}}
    analyst: {{key: "{ANALYST}"}}
    scoped: {{key: "{SCOPED}"}}
views:
  echo-only:
    principals: [analyst]
    namespaces: [echo]
    deny_tools: [echo_slow_count]
  rich-readers:
    principals: [scoped]
    namespaces: [r]
tool_scopes:
  "r_*": [admin]
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""


@pytest.mark.asyncio
class TestWhatEachPrincipalSees:
    async def test_a_principal_in_no_view_sees_every_backend(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=OPS, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
        assert {"echo_echo", "echo_slow_count", "r_shape", "r_media"} <= tools

    async def test_a_view_lists_only_its_namespaces_minus_denied_tools(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
            prompts = {p.name for p in await client.list_prompts()}
            templates = {t.uri_template for t in await client.list_resource_templates()}
        assert "echo_echo" in tools and "echo_slow_count" not in tools
        assert not {t for t in tools if t.startswith("r_")}
        assert prompts == {"echo_shout"}
        assert all(t.startswith("echo://echo/") for t in templates)

    async def test_tool_scopes_hide_tools_from_a_principal_without_the_scope(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=SCOPED, mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
        assert not {t for t in tools if t.startswith("r_")}, tools


@pytest.mark.asyncio
class TestHiddenAnswersLikeUnknown:
    async def test_a_hidden_tool_answers_exactly_like_one_that_does_not_exist(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            hidden = await client.call_tool_mcp("r_shape", {"name": "x"})
            denied = await client.call_tool_mcp("echo_slow_count", {"n": 1})
            missing = await client.call_tool_mcp("r_no_such_tool", {"name": "x"})
        texts = [r.content[0].text for r in (hidden, denied, missing)]  # type: ignore[union-attr]
        assert [r.is_error for r in (hidden, denied, missing)] == [True, True, True]
        assert texts == [
            "Unknown tool: 'r_shape'",
            "Unknown tool: 'echo_slow_count'",
            "Unknown tool: 'r_no_such_tool'",
        ]

    async def test_a_hidden_prompt_and_resource_answer_like_unknown_ones(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=SCOPED, mode=era) as client:
            with pytest.raises(MCPError) as hidden_prompt:
                await client.get_prompt("echo_shout", {"word": "x"})
            with pytest.raises(MCPError) as missing_prompt:
                await client.get_prompt("echo_nothing", {"word": "x"})
            with pytest.raises(MCPError) as hidden_read:
                await client.read_resource("echo://echo/greeting")
        assert hidden_prompt.value.error.code == missing_prompt.value.error.code
        assert hidden_prompt.value.error.message == "Unknown prompt: 'echo_shout'"
        assert hidden_read.value.error.message == "Resource not found: 'echo://echo/greeting'"

    async def test_a_visible_tool_works_for_the_same_principal(self, era: str) -> None:
        async with http_front(make_gateway(CONFIG)) as front, front.client(auth=ANALYST, mode=era) as client:
            result = await client.call_tool("echo_echo", {"text": "seen"})
        assert result.structured_content == {"result": "seen"}


@pytest.mark.asyncio
async def test_a_call_outside_the_view_is_audited_as_denied(era: str, tmp_path: Path) -> None:
    """The audit trail records a refused call with its principal, without saying what exists."""
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(CONFIG + f"audit: {{sink: '{audit}'}}\n")
    async with http_front(gateway) as front, front.client(auth=ANALYST, mode=era) as client:
        await client.call_tool_mcp("r_shape", {"name": "x"})
        await client.call_tool("echo_echo", {"text": "ok"})
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    by_tool = {r["tool"]: r for r in records}
    assert by_tool["r_shape"]["outcome"] == "denied" and by_tool["r_shape"]["principal"] == "analyst"
    assert by_tool["r_shape"]["backend"] is None
    assert by_tool["echo_echo"]["outcome"] == "ok" and by_tool["echo_echo"]["attempts"] == 1


PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"
NOBODY = "nobody-key-0123456789abc"  # no view selects it
JWT_CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{OPS}"}}
    nobody: {{key: "{NOBODY}"}}
  jwt: {{issuer: "{ISSUER}", audience: {AUDIENCE}, public_key: "${{JWT_PUBLIC_KEY}}"}}
  unviewed: none
views:
  ops-echo:
    principals: [ops]
    namespaces: [echo]
  jwt-users:
    principals: ["jwt:*"]
    namespaces: [r]
rate_limits:
  per_principal: {{rate: 1, per: 1m, burst: 1}}
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""


def jwt_for(subject: str) -> str:
    """A good token for this gateway naming `subject`."""
    return PAIR.create_token(subject=subject, issuer=ISSUER, audience=AUDIENCE)


@pytest.mark.asyncio
class TestJwtAndApiKeyPrincipalsAreApart:
    async def test_a_jwt_with_sub_ops_gets_neither_the_view_nor_the_bucket_of_the_key_ops(
        self, era: str
    ) -> None:
        """Regression: `sub=ops` drew on the API key `ops`'s rate bucket and got its view."""
        gateway = make_gateway(JWT_CONFIG, environ={"JWT_PUBLIC_KEY": PAIR.public_key})
        async with http_front(gateway) as front:
            async with front.client(auth=OPS, mode=era) as ops:
                ops_tools = {t.name for t in await ops.list_tools()}
                await ops.call_tool("echo_echo", {"text": "spends ops' one token"})
                with pytest.raises(MCPError, match="rate limit exceeded \\(principal 'ops'"):
                    await ops.call_tool_mcp("echo_echo", {"text": "its bucket is empty now"})
            async with front.client(auth=jwt_for("ops"), mode=era) as token:
                token_tools = {t.name for t in await token.list_tools()}
                shaped = await token.call_tool("r_shape", {"name": "x"})  # its own bucket: not refused
        assert "echo_echo" in ops_tools and not {t for t in ops_tools if t.startswith("r_")}
        assert "r_shape" in token_tools and not {t for t in token_tools if t.startswith("echo_")}
        assert not shaped.is_error

    async def test_unviewed_none_hides_everything_from_a_principal_no_view_selects(self, era: str) -> None:
        """`auth.unviewed: none`: a principal outside every view lists nothing and calls nothing."""
        gateway = make_gateway(JWT_CONFIG, environ={"JWT_PUBLIC_KEY": PAIR.public_key})
        async with http_front(gateway) as front, front.client(auth=NOBODY, mode=era) as client:
            tools = await client.list_tools()
            prompts = await client.list_prompts()
            called = await client.call_tool_mcp("echo_echo", {"text": "x"})
        assert tools == [] and prompts == []
        assert called.is_error and called.content[0].text == "Unknown tool: 'echo_echo'"


def an_index() -> RouteIndex:
    """Two backends, `echo` (namespace `echo`) and `rich` (namespace `r`), one tool each."""
    return RouteIndex.build(
        [
            BackendView("echo", "echo", Listing(tools=({"name": "echo"},), prompts=({"name": "shout"},))),
            BackendView("rich", "r", Listing(tools=({"name": "shape"},))),
        ]
    )


NAMESPACES = {"echo": "echo", "rich": "r"}


class TestViewsOnTheirOwn:
    def test_a_view_selects_a_jwt_principal_only_by_its_jwt_name(self) -> None:
        """`principals: [ops]` is the API key `ops`; the JWT subject `ops` is `jwt:ops`."""
        views = Views(
            {"keys": ViewConfig(principals=("ops",)), "tokens": ViewConfig(principals=("jwt:ops",))},
            tool_scopes={},
        )
        key_view = views.view_of(Principal("ops", "api_key"))
        token_view = views.view_of(Principal("jwt:ops", "jwt", claims={"sub": "ops"}))
        assert key_view is not None and key_view.name == "keys"
        assert token_view is not None and token_view.name == "tokens"

    def test_by_default_a_principal_no_view_selects_sees_everything(self) -> None:
        """`unviewed: all` (the default) keeps the documented behaviour."""
        views = Views(
            {"echo-only": ViewConfig(principals=("analyst",), namespaces=("echo",))}, tool_scopes={}
        )
        seen = views.filter(an_index(), Principal("other", "api_key"), NAMESPACES)
        assert set(seen.tools) == {"echo_echo", "r_shape"} and set(seen.prompts) == {"echo_shout"}

    def test_unviewed_none_shows_nothing_to_a_principal_no_view_selects(self) -> None:
        """With `unviewed="none"` and no view at all, an authenticated caller sees nothing."""
        views = Views({}, tool_scopes={}, unviewed="none")
        seen = views.filter(an_index(), Principal("other", "api_key"), NAMESPACES)
        assert (seen.tools, seen.prompts, seen.resources, seen.templates) == ({}, {}, {}, [])
        view = views.view_of(Principal("other", "api_key"))
        assert view is not None and not view.reaches("echo"), "no backend is contacted for it"

    def test_unviewed_none_leaves_selected_and_local_callers_as_they_were(self) -> None:
        """A selected principal gets its view, and a local (stdio) caller everything."""
        views = Views(
            {"echo-only": ViewConfig(principals=("analyst",), namespaces=("echo",))},
            tool_scopes={},
            unviewed="none",
        )
        assert set(views.filter(an_index(), Principal("analyst", "api_key"), NAMESPACES).tools) == {
            "echo_echo"
        }
        assert set(views.filter(an_index(), LOCAL, NAMESPACES).tools) == {"echo_echo", "r_shape"}
