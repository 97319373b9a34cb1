"""The datagen backend: sample datasets (CSV, seeded, JSON), generated datasets, completions."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference

from backends.datagen.server import create_server
from tests.conftest import ROOT


def text_of(contents: list[Any]) -> str:
    return str(contents[0].text)


@pytest.mark.asyncio
class TestSampleDatasets:
    async def test_the_csv_template(self, era: str) -> None:
        async with Client(create_server(), mode=era) as client:
            templates = {t.uri_template for t in await client.list_resource_templates()}
            assert "dataset://sample/{rows}" in templates
            contents = await client.read_resource("dataset://sample/25")
        assert contents[0].mime_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(text_of(contents))))
        assert len(rows) == 25 and list(rows[0]) == ["id", "value", "category"]
        assert [int(r["id"]) for r in rows] == list(range(1, 26))
        assert all(10 <= float(r["value"]) <= 100 and r["category"] in "ABC" for r in rows)

    async def test_a_seed_makes_it_reproducible(self) -> None:
        async with Client(create_server()) as client:
            first = text_of(await client.read_resource("dataset://sample/50/seed/42"))
            again = text_of(await client.read_resource("dataset://sample/50/seed/42"))
            other = text_of(await client.read_resource("dataset://sample/50/seed/43"))
        assert first == again != other

    async def test_the_json_form(self) -> None:
        async with Client(create_server()) as client:
            contents = await client.read_resource("dataset://json/3/seed/7")
            csv_form = text_of(await client.read_resource("dataset://sample/3/seed/7"))
        assert contents[0].mime_type == "application/json"
        data = json.loads(text_of(contents))
        assert data["columns"] == ["id", "value", "category"] and len(data["rows"]) == 3
        assert str(data["rows"][0]["value"]) in csv_form, "JSON and CSV forms of a seed agree"

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            ("0", "rows must be from 1 to 10000, got 0"),
            ("10001", "rows must be from 1 to 10000, got 10001"),
            ("-3", "rows must be from 1 to 10000, got -3"),
            ("abc", "rows must be a whole number from 1 to 10000, got 'abc'"),
            ("1.5", "rows must be a whole number from 1 to 10000, got '1.5'"),
        ],
    )
    async def test_rows_out_of_range_or_not_whole_are_refused(self, rows: str, message: str) -> None:
        async with Client(create_server()) as client:
            with pytest.raises(MCPError, match=message.replace("(", r"\(").replace(")", r"\)")):
                await client.read_resource(f"dataset://sample/{rows}")

    async def test_the_catalog(self) -> None:
        async with Client(create_server()) as client:
            catalog = json.loads(text_of(await client.read_resource("dataset://catalog")))
        assert catalog["rows"] == {"min": 1, "max": 10000}
        assert "dataset://sample/{rows}/seed/{seed}" in catalog["forms"]

    async def test_completions_suggest_rows_and_seeds(self, era: str) -> None:
        ref = ResourceTemplateReference(type="ref/resource", uri="dataset://sample/{rows}")
        async with Client(create_server(), mode=era) as client:
            rows = await client.complete(ref, {"name": "rows", "value": "1"})
            seeds = await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="dataset://sample/{rows}/seed/{seed}"),
                {"name": "seed", "value": "4"},
            )
        assert rows.values == ["10", "100", "1000", "10000"]
        assert seeds.values == ["42"]


@pytest.mark.asyncio
class TestGenerateDataset:
    COLUMNS = [
        {"name": "n", "type": "integer", "distribution": "sequence", "start": 10, "step": 5},
        {"name": "x", "type": "float", "distribution": "normal", "mean": 5, "stddev": 1},
        {"name": "c", "type": "category", "choices": ["a", "b"], "weights": [1, 0]},
        {"name": "d", "type": "date", "start": "2026-01-30"},
        {"name": "ok", "type": "boolean", "p": 1},
        {"name": "s", "type": "string", "prefix": "row"},
    ]

    async def test_a_spec_gives_the_columns_asked_for_reproducibly(self) -> None:
        async with Client(create_server()) as client:
            one = await client.call_tool("generate_dataset", {"columns": self.COLUMNS, "rows": 3, "seed": 9})
            two = await client.call_tool("generate_dataset", {"columns": self.COLUMNS, "rows": 3, "seed": 9})
        data = one.structured_content
        assert data == two.structured_content
        assert data["columns"] == ["n", "x", "c", "d", "ok", "s"]
        assert [r["n"] for r in data["records"]] == [10, 15, 20]
        assert {r["c"] for r in data["records"]} == {"a"} and all(r["ok"] for r in data["records"])
        assert [r["d"] for r in data["records"]] == ["2026-01-30", "2026-01-31", "2026-02-01"]
        assert data["records"][2]["s"] == "row-3"

    async def test_csv_format(self) -> None:
        async with Client(create_server()) as client:
            result = await client.call_tool(
                "generate_dataset", {"columns": self.COLUMNS[:1], "rows": 2, "format": "csv"}
            )
        assert result.structured_content["csv"] == "n\n10\n15\n"

    @pytest.mark.parametrize(
        ("columns", "rows", "message"),
        [
            ([{"name": "n", "type": "integer", "distribution": "normal"}], 5, "does not fit type 'integer'"),
            ([{"name": "x", "type": "float", "min": 5, "max": 1}], 5, "min 5.0 is greater than max 1.0"),
            ([{"name": "c", "type": "category"}], 5, "needs non-empty `choices`"),
            ([{"name": "a", "type": "integer"}, {"name": "a", "type": "float"}], 5, "repeated: a"),
            ([{"name": "a", "type": "integer"}], 0, "rows must be from 1 to 10000, got 0"),
        ],
    )
    async def test_bad_specs_are_refused_clearly(
        self, columns: list[dict[str, Any]], rows: int, message: str
    ) -> None:
        async with Client(create_server()) as client:
            with pytest.raises(ToolError, match=message.replace("(", r"\(")):
                await client.call_tool("generate_dataset", {"columns": columns, "rows": rows})


@pytest.mark.asyncio
async def test_runs_alone_over_stdio() -> None:
    transport = StdioTransport(command=sys.executable, args=["-m", "backends.datagen"], cwd=str(ROOT))
    async with Client(transport) as client:
        contents = await client.read_resource("dataset://sample/2/seed/1")
    assert text_of(contents).startswith("id,value,category\n1,")
