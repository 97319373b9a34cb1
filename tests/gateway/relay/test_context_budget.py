"""Context budget: token estimates per view (`gateway list --budget`), and search mode for views
whose tools/list is too large (`search_tools` + `call_tool`), through the gateway, both eras."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from gateway.cli import EXIT_OK, main
from gateway.relay.budget import UNRESTRICTED, estimate_tokens, measure
from gateway.routing.index import front_items
from tests.conftest import connected, dump, make_gateway
from tests.gateway.authed import http_front

ALICE = "alice-key-0123456789abcdef"  # view `big`: everything but r_fail, above its threshold
BOB = "bob-key-0123456789abcdefgh"  # view `narrow`: echo_echo only, below its threshold
CAROL = "carol-key-0123456789abcdef"  # no view: everything, no threshold

BACKENDS = """
backends:
  echo: {module: tests.fakes.echo}
  rich: {module: tests.fakes.rich, namespace: r}
"""
VIEWS = f"""
auth:
  api_keys:
    alice: {{key: "{ALICE}"}}
    bob: {{key: "{BOB}"}}
    carol: {{key: "{CAROL}"}}
views:
  big: {{principals: [alice], deny_tools: [r_fail], search_above_tokens: 300}}
  narrow: {{principals: [bob], tools: [echo_echo], search_above_tokens: 300}}
{BACKENDS}"""
SEARCH_PAIR = ["search_tools", "call_tool"]


class TestEstimate:
    def test_tokens_are_compact_utf8_json_bytes_over_four_rounded_up(self) -> None:
        assert estimate_tokens({"a": "é"}) == 3  # {"a":"é"} is 10 bytes
        assert estimate_tokens({"name": "x" * 100}) == 28  # 11 + 100 bytes

    def test_a_list_is_measured_whole_and_its_largest_tools_ranked(self) -> None:
        items = [{"name": f"t{i}", "description": "w " * i * 10} for i in range(8)]
        budget = measure(items)
        assert budget.tools == 8
        assert budget.tokens == estimate_tokens({"tools": items})
        assert [name for name, _ in budget.largest] == ["t7", "t6", "t5", "t4", "t3"]
        assert [tokens for _, tokens in budget.largest] == sorted(
            (t for _, t in budget.largest), reverse=True
        )


class TestBudgetCommand:
    def run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
        config = tmp_path / "gateway.yaml"
        config.write_text(VIEWS)
        assert main(["list", "--budget", "--config", str(config), *extra]) == EXIT_OK
        return capsys.readouterr().out

    def test_each_view_is_reported_with_its_estimate_mode_and_largest_tools(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report = json.loads(self.run(tmp_path, capsys, "--json"))
        assert "bytes" in report["estimate"] and "/ 4" in report["estimate"]
        rows = {row["view"]: row for row in report["views"]}
        assert list(rows) == [UNRESTRICTED, "big", "narrow"]
        assert (rows[UNRESTRICTED]["tools"], rows["big"]["tools"], rows["narrow"]["tools"]) == (7, 6, 1)
        assert rows[UNRESTRICTED]["mode"] == "list" and rows[UNRESTRICTED]["search_above_tokens"] is None
        assert rows["big"]["mode"] == "search" and rows["big"]["tokens"] > 300
        assert rows["narrow"]["mode"] == "list" and rows["narrow"]["tokens"] < 300
        assert rows["narrow"]["largest"] == [{"name": "echo_echo", "tokens": rows["narrow"]["tokens"] - 3}]
        assert len(rows["big"]["largest"]) == 5 and "r_fail" not in {
            t["name"] for t in rows["big"]["largest"]
        }

    def test_estimates_are_stable_from_run_to_run(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert self.run(tmp_path, capsys, "--json") == self.run(tmp_path, capsys, "--json")

    def test_the_table_says_how_tokens_are_estimated_and_which_views_search(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = self.run(tmp_path, capsys)
        assert "compact JSON / 4" in text
        big = next(line for line in text.splitlines() if line.strip().startswith("big "))
        narrow = next(line for line in text.splitlines() if line.strip().startswith("narrow "))
        assert big.endswith("search_tools + call_tool") and narrow.endswith("every tool")

    @pytest.mark.asyncio
    async def test_the_unrestricted_estimate_is_that_of_the_list_a_local_client_gets(self) -> None:
        gateway = make_gateway(VIEWS)
        async with connected(gateway):
            items = front_items(gateway.index.tools)
        wire = json.dumps({"tools": items}, separators=(",", ":"), ensure_ascii=False).encode()
        assert gateway.relay.search.budget.measure(gateway.index).tokens == math.ceil(len(wire) / 4)


@pytest.mark.asyncio
class TestSearchMode:
    async def test_a_view_above_its_threshold_lists_only_the_search_pair(self, era: str) -> None:
        async with http_front(make_gateway(VIEWS)) as front, front.client(auth=ALICE, mode=era) as client:
            assert [t.name for t in await client.list_tools()] == SEARCH_PAIR

    async def test_views_below_a_threshold_or_without_one_list_every_tool(self, era: str) -> None:
        async with http_front(make_gateway(VIEWS)) as front:
            async with front.client(auth=BOB, mode=era) as client:
                assert [t.name for t in await client.list_tools()] == ["echo_echo"]
            async with front.client(auth=CAROL, mode=era) as client:
                assert len(await client.list_tools()) == 7

    async def test_search_finds_tools_by_words_of_their_description_within_the_view(self, era: str) -> None:
        async with http_front(make_gateway(VIEWS)) as front, front.client(auth=ALICE, mode=era) as client:
            progress = await client.call_tool("search_tools", {"query": "report progress"})
            found = progress.structured_content["tools"]  # type: ignore[index]
            assert found[0]["name"] == "echo_slow_count"
            assert found[0]["description"].startswith("Report progress")
            assert found[0]["inputSchema"]["required"] == ["n"]
            shapes = await client.call_tool("search_tools", {"query": "nested shape"})
            assert shapes.structured_content["tools"][0]["name"] == "r_shape"  # type: ignore[index]
            fails = await client.call_tool("search_tools", {"query": "always fails with the reason"})
            assert "r_fail" not in {t["name"] for t in fails.structured_content["tools"]}  # type: ignore[index]
            browse = await client.call_tool("search_tools", {"query": "", "limit": 2})
            assert len(browse.structured_content["tools"]) == 2  # type: ignore[index]

    async def test_call_tool_answers_exactly_like_a_direct_call(self, era: str) -> None:
        async with http_front(make_gateway(VIEWS)) as front, front.client(auth=ALICE, mode=era) as client:
            named = await client.call_tool_mcp("call_tool", {"name": "r_shape", "arguments": {"name": "tri"}})
            direct = await client.call_tool_mcp("r_shape", {"name": "tri"})
            assert dump(named) == dump(direct) and not named.is_error
            assert named.structured_content["name"] == "tri"  # type: ignore[index]

    async def test_call_tool_refuses_a_tool_outside_the_view_like_an_unknown_one(self, era: str) -> None:
        async with http_front(make_gateway(VIEWS)) as front, front.client(auth=ALICE, mode=era) as client:
            hidden = await client.call_tool_mcp("call_tool", {"name": "r_fail", "arguments": {"reason": "x"}})
            direct = await client.call_tool_mcp("r_fail", {"reason": "x"})
            assert hidden.is_error and dump(hidden) == dump(direct)
            assert hidden.content[0].text == "Unknown tool: 'r_fail'"  # type: ignore[union-attr]
            itself = await client.call_tool_mcp("call_tool", {"name": "call_tool", "arguments": {}})
            assert itself.is_error

    async def test_rate_limits_and_audit_apply_to_the_tool_called_by_name(self, tmp_path: Path) -> None:
        audit = tmp_path / "audit.jsonl"
        config = VIEWS + (
            f"rate_limits:\n  tools:\n    echo_echo: {{rate: 1, per: 1h, burst: 2}}\naudit: {{sink: {audit}}}\n"
        )
        async with http_front(make_gateway(config)) as front, front.client(auth=ALICE) as client:
            await client.call_tool("echo_echo", {"text": "direct"})
            await client.call_tool("call_tool", {"name": "echo_echo", "arguments": {"text": "by name"}})
            with pytest.raises(MCPError, match="rate"):
                await client.call_tool("call_tool", {"name": "echo_echo", "arguments": {"text": "third"}})
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        assert [(r["tool"], r["principal"], r["outcome"]) for r in records] == [
            ("echo_echo", "alice", "ok"),
            ("echo_echo", "alice", "ok"),
            ("echo_echo", "alice", "rate_limited"),
        ]


@pytest.mark.asyncio
class TestLocalClients:
    async def test_the_gateway_wide_threshold_applies_to_local_clients(self, era: str) -> None:
        gateway = make_gateway("gateway: {search_above_tokens: 300}\n" + BACKENDS)
        async with connected(gateway, mode=era) as client:
            assert [t.name for t in await client.list_tools()] == SEARCH_PAIR
            assert (await client.call_tool("echo_echo", {"text": "still callable"})).data == "still callable"
            by_name = await client.call_tool("call_tool", {"name": "echo_echo", "arguments": {"text": "hi"}})
            assert by_name.structured_content == {"result": "hi"}

    async def test_call_tool_relays_progress_like_a_direct_call(self, era: str) -> None:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total, message))

        gateway = make_gateway("gateway: {search_above_tokens: 300}\n" + BACKENDS)
        async with connected(gateway, mode=era, progress_handler=on_progress) as client:
            result = await client.call_tool("call_tool", {"name": "echo_slow_count", "arguments": {"n": 3}})
        assert result.structured_content == {"result": 3}
        assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]

    async def test_cached_lists_follow_the_mode_when_only_the_threshold_changes(self) -> None:
        searching = make_gateway("gateway: {search_above_tokens: 300}\n" + BACKENDS)
        listing = searching.config.model_copy(
            update={"gateway": searching.config.gateway.model_copy(update={"search_above_tokens": None})}
        )
        async with connected(searching) as client:
            assert [t.name for t in await client.list_tools()] == SEARCH_PAIR
            index = searching.index
            searching.apply_policies(listing)  # same index object, new threshold
            assert searching.index is index and len(await client.list_tools()) == 7
