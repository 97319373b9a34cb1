"""The analytics backend: every tool with good and bad input, the prompt, run alone over stdio."""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from backends.analytics import jsonparse, stats, transform
from backends.analytics.server import create_server
from tests.conftest import ROOT

SEED_VALUES = [10, 25, 30, 45, 50, 65, 70, 85, 90, 100]


class TestStats:
    def test_the_seed_guide_dataset(self) -> None:
        summary = stats.summarize(SEED_VALUES)
        assert summary["mean"] == 57.0
        assert summary["median"] == 57.5  # the seed guide's transcript says 55.0: wrong
        assert summary["count"] == 10 and summary["min"] == 10 and summary["max"] == 100
        assert summary["q1"] == 33.75 and summary["q3"] == 81.25
        assert summary["population_variance"] == 811.0
        assert math.isclose(summary["sample_stdev"] or 0, 30.0185128, rel_tol=1e-6)

    def test_one_value_has_no_sample_spread(self) -> None:
        summary = stats.summarize([4.0])
        assert summary["sample_stdev"] is None and summary["population_stdev"] == 0.0
        assert summary["q1"] == summary["q3"] == 4.0

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ([], "values is empty"),
            ([1.0, math.nan], "values[1] is nan, not a finite number"),
            ([math.inf], "values[0] is inf, not a finite number"),
            (
                [1.0] * (stats.MAX_VALUES + 1),
                f"values has {stats.MAX_VALUES + 1} numbers; the limit is {stats.MAX_VALUES}",
            ),
        ],
    )
    def test_refusals_say_exactly_what_is_wrong(self, values: list[float], message: str) -> None:
        with pytest.raises(stats.DatasetError, match=re.escape(message)):
            stats.summarize(values)


class TestJson:
    def test_valid_json_and_its_type(self) -> None:
        assert jsonparse.parse('{"a": [1, 2]}') == ({"a": [1, 2]}, None)
        assert [jsonparse.json_type(v) for v in ({}, [], "s", 1, 1.5, True, None)] == [
            "object",
            "array",
            "string",
            "number",
            "number",
            "boolean",
            "null",
        ]

    def test_invalid_json_names_line_and_column(self) -> None:
        value, error = jsonparse.parse('{\n  "a": 1,\n  "b": }')
        assert value is None and error == {"line": 3, "column": 8, "message": "Expecting value"}

    def test_nan_is_not_json(self) -> None:
        _, error = jsonparse.parse("[1, NaN]")
        assert error is not None and error["message"] == "NaN is not valid JSON" and error["column"] == 5


class TestTransform:
    RECORDS = [
        {"id": 3, "name": "c", "x": None},
        {"name": "nobody"},
        {"id": 1, "name": "a"},
        {"id": "2", "name": "b"},
    ]

    def test_sort_by_puts_missing_keys_last_either_way(self) -> None:
        ascending = transform.apply(self.RECORDS, "sort_by")
        assert [r.get("id") for r in ascending] == [1, 3, "2", None]
        descending = transform.apply(self.RECORDS, "sort_by", descending=True)
        assert [r.get("id") for r in descending] == ["2", 3, 1, None]
        assert transform.apply(self.RECORDS, "sort_by_id") == ascending

    def test_the_other_operations(self) -> None:
        assert transform.apply([{"a": 1}], "uppercase_keys") == [{"A": 1}]
        assert transform.apply([{"a": None, "b": 2}], "remove_nulls") == [{"b": 2}]
        assert transform.apply(self.RECORDS, "select_fields", fields=["id"]) == [
            {"id": 3},
            {},
            {"id": 1},
            {"id": "2"},
        ]
        assert transform.apply(self.RECORDS, "filter", key="id", value=2, op="gte") == [
            {"id": 3, "name": "c", "x": None}
        ]
        assert transform.apply(self.RECORDS, "filter", key="name", value="o", op="contains") == [
            {"name": "nobody"}
        ]
        assert transform.apply([{"a": 1, "b": 1}, {"a": 1, "b": 2}], "deduplicate", fields=["a"]) == [
            {"a": 1, "b": 1}
        ]
        assert transform.apply([{"a": 1}, {"a": 1}], "deduplicate") == [{"a": 1}]

    @pytest.mark.parametrize(
        ("operation", "kwargs", "message"),
        [
            (
                "explode",
                {},
                "unknown operation 'explode'; valid operations: uppercase_keys, remove_nulls, sort_by",
            ),
            ("filter", {}, "filter needs `key`"),
            ("filter", {"key": "id", "op": "like"}, "op 'like' is not a filter operation"),
            ("select_fields", {}, "select_fields needs `fields`"),
        ],
    )
    def test_refusals(self, operation: str, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(transform.TransformError, match=re.escape(message)):
            transform.apply(self.RECORDS, operation, **kwargs)


@pytest.mark.asyncio
class TestServer:
    async def test_analyze_dataset(self, era: str) -> None:
        async with Client(create_server(""), mode=era) as client:
            result = await client.call_tool("analyze_dataset", {"values": SEED_VALUES})
            assert result.structured_content["mean"] == 57.0 and result.structured_content["median"] == 57.5
            with pytest.raises(ToolError, match="values is empty"):
                await client.call_tool("analyze_dataset", {"values": []})

    async def test_clean_json_data(self) -> None:
        async with Client(create_server("")) as client:
            good = await client.call_tool("clean_json_data", {"data": "[1, 2]"})
            assert good.structured_content == {"valid": True, "data": [1, 2], "type": "array"}
            bad = await client.call_tool("clean_json_data", {"data": '{"a": 1,}'})
            assert bad.structured_content == {
                "valid": False,
                "error": {"line": 1, "column": 9, "message": bad.structured_content["error"]["message"]},
            }
            with pytest.raises(ToolError, match="the limit is 1048576 bytes"):
                await client.call_tool("clean_json_data", {"data": "x" * (jsonparse.MAX_JSON_BYTES + 1)})

    async def test_transform_data(self) -> None:
        async with Client(create_server("")) as client:
            result = await client.call_tool(
                "transform_data", {"records": [{"id": 2}, {"id": 1}], "operation": "sort_by"}
            )
            assert result.structured_content == {
                "operation": "sort_by",
                "count": 2,
                "records": [{"id": 1}, {"id": 2}],
            }
            with pytest.raises(ToolError, match="valid operations: uppercase_keys"):
                await client.call_tool("transform_data", {"records": [], "operation": "nope"})

    async def test_tools_are_annotated_read_only_and_idempotent(self) -> None:
        async with Client(create_server("")) as client:
            for tool in await client.list_tools():
                assert tool.annotations is not None
                assert tool.annotations.read_only_hint is True and tool.annotations.idempotent_hint is True

    async def test_the_prompt_names_tools_as_gateway_clients_see_them(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async with Client(create_server("analytics_")) as client:
            text = (
                (await client.get_prompt("data_analysis_workflow", {"dataset_description": "sales"}))
                .messages[0]
                .content.text
            )  # type: ignore[union-attr]
        assert "analytics_analyze_dataset" in text and "analytics_transform_data" in text and "sales" in text
        monkeypatch.setenv("MCP_TOOL_PREFIX", "stats_")
        async with Client(create_server()) as client:
            text = (
                (await client.get_prompt("data_analysis_workflow", {"dataset_description": "x"}))
                .messages[0]
                .content.text
            )  # type: ignore[union-attr]
        assert "stats_clean_json_data" in text


@pytest.mark.asyncio
async def test_runs_alone_over_stdio() -> None:
    transport = StdioTransport(command=sys.executable, args=["-m", "backends.analytics"], cwd=str(ROOT))
    async with Client(transport) as client:
        result = await client.call_tool("analyze_dataset", {"values": [1, 2, 3]})
    assert result.structured_content["median"] == 2.0
