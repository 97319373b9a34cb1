"""Large results as resource links (`limits.oversized_response: resource_link`): the link, the
full result read back through the gateway by its caller only, and the store's bounds (expiry and
eviction on an injected clock)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from gateway.config.security import ResultStoreConfig
from gateway.policies.offload import PART_KEY, RESULTS_PREFIX
from gateway.policies.result_store import ResultStore
from gateway.principal import LOCAL, Principal
from tests.conftest import connected, dump, make_gateway
from tests.fakes import bulky
from tests.gateway.authed import http_front

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"
LIMIT = 2048
CONFIG = f"""
limits: {{max_response_bytes: {LIMIT}, oversized_response: resource_link}}
backends:
  b: {{module: tests.fakes.bulky}}
"""
AUTHED = f"""
auth:
  api_keys:
    alice: {{key: "{ALICE}"}}
    bob: {{key: "{BOB}"}}
{CONFIG}"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def link_of(result: dict[str, Any]) -> dict[str, Any]:
    (link,) = [block for block in result["content"] if block["type"] == "resource_link"]
    return link


async def read(client: Client[Any], uri: str) -> list[dict[str, Any]]:
    contents = dump(await client.read_resource_mcp(uri))["contents"]
    return list(contents)


def parts(contents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {part["_meta"][PART_KEY]: part for part in contents}


@pytest.mark.asyncio
class TestLinks:
    async def test_a_large_result_comes_back_as_a_link_with_a_preview(self, era: str) -> None:
        async with connected(make_gateway(CONFIG), mode=era) as client:
            result = dump(await client.call_tool_mcp("b_report", {"size": 5000}))
        assert len(json.dumps(result)) < LIMIT
        notice, link = result["content"]
        assert link["uri"].startswith(RESULTS_PREFIX) and link["type"] == "resource_link"
        assert link["mimeType"] == "application/json" and link["size"] > 5000
        assert "over the limit of 2048" in notice["text"] and link["uri"] in notice["text"]
        assert "lorem ipsum dolor" in notice["text"] and len(notice["text"]) < 1000
        assert "structuredContent" not in result and not result["isError"]
        assert result["_meta"] == {"source": "bulky"}

    async def test_reading_the_link_returns_the_full_text_and_structured_content(self, era: str) -> None:
        async with connected(make_gateway(CONFIG), mode=era) as client:
            link = link_of(dump(await client.call_tool_mcp("b_report", {"size": 5000})))
            got = parts(await read(client, link["uri"]))
        original = bulky.report(5000)
        assert got["content/0"]["text"] == original.content[0].text  # type: ignore[union-attr]
        assert got["content/0"]["mimeType"] == "text/plain"
        assert json.loads(got["structuredContent"]["text"]) == original.structured_content
        assert got["structuredContent"]["mimeType"] == "application/json"

    async def test_binary_content_is_read_back_as_blobs_of_its_type(self, era: str) -> None:
        async with connected(make_gateway(CONFIG), mode=era) as client:
            result = dump(await client.call_tool_mcp("b_picture", {"size": 4000}))
            got = parts(await read(client, link_of(result)["uri"]))
        assert link_of(result)["mimeType"] == "multipart/mixed"
        assert got["content/0"]["text"] == "a picture"
        assert got["content/1"]["mimeType"] == "image/png"
        assert base64.b64decode(got["content/1"]["blob"]) == b"\x89PNG" + bytes(4000)

    async def test_small_results_are_unchanged(self, era: str) -> None:
        async with Client(bulky.mcp, mode=era) as direct:
            expected = dump(await direct.call_tool_mcp("report", {"size": 100}))
        async with connected(make_gateway(CONFIG), mode=era) as client:
            assert dump(await client.call_tool_mcp("b_report", {"size": 100})) == expected
            assert (await client.call_tool("b_tiny", {})).data == "small"

    async def test_a_small_structured_result_stays_so_output_schemas_still_validate(self, era: str) -> None:
        async with connected(make_gateway(CONFIG), mode=era) as client:
            result = await client.call_tool("b_counted", {"size": 5000})  # the SDK validates it
            assert result.structured_content == {"count": 5000} and not result.is_error
            got = parts(await read(client, str(result.content[1].uri)))  # type: ignore[union-attr]
        assert got["content/0"]["text"] == "x" * 5000

    async def test_a_large_structured_result_is_linked_and_flagged_for_validating_clients(
        self, era: str
    ) -> None:
        async with connected(make_gateway(CONFIG), mode=era) as client:
            result = await client.call_tool_mcp("b_table", {"n": 300})
            assert result.is_error and "the call succeeded" in result.content[0].text  # type: ignore[union-attr]
            got = parts(await read(client, link_of(dump(result))["uri"]))
        assert json.loads(got["structuredContent"]["text"]) == {"rows": bulky.rows(300)}
        assert json.loads(got["content/0"]["text"]) == {"rows": bulky.rows(300)}

    async def test_the_results_template_is_listed(self) -> None:
        async with connected(make_gateway(CONFIG)) as client:
            templates = [t.uri_template for t in await client.list_resource_templates()]
        assert templates == ["gateway://results/{id}"]

    async def test_a_result_larger_than_the_store_is_refused(self) -> None:
        config = CONFIG.replace("resource_link}", "resource_link, result_store: {max_bytes: 4KiB}}")
        async with connected(make_gateway(config)) as client:
            with pytest.raises(MCPError, match="more than the result store keeps"):
                await client.call_tool_mcp("b_report", {"size": 9000})


@pytest.mark.asyncio
class TestOwnership:
    async def test_only_the_principal_that_made_the_call_can_read_its_result(self, era: str) -> None:
        async with http_front(make_gateway(AUTHED)) as front:
            async with front.client(auth=ALICE, mode=era) as alice:
                link = link_of(dump(await alice.call_tool_mcp("b_report", {"size": 5000})))
                assert len(await read(alice, link["uri"])) == 2
            async with front.client(auth=BOB, mode=era) as bob:
                with pytest.raises(MCPError, match="Resource not found"):
                    await bob.read_resource_mcp(link["uri"])
            async with front.client(auth=ALICE, mode=era) as alice_again:  # another session, same principal
                assert len(await read(alice_again, link["uri"])) == 2

    async def test_results_expire_after_their_ttl(self) -> None:
        gateway = make_gateway(CONFIG.replace("resource_link}", "resource_link, result_store: {ttl: 1m}}"))
        clock = Clock()
        gateway.results.clock = clock
        async with connected(gateway) as client:
            link = link_of(dump(await client.call_tool_mcp("b_report", {"size": 5000})))
            clock.now += 59
            assert len(await read(client, link["uri"])) == 2
            clock.now += 1
            with pytest.raises(MCPError, match="Resource not found"):
                await client.read_resource_mcp(link["uri"])


ALICE_P = Principal("alice", "api_key")


def store(clock: Clock, **bounds: Any) -> ResultStore:
    return ResultStore(ResultStoreConfig.model_validate(bounds), clock=clock)


def put(kept: ResultStore, item_id: str, size: int = 100, principal: Principal = ALICE_P) -> bool:
    return kept.put(item_id, principal, [{"uri": RESULTS_PREFIX + item_id, "text": "x"}], size)


class TestResultStore:
    def test_a_result_lives_for_its_ttl_from_the_call_however_often_it_is_read(self) -> None:
        clock = Clock()
        kept = store(clock, ttl="10s")
        put(kept, "a")
        for _ in range(9):
            clock.now += 1
            assert kept.get("a", ALICE_P) is not None
        clock.now += 1
        assert kept.get("a", ALICE_P) is None and len(kept) == 0 and kept.total_bytes == 0

    def test_the_least_recently_used_leave_first_when_items_run_out(self) -> None:
        kept = store(Clock(), max_items=2)
        put(kept, "a")
        put(kept, "b")
        assert kept.get("a", ALICE_P) is not None  # a is now more recent than b
        put(kept, "c")
        assert [i for i in "abc" if kept.get(i, ALICE_P)] == ["a", "c"]

    def test_bytes_are_bounded_and_a_result_larger_than_the_store_is_not_kept(self) -> None:
        kept = store(Clock(), max_bytes=4096)
        for item_id in "abcd":
            assert put(kept, item_id, size=1024)
        assert put(kept, "e", size=2048)
        assert [i for i in "abcde" if kept.get(i, ALICE_P)] == ["c", "d", "e"] and kept.total_bytes == 4096
        assert not put(kept, "huge", size=4097) and len(kept) == 3

    def test_one_principals_results_never_push_out_a_lighter_users(self) -> None:
        """A heavy user makes room among its own results; a light user's stay."""
        kept = store(Clock(), max_items=4)
        bob = Principal("bob", "api_key")
        assert kept.put("bob-1", bob, [{"uri": "x", "text": "b"}], 10)
        for item_id in "abcdef":
            assert put(kept, item_id)
        assert kept.get("bob-1", bob) is not None, "alice's results evicted only her own"
        assert [i for i in "abcdef" if kept.get(i, ALICE_P)] == ["d", "e", "f"]

    def test_another_principal_sees_nothing(self) -> None:
        kept = store(Clock())
        put(kept, "a")
        assert kept.get("a", Principal("bob", "api_key")) is None
        assert kept.get("a", Principal("alice", "jwt")) is None  # same name, another kind
        assert kept.get("a", LOCAL) is None and kept.get("a", ALICE_P) is not None

    def test_new_bounds_on_reload_evict_what_no_longer_fits(self) -> None:
        kept = store(Clock(), max_items=10)
        for item_id in "abcde":
            put(kept, item_id)
        kept.configure(ResultStoreConfig(max_items=2))
        assert [i for i in "abcde" if kept.get(i, ALICE_P)] == ["d", "e"]

    def test_sizes_are_written_like_the_other_limits(self) -> None:
        assert ResultStoreConfig.model_validate({"max_bytes": "64MB"}).max_bytes == 64_000_000
        assert ResultStoreConfig().max_bytes == 64 * 1024 * 1024 and ResultStoreConfig().ttl == 900
        with pytest.raises(ValueError, match="not a size"):
            ResultStoreConfig.model_validate({"max_bytes": "lots"})
