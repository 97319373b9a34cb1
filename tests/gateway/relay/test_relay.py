"""The relay, in memory: names, filters, results field for field, progress and logs, both eras."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from gateway.routing.naming import MAX_NAME_LENGTH
from tests.conftest import TWO_BACKENDS, connected, dump, make_gateway
from tests.fakes import echo as echo_backend
from tests.fakes import rich as rich_backend


@pytest.mark.asyncio
class TestNames:
    async def test_tools_prompts_resources_get_the_namespace(self, era: str) -> None:
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            tools = {t.name for t in await client.list_tools()}
            assert {"echo_echo", "echo_slow_count", "r_shape", "r_media", "r_fail"} <= tools
            assert {p.name for p in await client.list_prompts()} == {"echo_shout", "r_review"}
            uris = {str(r.uri) for r in await client.list_resources()}
            assert {"echo://echo/greeting", "rich://r/docs/readme", "rich://r/bin/blob"} == uris
            templates = {t.uri_template for t in await client.list_resource_templates()}
            assert templates == {"echo://echo/items/{item_id}", "rich://r/topics/{topic}"}

    async def test_long_names_are_shortened_stably_within_64_characters(self) -> None:
        async with connected(make_gateway(TWO_BACKENDS)) as client:
            long = [t.name for t in await client.list_tools() if t.name.startswith("r_a_tool")]
            assert len(long) == 1 and len(long[0]) == MAX_NAME_LENGTH
            result = await client.call_tool(long[0], {})
            assert result.data == "long"
        async with connected(make_gateway(TWO_BACKENDS)) as client:
            assert long[0] in {t.name for t in await client.list_tools()}

    async def test_include_exclude_and_rename(self) -> None:
        gateway = make_gateway(
            """
            backends:
              echo:
                module: tests.fakes.echo
                tools:
                  include: ["echo", "slow_*"]
                  exclude: ["slow_*"]
                  rename: {echo: repeat}
                prompts:
                  exclude: ["*"]
                resources:
                  exclude: ["echo://items/*"]
            """
        )
        async with connected(gateway) as client:
            assert [t.name for t in await client.list_tools()] == ["echo_repeat"]
            assert await client.list_prompts() == []
            assert await client.list_resource_templates() == []
            assert (await client.call_tool("echo_repeat", {"text": "x"})).data == "x"
            hidden = await client.call_tool("echo_slow_count", {"n": 1}, raise_on_error=False)
            assert hidden.is_error and "Unknown tool" in hidden.content[0].text  # type: ignore[union-attr]

    async def test_collisions_keep_the_first_backend_and_are_recorded(self) -> None:
        gateway = make_gateway(
            """
            backends:
              first: {module: tests.fakes.echo, namespace: ""}
              second: {module: tests.fakes.echo:mcp, namespace: ""}
            """
        )
        async with connected(gateway) as client:
            assert [t.name for t in await client.list_tools()].count("echo") == 1
        assert any("backend 'first'" in c and "backend 'second'" in c for c in gateway.index.collisions)


@pytest.mark.asyncio
class TestFidelity:
    """What a client gets through the gateway equals what it gets directly, but for the prefix."""

    @pytest.mark.parametrize(("tool", "arguments"), [("shape", {"name": "tri"}), ("media", {})])
    async def test_tool_results_are_identical(self, era: str, tool: str, arguments: dict[str, Any]) -> None:
        async with Client(rich_backend.mcp, mode=era) as direct:
            expected = dump(await direct.call_tool_mcp(tool, arguments))
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            got = dump(await client.call_tool_mcp(f"r_{tool}", arguments))
        if tool == "media":  # resource URIs inside results gain the namespace, nothing else changes
            expected["content"][3]["uri"] = "rich://r/docs/readme"
            expected["content"][4]["resource"]["uri"] = "rich://r/docs/inline"
        assert got == expected

    async def test_tool_listing_is_identical_apart_from_the_name(self, era: str) -> None:
        async with Client(rich_backend.mcp, mode=era) as direct:
            expected = {t.name: dump(t) for t in await direct.list_tools()}
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            got = {t.name: dump(t) for t in await client.list_tools() if t.name.startswith("r_")}
        shape = got["r_shape"]
        assert shape.pop("name") == "r_shape"
        assert shape == {k: v for k, v in expected["shape"].items() if k != "name"}
        assert "$defs" in shape["outputSchema"], "JSON Schema $defs are kept, not dereferenced"

    async def test_tool_errors_come_back_as_error_results(self, era: str) -> None:
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            with pytest.raises(ToolError, match="failed because tests"):
                await client.call_tool("r_fail", {"reason": "tests"})

    async def test_resources_text_blob_and_templates(self, era: str) -> None:
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            readme = await client.read_resource("rich://r/docs/readme")
            assert readme[0].text == "# Readme" and str(readme[0].uri) == "rich://r/docs/readme"  # type: ignore[union-attr]
            blob = await client.read_resource("rich://r/bin/blob")
            assert blob[0].blob == "AAEC"  # type: ignore[union-attr]
            item = await client.read_resource("echo://echo/items/7")
            assert item[0].text == "item 7"  # type: ignore[union-attr]

    async def test_unknown_resource_and_prompt(self, era: str) -> None:
        from mcp.shared.exceptions import MCPError

        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            with pytest.raises(MCPError, match="Resource not found"):
                await client.read_resource("rich://nope/x")
            with pytest.raises(MCPError, match="Unknown prompt"):
                await client.get_prompt("nope")

    async def test_prompts(self, era: str) -> None:
        async with Client(echo_backend.mcp, mode=era) as direct:
            expected = dump(await direct.get_prompt_mcp("shout", {"word": "hey"}))
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            assert dump(await client.get_prompt_mcp("echo_shout", {"word": "hey"})) == expected

    async def test_progress_and_logs_reach_the_caller(self, era: str) -> None:
        progress: list[tuple[float, float | None, str | None]] = []
        logs: list[Any] = []

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append((p, total, message))

        async def on_log(message: Any) -> None:
            logs.append(message.data)

        async with connected(
            make_gateway(TWO_BACKENDS), mode=era, progress_handler=on_progress, log_handler=on_log
        ) as client:
            assert (await client.call_tool("echo_slow_count", {"n": 3})).data == 3
        assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
        assert logs == [{"msg": "counted to 3", "extra": None}]


@pytest.mark.asyncio
class TestPaging:
    async def test_lists_page_with_opaque_cursors(self) -> None:
        gateway = make_gateway("gateway: {list_page_size: 2}\n" + TWO_BACKENDS)
        async with connected(gateway) as client:
            first = await client.list_tools_mcp()
            assert len(first.tools) == 2 and first.next_cursor
            names = [t.name for t in first.tools]
            cursor = first.next_cursor
            while cursor:
                page = await client.list_tools_mcp(cursor=cursor)
                names += [t.name for t in page.tools]
                cursor = page.next_cursor
            assert len(names) == len(set(names)) == len(gateway.index.tools)


@pytest.mark.asyncio
class TestProtocolDetails:
    async def test_every_page_of_a_backend_is_listed(self) -> None:
        gateway = make_gateway("backends:\n  p:\n    module: tests.fakes.paged\n")
        async with connected(gateway) as client:
            assert sorted(t.name for t in await client.list_tools()) == [f"p_tool_{i}" for i in range(5)]
            assert len(await client.list_resources()) == 5

    async def test_meta_crosses_the_hop_but_connection_keys_do_not(self, era: str) -> None:
        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            result = await client.call_tool("r_echo_meta", {}, meta={"trace_id": "t-1", "tenant": "blue"})
        meta = result.structured_content or {}
        assert meta.get("trace_id") == "t-1" and meta.get("tenant") == "blue"
        client_info = meta.get("io.modelcontextprotocol/clientInfo")
        assert client_info is None or client_info["name"] == "mcp-orchestration-gateway", (
            "the hop is the gateway's"
        )

    async def test_completions_for_prompts_and_templates(self, era: str) -> None:
        from mcp_types import PromptReference, ResourceTemplateReference

        async with connected(make_gateway(TWO_BACKENDS), mode=era) as client:
            prompt = await client.complete(
                PromptReference(type="ref/prompt", name="r_review"), {"name": "topic", "value": "g"}
            )
            template = await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="rich://r/topics/{topic}"),
                {"name": "topic", "value": "ro"},
            )
            unknown = await client.complete(
                PromptReference(type="ref/prompt", name="nope"), {"name": "x", "value": ""}
            )
        assert prompt.values == ["gateways", "gardens", "graphs"]
        assert template.values == ["routing"]
        assert unknown.values == []

    async def test_capabilities_are_advertised_only_when_relayed(self) -> None:
        async with connected(make_gateway(TWO_BACKENDS), mode="legacy") as client:
            with_completions = client.initialize_result
        async with connected(
            make_gateway("backends:\n  e:\n    module: tests.fakes.echo\n"), mode="legacy"
        ) as client:
            without = client.initialize_result
        assert with_completions is not None and with_completions.capabilities.completions is not None
        assert without is not None and without.capabilities.completions is None
        assert without.capabilities.resources is not None and not without.capabilities.resources.subscribe


@pytest.mark.asyncio
async def test_a_clients_log_level_filters_what_it_receives() -> None:
    """logging/setLevel: messages below the client's level do not reach it."""
    logs: list[Any] = []

    async def on_log(message: Any) -> None:
        logs.append(message.level)

    async with connected(make_gateway(TWO_BACKENDS), mode="legacy", log_handler=on_log) as client:
        await client.call_tool("echo_slow_count", {"n": 1})
        await client.set_logging_level("error")
        await client.call_tool("echo_slow_count", {"n": 1})
    assert logs == ["info"], "the info message after setLevel(error) was filtered"
