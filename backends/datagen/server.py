"""The datagen MCP server: sample datasets as resources, and datasets generated to a spec.

Resources (rows from 1 to 10 000; ids run from 1):

- `dataset://sample/{rows}` — CSV `id,value,category`, fresh random values each read
- `dataset://sample/{rows}/seed/{seed}` — the same CSV, reproducible: same seed, same bytes
- `dataset://json/{rows}` and `dataset://json/{rows}/seed/{seed}` — the dataset as JSON,
  `{"columns": [...], "rows": [{"id": ..., "value": ..., "category": ...}, ...]}`
- `dataset://catalog` — these forms and their limits, as JSON

Tool `generate_dataset(columns, rows, seed, format)` builds a dataset from a column spec (see
`backends.datagen.generate`). Completions suggest row counts and seeds for the templates.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError, ToolError
from mcp_types import Completion, CompletionArgument, CompletionContext, ResourceTemplateReference
from pydantic import Field
from typing_extensions import TypedDict

from backends.datagen import generate as gen
from backends.datagen import sample

MAX_SEED = 2**31 - 1
ROW_SUGGESTIONS = ("10", "50", "100", "500", "1000", "5000", "10000")
SEED_SUGGESTIONS = ("1", "7", "42", "1234", "2026")
INSTRUCTIONS = (
    "Sample datasets: read dataset://sample/{rows} (CSV id,value,category), add /seed/{seed} for a "
    "reproducible one, or dataset://json/{rows} for JSON; dataset://catalog lists the forms. "
    "generate_dataset builds a dataset from a column spec."
)


class GeneratedDataset(TypedDict, total=False):
    format: str
    rows: int
    columns: list[str]
    records: list[dict[str, Any]]
    csv: str


def _records(rows: str, seed: str | None) -> list[dict[str, Any]]:
    try:
        count = sample.parse_count("rows", rows, low=sample.MIN_ROWS, high=sample.MAX_ROWS)
        number = sample.parse_count("seed", seed, low=0, high=MAX_SEED) if seed is not None else None
    except sample.SampleError as error:
        raise ResourceError(str(error)) from None
    return sample.rows_of(count, number)


def create_server() -> FastMCP:
    """Build the datagen server."""
    server: FastMCP = FastMCP("datagen", instructions=INSTRUCTIONS)

    @server.resource("dataset://sample/{rows}", mime_type="text/csv", tags={"datagen"})
    def sample_csv(rows: str) -> str:
        """A sample dataset (CSV id,value,category) of `rows` rows, random each time."""
        return sample.as_csv(_records(rows, None))

    @server.resource("dataset://sample/{rows}/seed/{seed}", mime_type="text/csv", tags={"datagen"})
    def seeded_csv(rows: str, seed: str) -> str:
        """A reproducible sample dataset (CSV): the same rows and seed give the same bytes."""
        return sample.as_csv(_records(rows, seed))

    @server.resource("dataset://json/{rows}", mime_type="application/json", tags={"datagen"})
    def sample_json(rows: str) -> str:
        """A sample dataset as JSON ({"columns", "rows"}), random each time."""
        return sample.as_json(_records(rows, None))

    @server.resource("dataset://json/{rows}/seed/{seed}", mime_type="application/json", tags={"datagen"})
    def seeded_json(rows: str, seed: str) -> str:
        """A reproducible sample dataset as JSON."""
        return sample.as_json(_records(rows, seed))

    @server.resource("dataset://catalog", mime_type="application/json", tags={"datagen"})
    def catalog() -> str:
        """The dataset forms this server offers, and their limits."""
        return json.dumps(
            {
                "columns": list(sample.COLUMNS),
                "rows": {"min": sample.MIN_ROWS, "max": sample.MAX_ROWS},
                "seed": {"min": 0, "max": MAX_SEED},
                "forms": {
                    "dataset://sample/{rows}": "CSV, random",
                    "dataset://sample/{rows}/seed/{seed}": "CSV, reproducible",
                    "dataset://json/{rows}": "JSON, random",
                    "dataset://json/{rows}/seed/{seed}": "JSON, reproducible",
                },
            }
        )

    # Generating is read-only but not idempotent unless seeded, so idempotentHint stays false.
    @server.tool(annotations={"readOnlyHint": True, "idempotentHint": False, "openWorldHint": False})
    def generate_dataset(
        columns: Annotated[list[gen.ColumnSpec], Field(min_length=1, description="The columns to generate")],
        rows: Annotated[int, Field(description=f"Number of rows, 1 to {sample.MAX_ROWS}")] = 10,
        seed: Annotated[int | None, Field(description="Seed for a reproducible dataset")] = None,
        format: Annotated[Literal["json", "csv"], Field(description="json records or csv text")] = "json",
    ) -> GeneratedDataset:
        """Generate a dataset from a column spec (names, types, distributions)."""
        if not sample.MIN_ROWS <= rows <= sample.MAX_ROWS:
            raise ToolError(f"rows must be from {sample.MIN_ROWS} to {sample.MAX_ROWS}, got {rows}")
        try:
            records = gen.generate(columns, rows, seed)
        except ValueError as error:
            raise ToolError(str(error)) from None
        names = [c.name for c in columns]
        if format == "csv":
            return {"format": "csv", "rows": rows, "columns": names, "csv": _csv(names, records)}
        return {"format": "json", "rows": rows, "columns": names, "records": records}

    @server.completion
    def complete(
        ref: Any, argument: CompletionArgument, context: CompletionContext | None
    ) -> Completion | None:
        if not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("dataset://"):
            return None
        options = {"rows": ROW_SUGGESTIONS, "seed": SEED_SUGGESTIONS}.get(argument.name)
        if options is None:
            return None
        values = [v for v in options if v.startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)

    return server


def _csv(names: list[str], records: list[dict[str, Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


mcp = create_server()
